"""Multi-fidelity stages (hydra.sweeper.fidelity): the rung bookkeeping against the published algorithms, the
settings' checks, and rungs run by the toy task (tests/sweeper_toy.py) on the basic and joblib launchers,
including a kill -9 during a rung and a warm start from a multi-fidelity sweep."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from genarch.ledger import iter_records, rung_records
from genarch.sweeper.config import SweeperSettings
from genarch.sweeper.fidelity import brackets, parse, planned_jobs, promotions, rungs

TOY = Path(__file__).parent / "sweeper_toy.py"
FIDELITY = "hydra.sweeper.fidelity={key: epochs, min: 1, max: 9, eta: 3, resume_key: resume_from}"
RUNGS = [FIDELITY, "hydra.sweeper.budget=9", "checkpoint=true", "epoch_penalty=1"]


# ---- the bookkeeping: Li et al. 2018 (Hyperband, Table 1: R = 81, eta = 3) and successive halving -----------
def test_hyperbands_brackets_for_r81_eta3_are_the_papers():
    assert rungs(1, 81, 3) == [1, 3, 9, 27, 81]
    # (first rung, n) for s = 4..0: n = 81, 34, 15, 8, 5 at r = 1, 3, 9, 27, 81
    assert brackets(5, 3, 5) == [(0, 81), (1, 34), (2, 15), (3, 8), (4, 5)]
    assert brackets(3, 3) == [(0, 9)]  # one bracket: successive halving over every rung


@pytest.mark.parametrize("n, eta, survivors", [
    (81, 3, [81, 27, 9, 3, 1]),   # Hyperband R=81 bracket s=4
    (34, 3, [34, 11, 3, 1]),      # s=3
    (15, 3, [15, 5, 1]),          # s=2
    (8, 3, [8, 2]),               # s=1
    (16, 2, [16, 8, 4, 2, 1]),    # successive halving, eta 2
])
def test_promotions_keep_floor_n_over_eta_per_rung_as_published(n, eta, survivors):
    alive = list(range(n))
    counts = [len(alive)]
    for _ in survivors[1:]:
        scores = [((i * 7919) % 101) / 101 for i in alive]  # a fixed, shuffled sequence of scores
        alive = [alive[i] for i in promotions(scores, eta)]
        counts.append(len(alive))
    assert counts == survivors


SCORES = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6]


@pytest.mark.parametrize("scores, eta, direction, promoted", [
    (SCORES, 3, "minimize", [1, 3, 5]),          # the three lowest
    (SCORES, 3, "maximize", [2, 4, 6]),          # the three highest
    (SCORES, 9, "minimize", [1]),
    (SCORES[:2], 3, "minimize", [1]),            # fewer than eta: the best one still goes on
    ([None, 0.3, float("nan"), 0.2], 2, "minimize", [1, 3]),  # failures are never promoted
    ([None, None, 0.5], 3, "minimize", [2]),
    ([None, None], 2, "minimize", []),
    ([0.2, 0.2, 0.2], 3, "minimize", [0]),       # a tie keeps the earlier candidate
])
def test_promotions_table(scores, eta, direction, promoted):
    assert promotions(scores, eta, direction) == promoted


@pytest.mark.parametrize("value, message", [
    ("epochs", "must be a mapping"),
    ({"min": 1, "max": 9}, "fidelity.key=None"),
    ({"key": "trainer.max_epochs", "min": 0, "max": 9}, "fidelity.min=0"),
    ({"key": "trainer.max_epochs", "min": 9, "max": 9}, "max=9 must be above min=9"),
    ({"key": "trainer.max_epochs", "min": 1, "max": 9, "eta": 1}, "fidelity.eta=1"),
    ({"key": "trainer.max_epochs", "min": 1, "max": 9, "brackets": 4}, "brackets=4: at most 3"),
    ({"key": "trainer.max_epochs", "min": 1, "max": 9, "rungs": 3}, "unknown key(s) ['rungs']"),
    ({"key": "hydra.job.name", "min": 1, "max": 9}, "fidelity.key='hydra.job.name'"),
])
def test_a_bad_fidelity_is_refused_naming_the_key(value, message):
    with pytest.raises(ValueError, match="hydra.sweeper.fidelity") as err:
        SweeperSettings(fidelity=value)
    assert message in str(err.value)


@pytest.mark.parametrize("budget, brackets_, jobs", [(9, 1, 13), (14, 2, 19), (4, 1, 6), (27, 1, 39)])
def test_the_planned_rung_jobs_count_every_rung(budget, brackets_, jobs):
    fidelity = parse({"key": "epochs", "min": 1, "max": 9, "brackets": brackets_})
    assert planned_jobs(fidelity, budget) == jobs


def test_epochs_resume_from_a_checkpoint_and_a_training_size_retrains():
    epochs = parse({"key": "trainer.max_epochs", "min": 2, "max": 18})
    assert epochs.rungs() == [2, 6, 18] and epochs.resume_key == "trainer.resume_from" and epochs.resumes
    assert epochs.save_key == "trainer.save_last"
    data = parse({"key": "dataset.max_train", "min": 500, "max": 4000, "eta": 2})
    assert data.rungs() == [500, 1000, 2000, 4000] and not data.resumes and data.save_key is None


# ---- rungs run by the toy task --------------------------------------------------------------------------
def toy(sweep_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(TOY), f"hydra.sweep.dir={sweep_dir}", *overrides, "-m"],
                          capture_output=True, text=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"}, timeout=240)
    if proc.returncode != 0:
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-3000:])
    return proc


def starts(sweep: Path) -> Counter:
    return Counter(r["job"] for r in iter_records(sweep) if r.get("event") == "start")


def check_rungs(sweep: Path) -> dict:
    rungs_ = rung_records(sweep)
    per_rung = Counter(r["rung"] for r in rungs_.values())
    assert per_rung == {0: 9, 1: 3, 2: 1}
    for rung in (0, 1):
        here = [r for r in rungs_.values() if r["rung"] == rung]
        best = sorted(here, key=lambda r: r["objective"]["value"])[:len(here) // 3]
        assert {r["job"] for r in here if r["promoted"]} == {r["job"] for r in best}
    for r in rungs_.values():
        assert r["fidelity"] == {"epochs": [1, 3, 9][r["rung"]]} and r["status"] == "ok"
        assert r["cost"]["seconds"] is not None and r["cost"]["seconds"] >= 0
        if r["rung"]:  # continued from its previous rung's checkpoint: only the added epochs are trained
            before = rungs_[r["resumed_from"]]
            assert before["promoted"] and before["trial"] == r["trial"] and before["rung"] == r["rung"] - 1
            assert r["cost"]["epochs"] == [1, 3, 9][r["rung"]] - [1, 3, 9][r["rung"] - 1]
            progress = json.loads((sweep / str(r["job"]) / "progress.json").read_text())
            assert progress == {"start_epoch": [1, 3, 9][r["rung"] - 1], "epochs": [1, 3, 9][r["rung"]]}
    return rungs_


@pytest.mark.parametrize("launcher", ["basic", "joblib", "submitit_local"])
def test_a_stage_with_fidelity_runs_successive_halving_rungs(tmp_path, launcher):
    sweep = tmp_path / launcher
    extra = ["hydra.launcher.timeout_min=5"] if launcher.startswith("submitit") else []
    toy(sweep, *RUNGS, f"hydra/launcher={launcher}", *extra)
    assert (sweep / ".submitit").is_dir() == launcher.startswith("submitit")  # the rungs ran as submitit jobs
    check_rungs(sweep)
    assert set(starts(sweep).values()) == {1}


def test_a_kill_during_a_rung_loses_no_finished_rung_and_resumes_promoted_trials_from_their_checkpoint(tmp_path):
    sweep = tmp_path / "killed"
    cmd = [sys.executable, str(TOY), f"hydra.sweep.dir={sweep}", *RUNGS, "sleep=0.4", "-m"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:  # kill -9 once a rung-1 job is in flight
        deadline = time.time() + 120
        while time.time() < deadline and not any(r.get("event") == "start" and r.get("rung") == 1
                                                 for r in iter_records(sweep)):
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = rung_records(sweep)
    finished_rung0 = {job for job, r in before.items() if r["rung"] == 0}
    assert len(finished_rung0) == 9 and not any(r["rung"] == 2 for r in before.values())
    toy(sweep, *RUNGS, "sleep=0.4")
    rungs_ = check_rungs(sweep)
    counts = starts(sweep)
    assert all(counts[job] == 1 for job in finished_rung0)  # no finished rung was run again
    rerun = [job for job, n in counts.items() if n > 1]
    assert rerun and all(rungs_[job]["rung"] == 1 and rungs_[job]["resumed_from"] in finished_rung0 for job in rerun)


def test_a_warm_start_from_a_multi_fidelity_sweep_trains_none_of_its_candidates_again(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    toy(first, *RUNGS)
    toy(second, *RUNGS, f"hydra.sweeper.warm_start=[{first}]")
    def candidates(sweep):
        return {tuple(sorted(r["params"].items())) for r in iter_records(sweep) if r.get("event") == "start"}
    assert len(candidates(first)) == 9 and len(candidates(second)) == 9
    assert not candidates(first) & candidates(second)  # the same seed asks the same points first: all told
    results = (second / "optimization_results.yaml").read_text()
    assert "inside: 9" in results


def test_hyperband_brackets_enter_later_rungs_fresh(tmp_path):
    sweep = tmp_path / "hyperband"
    toy(sweep, *[o.replace("resume_from}", "resume_from, brackets: 2}") for o in RUNGS], "hydra.sweeper.budget=14")
    rungs_ = rung_records(sweep)
    first_rung: dict[int, int] = {}
    for r in rungs_.values():
        first_rung[r["trial"]] = min(first_rung.get(r["trial"], 9), r["rung"])
    # bracket s=1 asks 5 candidates that enter at rung 1 (3 epochs); those nevergrad proposed again are
    # cached, not trained, so the bracket trains 5 or fewer
    entered = {t for t, rung in first_rung.items() if rung == 1}
    second = [r for r in rungs_.values() if r["trial"] in entered]
    assert 1 <= len(entered) <= 5 and Counter(r["rung"] for r in second) == {1: len(entered), 2: 1}
    assert min(entered) == 13  # after bracket s=2's jobs: 9 at rung 0, 3 at rung 1, 1 at rung 2
    assert all(r["resumed_from"] is None for r in second if r["rung"] == 1)  # entered fresh at 3 epochs
    top = next(r for r in second if r["rung"] == 2)
    assert rungs_[top["resumed_from"]]["rung"] == 1 and rungs_[top["resumed_from"]]["promoted"]


@pytest.mark.slow
def test_a_genarch_stage_with_epoch_fidelity_continues_promoted_trials_with_lightning(tmp_path):
    sweep = tmp_path / "genarch"
    args = ["hydra/sweeper=genarch", "trainer=smoke", "dataset.n=400", "++summary=false",
            "model.stem.filters=choice(4,8,16)", "optimizer.lr_scale=tag(log,interval(0.3,3))",
            "hydra.sweeper.budget=3", "hydra.sweeper.fidelity={key: trainer.max_epochs, min: 1, max: 3, eta: 3}"]
    proc = subprocess.run([sys.executable, "-m", "genarch", *args, f"hydra.sweep.dir={sweep}", "-m"],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=400,
                          env={**os.environ, "GENARCH_CACHE": str(tmp_path / "cache"), "HYDRA_FULL_ERROR": "0"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rungs_ = rung_records(sweep)
    assert Counter(r["rung"] for r in rungs_.values()) == {0: 3, 1: 1}
    top = next(r for r in rungs_.values() if r["rung"] == 1)
    before = rungs_[top["resumed_from"]]
    assert before["promoted"] and (sweep / str(before["job"]) / "checkpoints" / "last.ckpt").exists()
    result = json.loads((sweep / str(top["job"]) / "result.json").read_text())
    assert result["epochs"] == 3 and top["cost"]["epochs"] == 2  # continued: epochs 2-3 only
    assert top["cost"]["sequences"] == result["extra"]["n_train"] > 0
    assert top["cost"]["epoch_sequences"] == 2 * result["extra"]["n_train"]
