"""A sweep directory has one owner (issue 36, case 1): a second sweep into it is refused with one line naming
the holder; the lock dies with its process (kill -9 leaves nothing to clean up); where flock is missing an
O_EXCL owner file with a heartbeat stands in; a trial launched by a sweep that no longer owns the directory
does not run; and workers of a killed sweep that live on are waited for, so no job is trained twice."""

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genarch.ledger import iter_records, load_trials
from genarch.sweeper import lock

REPO = Path(__file__).resolve().parents[1]
TOY = [sys.executable, str(REPO / "tests" / "reliability_toy.py")]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "HYDRA_FULL_ERROR": "0"}


@pytest.fixture(autouse=True)
def _forget_held_locks():
    yield
    for held in list(lock._HELD.values()):
        held.release()


def _holder_process(sweep: Path) -> subprocess.Popen:
    """Another process that owns ``sweep`` until killed; returns once it holds it."""
    code = ("import sys, time; from genarch.sweeper import lock; lock.acquire_sweep(sys.argv[1]); "
            "print('held', flush=True); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(sweep)], env=_env(), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_owner_is_refused_naming_the_holder_and_kill_9_frees_the_directory(tmp_path):
    sweep = tmp_path / "s"
    holder = _holder_process(sweep)
    try:
        with pytest.raises(lock.SweepLocked) as refused:
            lock.acquire_sweep(sweep)
        message = str(refused.value)
        assert "\n" not in message and f"pid {holder.pid}" in message and socket.gethostname() in message
        assert "started 20" in message and "give another hydra.sweep.dir" in message
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    held = lock.acquire_sweep(sweep)  # nothing to clean up after kill -9
    assert held.mode == "flock" and lock.current_holder(sweep) == held.holder
    assert lock.current_holder(sweep).pid == os.getpid()


def test_the_same_process_may_take_its_own_directory_again(tmp_path):
    assert lock.acquire_sweep(tmp_path) is lock.acquire_sweep(tmp_path)


def test_a_live_holder_on_another_host_is_refused_even_where_flock_is_local(tmp_path):
    (tmp_path / lock.LOCK_DIR).mkdir()
    (tmp_path / lock.LOCK_DIR / lock.SWEEP_LOCK).write_text(json.dumps(
        {"host": "node17", "pid": 4242, "started": "2026-12-06T05:00:00", "heartbeat": time.time() - 5}))
    with pytest.raises(lock.SweepLocked, match=r"host node17, pid 4242, started 2026-12-06T05:00:00; heartbeat \d+ s"):
        lock.acquire_sweep(tmp_path)
    # silent for longer than STALE_S: that holder is gone, the directory is taken over
    (tmp_path / lock.LOCK_DIR / lock.SWEEP_LOCK).write_text(json.dumps(
        {"host": "node17", "pid": 4242, "started": "2026-12-06T05:00:00", "heartbeat": time.time() - lock.STALE_S - 1}))
    assert lock.acquire_sweep(tmp_path).holder.pid == os.getpid()


def test_without_flock_an_o_excl_owner_file_stands_in(tmp_path, monkeypatch):
    import fcntl

    def unsupported(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", unsupported)
    first = lock.acquire_sweep(tmp_path)
    assert first.mode == "owner-file" and (tmp_path / lock.LOCK_DIR / lock.OWNER_FILE).exists()
    lock._HELD.clear()  # as if another process on this host asked
    with pytest.raises(lock.SweepLocked, match=f"pid {os.getpid()}"):
        lock.acquire_sweep(tmp_path)
    first.release()
    assert not (tmp_path / lock.LOCK_DIR / lock.OWNER_FILE).exists()
    # a holder killed with -9 leaves its file; a dead pid on this host is taken over at once
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / lock.LOCK_DIR / lock.OWNER_FILE).write_text(json.dumps(
        {"host": socket.gethostname(), "pid": dead.pid, "started": "x", "heartbeat": time.time()}))
    assert lock.acquire_sweep(tmp_path).holder.pid == os.getpid()


def test_a_job_launched_by_a_sweep_that_no_longer_owns_the_directory_does_not_run(tmp_path, monkeypatch):
    ran = []
    guard = lock.JobLocked(lambda cfg: ran.append(cfg) or 1.0)
    monkeypatch.setattr(lock, "_job_of_this_process", lambda: (tmp_path, 3))
    guard.owner = lock.Holder("elsewhere", 1, "2026-12-06T04:00:00")  # the killed sweep that launched it
    lock.acquire_sweep(tmp_path)  # the sweep that resumed the directory
    with pytest.raises(lock.JobNotOwned, match="job 3 was launched by the sweep host elsewhere, pid 1"):
        guard("cfg")
    assert ran == []
    guard.owner = lock.current_holder(tmp_path)
    assert guard("cfg") == 1.0 and ran == ["cfg"]


def test_a_resume_waits_for_a_job_still_running_in_a_worker_of_the_killed_sweep(tmp_path):
    job_lock = lock.job_lock_path(tmp_path, 5)
    code = ("import sys, time; from genarch.sweeper.lock import _JobFlock; from pathlib import Path; "
            "_JobFlock(Path(sys.argv[1])); print('running', flush=True); time.sleep(1.5)")
    worker = subprocess.Popen([sys.executable, "-c", code, str(job_lock)], env=_env(), stdout=subprocess.PIPE,
                              text=True)
    try:
        assert worker.stdout.readline().strip() == "running"
        start = time.monotonic()
        assert lock.wait_for_orphans(tmp_path, poll_s=0.05) == [5]
        assert time.monotonic() - start > 0.3 and worker.wait(timeout=30) == 0
    finally:
        worker.kill()
    assert lock.wait_for_orphans(tmp_path) == []


# ---------------------------------------------------------------- two real processes on the toy config



@pytest.mark.slow
def test_two_sweeps_into_one_directory_the_second_is_refused_in_one_line(tmp_path):
    sweep, gate = tmp_path / "s", tmp_path / "gate"
    args = [f"hydra.sweep.dir={sweep}", f"+gate={gate}", "hydra.sweeper.budget=4", "-m"]
    first = subprocess.Popen([*TOY, *args], cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not any(r["event"] == "start" for r in iter_records(sweep)):
            assert first.poll() is None, first.stdout.read()
            time.sleep(0.1)
        second = subprocess.run([*TOY, *args[:1], "hydra.sweeper.seed=1", *args[1:]], cwd=REPO, env=_env(),
                                capture_output=True, text=True, timeout=120)
        assert second.returncode != 0
        said = [line for line in (second.stdout + second.stderr).splitlines()
                if line.strip() and "HYDRA_FULL_ERROR" not in line]  # plain Hydra's hint (genarch's CLI has none)
        assert len(said) == 1, said
        assert f"is in use by another sweep (host {socket.gethostname()}, pid {first.pid}, started " in said[0]
        gate.touch()
        out, _ = first.communicate(timeout=180)
        assert first.returncode == 0, out[-3000:]
    finally:
        gate.touch()
        first.kill()
    trials = load_trials(sweep)
    assert [t.job for t in trials] == [0, 1, 2, 3] and all(t.ok for t in trials)
    events = sorted((r["job"], r["event"]) for r in iter_records(sweep))
    assert events == sorted((j, e) for j in range(4) for e in ("start", "end"))  # nothing from the refused sweep
    assert [len((sweep / str(j) / "trained.txt").read_text().splitlines()) for j in range(4)] == [1, 1, 1, 1]


@pytest.mark.slow
def test_python_m_genarch_refuses_a_held_directory_in_one_line_before_anything_runs(tmp_path):
    sweep = tmp_path / "s"
    holder = _holder_process(sweep)
    try:
        proc = subprocess.run([sys.executable, "-m", "genarch", "hydra/sweeper=genarch", "trainer=smoke",
                               "model.stem.filters=choice(4,8)",
                               f"hydra.sweep.dir={sweep}", "-m"], cwd=REPO, env=_env(), capture_output=True,
                              text=True, timeout=300)
    finally:
        holder.kill()
        holder.wait()
    said = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode != 0 and len(said) == 1, said
    assert f"is in use by another sweep (host {socket.gethostname()}, pid {holder.pid}, started " in said[0]
    assert sorted(p.name for p in sweep.iterdir()) == [lock.LOCK_DIR]  # the refused sweep wrote nothing


@pytest.mark.slow
def test_joblib_workers_that_outlive_a_kill_9_are_waited_for_not_run_twice(tmp_path):
    sweep, gate = tmp_path / "s", tmp_path / "gate"
    args = [f"hydra.sweep.dir={sweep}", f"+gate={gate}", "hydra.sweeper.budget=4", "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2", "-m"]
    first = subprocess.Popen([*TOY, *args], cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    resumed = None
    try:  # kill -9 while jobs 0 and 1 run (held at the gate) in joblib workers
        deadline = time.time() + 180
        while time.time() < deadline and not all((sweep / str(j) / "started.txt").exists() for j in (0, 1)):
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait()
        resumed = subprocess.Popen([*TOY, *args], cwd=REPO, env=_env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in resumed.stdout:  # the resume waits for the orphaned workers ...
            lines.append(line)
            if "still running in a worker of an earlier sweep process" in line:
                break
        assert any("job 0 is still running" in line for line in lines), "".join(lines)
        gate.touch()  # ... which then finish; their own end records count
        out = "".join(lines) + resumed.communicate(timeout=180)[0]
        assert resumed.returncode == 0, out[-3000:]
    finally:
        gate.touch()
        first.kill()
        if resumed is not None:
            resumed.kill()
    assert "0 finished jobs" not in out
    assert [len((sweep / str(j) / "trained.txt").read_text().splitlines()) for j in range(4)] == [1, 1, 1, 1]
    ends = sorted(r["job"] for r in iter_records(sweep) if r["event"] == "end")
    assert ends == [0, 1, 2, 3]
    assert all(t.ok for t in load_trials(sweep))
