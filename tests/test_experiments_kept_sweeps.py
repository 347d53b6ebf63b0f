"""experiments/kept_sweeps.py: a sweep's ledger and state, kept under experiments/results, resume it in a
checkout that has lost experiments/runs, with no finished trial trained again."""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from genarch.ledger import iter_records, rung_records

TOY = Path(__file__).parent / "sweeper_toy.py"
RUNGS = ["hydra.sweeper.fidelity={key: epochs, min: 1, max: 9, eta: 3, resume_key: resume_from}",
         "hydra.sweeper.budget=9", "checkpoint=true", "epoch_penalty=1", "sleep=0.1"]


@pytest.fixture
def kept(tmp_path, monkeypatch):
    from experiments import kept_sweeps

    monkeypatch.setattr(kept_sweeps, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(kept_sweeps, "RESULTS", tmp_path / "results")
    return kept_sweeps


def starts(sweep: Path) -> Counter:
    return Counter(r["job"] for r in iter_records(sweep) if r.get("event") == "start")


def test_keep_copies_what_changed_and_restore_never_overwrites(kept, tmp_path):
    root = tmp_path / "runs" / "search" / "stage_a"
    (root / "7" / "checkpoints").mkdir(parents=True)
    (root / "ledger.jsonl").write_text('{"event": "start", "job": 0}\n')
    (root / "7" / "checkpoints" / "last.ckpt").write_text("weights")
    (root / "conf" / "stage").mkdir(parents=True)
    (root / "conf" / "stage" / "s_2.yaml").write_text("stage: s_2\n")
    assert kept.keep(root) == 2 and kept.keep(root) == 0  # weights are not kept; an unchanged file is not copied
    saved = tmp_path / "results" / "sweeps" / "search" / "stage_a"
    assert sorted(p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file()) == \
        ["conf/stage/s_2.yaml", "ledger.jsonl"]
    (root / "ledger.jsonl").write_text("newer\n")
    assert kept.restore() == [] and (root / "ledger.jsonl").read_text() == "newer\n"
    shutil.rmtree(tmp_path / "runs")
    assert sorted(kept.restore()) == [root / "conf" / "stage" / "s_2.yaml", root / "ledger.jsonl"]


def test_a_sweep_restored_from_its_kept_state_resumes_without_training_a_finished_trial_again(kept, tmp_path):
    """kill -9 during rung 1 while the state is kept, then lose experiments/runs (a new checkout): the same
    command after restore() trains none of rung 0 again, and the promoted trials, whose rung-0 checkpoints
    are gone, train their rung from scratch instead of failing."""
    sweep = tmp_path / "runs" / "toy" / "stage_1"
    cmd = [sys.executable, str(TOY), f"hydra.sweep.dir={sweep}", *RUNGS, "-m"]
    with kept.keeping(sweep, every_s=0.2):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.time() + 120
            while time.time() < deadline and not any(r.get("event") == "start" and r.get("rung") == 1
                                                     for r in iter_records(sweep)):
                time.sleep(0.05)
            time.sleep(0.3)  # a rung-1 job in flight
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    before = {job: r for job, r in rung_records(sweep).items()}
    assert sum(r["rung"] == 0 for r in before.values()) == 9 and not any(r["rung"] == 2 for r in before.values())
    shutil.rmtree(tmp_path / "runs")
    assert sweep / "ledger.jsonl" in kept.restore()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"},
                          timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    after, counts = rung_records(sweep), starts(sweep)
    assert Counter(r["rung"] for r in after.values()) == {0: 9, 1: 3, 2: 1}
    assert all(counts[job] == 1 for job in before)  # no finished trial trained again
    fresh = [r for job, r in after.items() if job not in before and r["rung"] == 1]
    assert fresh and all(r["status"] == "ok" and r["resumed_from"] is None and r["cost"]["epochs"] == 3
                         for r in fresh)  # its rung-0 checkpoint is gone: all 3 epochs trained
    top = next(r for r in after.values() if r["rung"] == 2)
    assert top["status"] == "ok" and top["resumed_from"] not in before  # only a checkpoint trained since
    # a restored sweep is warm-started from (its multirun.yaml is kept) and none of its candidates is trained
    with kept.keeping(sweep, every_s=60):
        pass
    shutil.rmtree(tmp_path / "runs")
    kept.restore()
    second = tmp_path / "runs" / "toy" / "stage_2"
    done = subprocess.run([sys.executable, str(TOY), f"hydra.sweep.dir={second}", *RUNGS,
                           f"hydra.sweeper.warm_start=[{sweep}]", "-m"], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "inside: 9" in (second / "optimization_results.yaml").read_text()
