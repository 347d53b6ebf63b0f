"""End-to-end sweeps of a tiny genarch model through real Hydra processes and launchers: basic,
joblib, submitit_local; failures (illegal model, NaN); resume after SIGKILL mid-batch; a changed
space refused on resume; reproducibility of real training."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from genarch.ledger import iter_records, load_trials

REPO = Path(__file__).resolve().parents[1]
TINY = ["hydra/sweeper=genarch", "trainer=smoke", "dataset.n=400", "++summary=false",
        "model.stem.filters=choice(4,8,16)",
        "optimizer.lr_scale=tag(log,interval(0.3,3))", "hydra.sweeper.budget=4", "hydra.sweeper.num_workers=2"]

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "GENARCH_CACHE": str(tmp_path / "cache"), "HYDRA_FULL_ERROR": "0"}


def genarch(tmp_path: Path, sweep: Path, *overrides: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "genarch", *overrides, f"hydra.sweep.dir={sweep}", "-m"],
                          cwd=REPO, capture_output=True, text=True, env=_env(tmp_path), timeout=400)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout[-4000:] + proc.stderr[-4000:])
    return proc


def check_sweep(sweep: Path, n: int) -> list:
    trials = load_trials(sweep)
    assert [t.job for t in trials] == list(range(n))
    for t in trials:
        assert t.status == "ok" and t.ok, t.error
        assert set(t.params) == {"model.stem.filters", "optimizer.lr_scale"}
        assert t.record["writer"] == "trial" and t.objective_name == "val_auroc" and t.direction == "maximize"
        result = json.loads((sweep / t.dir / "result.json").read_text())
        assert result["status"] == "ok" and result["objective"]["value"] == pytest.approx(t.value)
        assert result["hparams"]["model.stem.filters"] == t.params["model.stem.filters"]
        assert t.metrics["val"]["auroc"] == pytest.approx(t.value) and t.record["n_params"] > 0
    events = [(r["job"], r["event"]) for r in iter_records(sweep)]
    assert sorted(events) == sorted([(j, e) for j in range(n) for e in ("start", "end")])
    # each end record carries the trial's own params and overrides (read from its launch), the start's exactly
    starts = {r["job"]: r for r in iter_records(sweep) if r["event"] == "start"}
    for r in iter_records(sweep):
        if r["event"] == "end":
            assert (r["params"], r["overrides"]) == (starts[r["job"]]["params"], starts[r["job"]]["overrides"])
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    best = max(trials, key=lambda t: t.value)
    assert results["best_evaluated_result"] == pytest.approx(best.value)
    assert results["best_evaluated_params"] == best.params
    assert (sweep / "multirun.yaml").exists() and (sweep / "sweep_state.json").exists()
    return trials


def test_basic_launcher(tmp_path):
    genarch(tmp_path, tmp_path / "s", *TINY)
    check_sweep(tmp_path / "s", 4)


def test_joblib_launcher_splits_threads_among_the_trials_running_at_once(tmp_path):
    # budget 5 in batches of 2: the last batch holds one trial, which gets every core
    sweep = tmp_path / "s"
    genarch(tmp_path, sweep, *TINY[:-2], "hydra.sweeper.budget=5", "hydra.sweeper.num_workers=2",
            "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    trials = check_sweep(sweep, 5)  # the lone trial's records carry its task overrides only
    cores = len(os.sched_getaffinity(0))
    threads = [json.loads((sweep / t.dir / "result.json").read_text())["extra"]["threads"] for t in trials]
    assert threads == [max(1, cores // 2)] * 4 + [cores]


def test_submitit_local_launcher(tmp_path):
    sweep = tmp_path / "s"
    genarch(tmp_path, sweep, *TINY[:-2], "hydra.sweeper.budget=2", "hydra.sweeper.num_workers=2",
            "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5")
    check_sweep(sweep, 2)
    assert (sweep / ".submitit").is_dir()


def test_stage_from_another_config_dir_with_illegal_and_nan_candidates(tmp_path):
    # an experiment's stage dir on the search path; half its candidates are illegal (an even conv width,
    # rejected before launch) and half diverge (SGD at lr 1e10 without batch norm: non-finite loss)
    conf = tmp_path / "conf" / "stage"
    conf.mkdir(parents=True)
    (conf / "t_fail.yaml").write_text("""# @package _global_
# Stage t_fail: a test stage with illegal and diverging candidates
defaults:
  - override /model: search
  - override /trainer: smoke
  - override /optimizer: sgd
  - override /model/pooling: max
  - override /hydra/sweeper: genarch
dataset: {n: 400}
model: {stem: {batchnorm: false}}
hydra:
  sweeper:
    budget: 4
    num_workers: 2
    optimizer: RandomSearch
    max_failure_rate: 0.9
    params:
      model.stem.filter_size: choice(4, 5)
      optimizer.lr_scale: choice(1, 1e12)
      model.stem.filters: choice(4, 8)
stage: t_fail
""")
    sweep = tmp_path / "s"
    genarch(tmp_path, sweep, f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "+stage=t_fail", "++summary=false")
    trials = load_trials(sweep)
    rejected = [t for t in trials if t.record.get("rejected")]
    launched = [t for t in trials if not t.record.get("rejected")]
    assert len(launched) == 4 and all(t.params["model.stem.filter_size"] == 5 for t in launched)
    assert rejected and all(t.params["model.stem.filter_size"] == 4 and "filter_size=4 must be odd" in t.error
                            and t.dir is None for t in rejected)
    diverged = [t for t in launched if t.params["optimizer.lr_scale"] == 1e12]
    for t in launched:
        result = json.loads((sweep / t.dir / "result.json").read_text())
        assert result["status"] == t.status
        if t.status == "failed":
            assert t.error and t.value is None and t in diverged
    assert diverged and all(t.status == "failed" and "non-finite" in t.error for t in diverged), \
        [(t.params, t.status, t.error) for t in launched]
    assert yaml.safe_load((sweep / "stage.yaml").read_text())["stage"] == "t_fail"
    assert "Stage t_fail: a test stage" in (sweep / "stage.yaml").read_text()
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["stage"] == "t_fail" and results["n_rejected"] == len(rejected)
    assert results["n_failed"] == sum(t.status == "failed" for t in launched)


def test_resume_after_sigkill_mid_batch(tmp_path):
    args = [*TINY[:-2], "hydra.sweeper.budget=5", "hydra.sweeper.num_workers=2"]
    sweep = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "genarch", *args, f"hydra.sweep.dir={sweep}", "-m"], cwd=REPO,
                            env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    try:  # kill -9 once job 2 (first of the second batch) has finished: job 3 is then in flight
        while time.time() < deadline and proc.poll() is None:
            if any(r["job"] == 2 and r["event"] == "end" for r in iter_records(sweep)):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = {t.job: t for t in load_trials(sweep)}
    assert [j for j, t in before.items() if t.record.get("event") == "end"] == [0, 1, 2]
    stamps = {j: (sweep / str(j) / "result.json").stat().st_mtime_ns for j in (0, 1, 2)}

    # a changed space is refused with the difference named, and nothing runs
    refused = genarch(tmp_path, sweep, *args[:4], "model.stem.filters=choice(4,8)", *args[5:], check=False)
    assert refused.returncode != 0
    assert "parameter model.stem.filters: was choice(4, 8, 16), now choice(4, 8)" in refused.stderr + refused.stdout

    genarch(tmp_path, sweep, *args)
    trials = check_sweep_resumed(sweep, 5)
    assert {j: (sweep / str(j) / "result.json").stat().st_mtime_ns for j in (0, 1, 2)} == stamps  # not re-run
    starts = [r["job"] for r in iter_records(sweep) if r["event"] == "start"]
    assert starts.count(3) == 2 and all(starts.count(j) == 1 for j in (0, 1, 2, 4))  # in-flight job 3 re-run

    # reproducibility with real training: an uninterrupted sweep asks the same candidates
    reference = tmp_path / "reference"
    genarch(tmp_path, reference, *args)
    assert [t.params for t in load_trials(reference)] == [t.params for t in trials]
    assert [t.value for t in load_trials(reference)] == pytest.approx([t.value for t in trials])


def test_resume_reruns_a_trial_that_sigterm_cut_off(tmp_path):
    """A trial SIGTERM reached in training ends with a ``SIGTERMException`` record (written, as before the
    ``interrupted`` flag, like an ordinary failure): resuming runs that job again, and only it."""
    args = [*TINY[:-2], "hydra.sweeper.budget=3", "hydra.sweeper.num_workers=1"]
    sweep = tmp_path / "s"
    genarch(tmp_path, sweep, *args)
    first = load_trials(sweep)
    ledger = sweep / "ledger.jsonl"
    records = [json.loads(line) for line in ledger.read_text().splitlines()]
    for r in records:
        if r["job"] == 1 and r["event"] == "end":
            r.update(status="failed", error="SIGTERMException: ", objective={**r["objective"], "value": None})
    ledger.write_text("".join(json.dumps(r) + "\n" for r in records))
    stamps = {j: (sweep / str(j) / "result.json").stat().st_mtime_ns for j in (0, 2)}

    proc = genarch(tmp_path, sweep, *args)
    assert "interrupted jobs [1] run again" in proc.stdout + proc.stderr
    trials = load_trials(sweep)
    assert all(t.ok for t in trials) and [t.params for t in trials] == [t.params for t in first]
    assert [t.value for t in trials] == pytest.approx([t.value for t in first])  # job 1 retrained to the same value
    assert {j: (sweep / str(j) / "result.json").stat().st_mtime_ns for j in (0, 2)} == stamps  # not re-run
    starts = [r["job"] for r in iter_records(sweep) if r["event"] == "start"]
    assert starts.count(1) == 2 and starts.count(0) == starts.count(2) == 1


def check_sweep_resumed(sweep: Path, n: int) -> list:
    trials = load_trials(sweep)
    assert [t.job for t in trials] == list(range(n)) and all(t.ok for t in trials)
    ends = [r["job"] for r in iter_records(sweep) if r["event"] == "end"]
    assert sorted(ends) == list(range(n))  # one end record per job: nothing finished ran twice
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["n_trials"] == n
    return trials
