"""Sweeper behaviour on an instant toy task (tests/sweeper_toy.py) run as real Hydra processes:
reproducibility, the cache, the failure-rate stop, the penalty, and the fallback ledger records."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from genarch.ledger import iter_records, load_trials

TOY = Path(__file__).parent / "sweeper_toy.py"


def toy(sweep_dir: Path, *overrides: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.run([sys.executable, str(TOY), f"hydra.sweep.dir={sweep_dir}", *overrides, "-m"],
                          capture_output=True, text=True, env=env, timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-3000:])
    return proc


def sequence(sweep_dir: Path) -> list[dict]:
    return [t.params for t in load_trials(sweep_dir)]


def test_same_seed_same_candidates_other_seed_others(tmp_path):
    toy(tmp_path / "a")
    toy(tmp_path / "b")
    toy(tmp_path / "c", "hydra.sweeper.seed=1")
    a, b, c = sequence(tmp_path / "a"), sequence(tmp_path / "b"), sequence(tmp_path / "c")
    assert len(a) == 8 and a == b
    assert a != c
    trials = load_trials(tmp_path / "a")
    assert all(t.status == "ok" and t.record["writer"] == "sweeper" for t in trials)  # no hook in the toy
    assert [t.job for t in trials] == list(range(8))
    results = yaml.safe_load((tmp_path / "a" / "optimization_results.yaml").read_text())
    best = min(trials, key=lambda t: t.value)
    assert results["best_evaluated_result"] == pytest.approx(best.value)
    assert results["best_evaluated_params"] == best.params and results["best_job"] == best.job
    assert results["objective"]["direction"] == "minimize" and results["n_trials"] == 8


def test_identical_candidates_are_not_run_twice_and_an_exhausted_space_stops(tmp_path):
    sweep = tmp_path / "s"
    toy(sweep, "x=choice(0.1,0.3)", "y=2,3", "c=a", "hydra.sweeper.optimizer=RandomSearch",
        "hydra.sweeper.max_repeated_asks=20")
    trials = load_trials(sweep)
    keys = [tuple(sorted(t.params.items())) for t in trials]
    assert len(keys) == len(set(keys)) == 4            # 2 x 2 distinct candidates, each trained once
    assert sorted(p.name for p in sweep.iterdir() if p.name.isdigit()) == ["0", "1", "2", "3"]
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["n_cached"] >= 20 and "were all evaluated before" in results["stopped"]
    assert "already evaluated as job" in (sweep / "sweep.log").read_text()  # per-trial detail: the log file


def test_failures_get_a_penalty_and_the_sweep_stops_past_max_failure_rate(tmp_path):
    sweep = tmp_path / "f"
    proc = toy(sweep, "fail_if_c=b", "nan_above=0.9", "hydra.sweeper.max_failure_rate=0.3", "hydra.sweeper.budget=30",
               "c=choice(a,b)", check=False)
    assert proc.returncode != 0
    assert "over hydra.sweeper.max_failure_rate=0.3" in proc.stderr + proc.stdout
    trials = load_trials(sweep)
    failed = [t for t in trials if t.status == "failed"]
    assert failed and len(trials) < 30
    assert len(failed) / len(trials) > 0.3
    for t in failed:
        assert t.value is None
        assert ("ValueError: c=b is the failing option" in t.error) or ("objective is nan" in t.error)
    assert all(t.ok for t in trials if t.status == "ok")
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["stopped"].startswith("stopped:") and results["n_failed"] == len(failed)
    assert results["best_evaluated_params"]["c"] == "a"

    # the same command with a higher max_failure_rate resumes: nothing finished runs again
    toy(sweep, "fail_if_c=b", "nan_above=0.9", "hydra.sweeper.max_failure_rate=1.0", "hydra.sweeper.budget=30",
        "c=choice(a,b)")
    resumed = load_trials(sweep)
    assert [t.job for t in resumed] == list(range(30))
    assert [t.params for t in resumed[:len(trials)]] == [t.params for t in trials]
    starts = [r["job"] for r in iter_records(sweep) if r["event"] == "start"]
    assert sorted(starts) == list(range(30))


def test_failure_penalty_is_worse_than_every_loss_told():
    from genarch.sweeper.config import SweeperSettings
    from genarch.sweeper.losses import Losses
    from genarch.sweeper.run import Outcome
    from genarch.sweeper.task import TaskRules

    losses = Losses(SweeperSettings(direction="maximize"), None, TaskRules())
    assert losses.loss(Outcome("failed")) == 1.0                  # nothing told yet: 0 + 1
    assert losses.loss(Outcome("ok", value=0.8)) == -0.8          # maximize: loss = -value
    assert losses.loss(Outcome("ok", value=0.6)) == -0.6
    assert losses.loss(Outcome("rejected")) == pytest.approx(-0.6 + 1.0)
    fixed = Losses(SweeperSettings(failure_penalty=5.0), None, TaskRules())
    assert fixed.loss(Outcome("failed")) == 5.0
    assert fixed.loss(Outcome("ok", value=0.25, direction="minimize")) == 0.25


def test_hydra_keys_cannot_be_swept(tmp_path):
    # documented behaviour: settings are hydra.* keys and Hydra refuses sweep syntax on them
    proc = toy(tmp_path / "h", "hydra.sweeper.budget=2,3", check=False)
    assert proc.returncode != 0 and "Sweeping over Hydra's configuration is not supported" in proc.stderr
    assert not (tmp_path / "h" / "ledger.jsonl").exists()
