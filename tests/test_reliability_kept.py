"""Nothing computed is overwritten by a failure (issue 36, case 4), and one task protocol (issue 35, item 4):
a failed run beside a successful one writes result.failed.json and keeps result.json; an analysis cut off
midway leaves the previous complete analysis; genarch.task.task_wrapper records success, failure and
interruption the same way for every task (genarch.app, experiments/tfbs/multi.py)."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from genarch.ledger import load_trials
from genarch.result import Objective, RunResult, read_result
from genarch.sweeper import ledger_hook
from genarch.task import TaskRun, task_wrapper

REPO = Path(__file__).resolve().parents[1]


def _ok(value=0.8):
    return RunResult(status="ok", objective=Objective("val_auroc", "maximize", value))


def _failed():
    return RunResult(status="failed", objective=Objective("val_auroc", "maximize"), error="RuntimeError: boom")


@pytest.mark.parametrize("first, second, result_json, failed_json", [
    (_ok(), _failed(), "ok", "failed"),         # a failure beside a success: the success stays
    (_failed(), _failed(), "failed", None),     # nothing successful to keep
    (_failed(), _ok(), "ok", None),             # a success replaces a failure
    (_ok(0.7), _ok(0.9), "ok", None),           # a re-run replaces a success
])
def test_a_failure_never_replaces_a_successful_result(tmp_path, first, second, result_json, failed_json):
    first.write(tmp_path)
    written = second.write(tmp_path)
    assert read_result(tmp_path)["status"] == result_json
    failed = tmp_path / "result.failed.json"
    assert (json.loads(failed.read_text())["status"] if failed.exists() else None) == failed_json
    assert written.name == ("result.failed.json" if failed_json else "result.json")


# ---------------------------------------------------------------- the task protocol


@pytest.fixture
def sweep_ledger(tmp_path, monkeypatch):
    """The wrapper's ledger records go to ``tmp_path/sweep`` as trial 3 of a sweep."""
    ledger_dir = tmp_path / "sweep"
    monkeypatch.setattr(ledger_hook, "sweep_context", lambda: (ledger_dir, 3, tmp_path / "run"))
    return ledger_dir


def test_a_wrapped_task_writes_its_result_and_its_ledger_end(tmp_path, sweep_ledger):
    @task_wrapper
    def task(cfg, run: TaskRun):
        run.facts["hparams"] = {"x": cfg.x}
        return RunResult(status="ok", objective=Objective("val_auroc", "maximize", 0.75), hparams={"x": cfg.x},
                         overrides=run.overrides, wall_time_s=run.elapsed)

    assert task(OmegaConf.create({"x": 2, "seed": 0}), tmp_path / "run") == 0.75
    assert read_result(tmp_path / "run")["objective"]["value"] == 0.75
    (trial,) = load_trials(sweep_ledger)
    assert (trial.job, trial.status, trial.value, trial.record["writer"]) == (3, "ok", 0.75, "trial")


def test_a_task_returning_a_number_gets_the_objective_it_states(tmp_path, sweep_ledger):
    @task_wrapper
    def task(cfg, run):
        run.facts["objective"] = ("toy_loss", "minimize")
        return 0.25

    assert task(OmegaConf.create({}), tmp_path / "run") == 0.25
    data = read_result(tmp_path / "run")
    assert data["status"] == "ok" and data["objective"] == {"name": "toy_loss", "direction": "minimize", "value": 0.25}


@pytest.mark.parametrize("exc, interrupted", [(RuntimeError("CUDA OOM"), False), (KeyboardInterrupt(), True)])
def test_a_failing_task_keeps_what_it_measured_and_reraises(tmp_path, sweep_ledger, exc, interrupted):
    @task_wrapper
    def task(cfg, run):
        run.facts.update(objective=("val_auroc", "maximize"), n_params=123, metrics={"val": {"auroc": 0.6}})
        raise exc

    with pytest.raises(type(exc)) as raised:
        task(OmegaConf.create({"seed": 1}), tmp_path / "run")
    data = read_result(tmp_path / "run")
    assert data["status"] == "failed" and data["n_params"] == 123 and data["metrics"]["val"]["auroc"] == 0.6
    assert data["error"].startswith(type(exc).__name__) and "Traceback" in data["extra"]["traceback"]
    assert bool(data["extra"].get("interrupted")) is interrupted
    assert raised.value.genarch_result == tmp_path / "run" / "result.json"
    (trial,) = load_trials(sweep_ledger)
    assert trial.status == "failed" and bool(trial.record.get("interrupted")) is interrupted


def test_a_failed_rerun_beside_a_success_says_so_and_keeps_it(tmp_path, sweep_ledger, caplog):
    _ok(0.9).write(tmp_path / "run")

    @task_wrapper
    def task(cfg, run):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError) as raised:
        task(OmegaConf.create({}), tmp_path / "run")
    assert read_result(tmp_path / "run")["objective"]["value"] == 0.9
    assert json.loads((tmp_path / "run" / "result.failed.json").read_text())["error"] == "RuntimeError: disk full"
    assert raised.value.genarch_result.name == "result.failed.json"
    assert any("beside the successful result.json of an earlier run, which is kept" in r.getMessage()
               for r in caplog.records)


def test_every_task_of_genarch_and_its_experiments_uses_the_one_protocol():
    """No task writes result.json or the ledger record by hand any more."""
    for path in ("genarch/app.py", "experiments/tfbs/multi.py"):
        text = (REPO / path).read_text()
        assert "task_wrapper" in text, path
        assert "record_trial_end(" not in text and "failed.write(" not in text, path


def test_multi_records_a_failed_subset_with_what_each_experiment_gave(tmp_path, sweep_ledger, monkeypatch):
    from experiments.tfbs import multi
    import genarch.training
    import genarch.training.runner

    calls = []

    def train(cfg, out_dir, hydra_cfg, overrides, **kwargs):
        calls.append(cfg.dataset.experiment)
        if len(calls) == 2:
            raise RuntimeError("second experiment failed")
        return RunResult(status="ok", objective=Objective("val_auroc", "maximize", 0.7), epochs=1)

    monkeypatch.setattr(genarch.training, "train", train)
    monkeypatch.setattr(genarch.training.runner, "hparams_of", lambda cfg: {"model.x": 1})
    monkeypatch.setattr("genarch.task.hydra_context", lambda: (None, tmp_path / "run", []))
    cfg = OmegaConf.create({"dataset": {"experiment": "X"}, "seed": 0})
    with pytest.raises(RuntimeError, match="second experiment failed"):
        multi.run_subset(cfg, ["A_K562_x", "B_HepG2_y"])
    data = read_result(tmp_path / "run")
    assert data["status"] == "failed" and data["extra"]["subset"] == ["A_K562_x", "B_HepG2_y"]
    assert data["extra"]["per_experiment"]["A_K562_x"]["val_auroc"] == 0.7 and data["hparams"] == {"model.x": 1}
    assert load_trials(sweep_ledger)[0].status == "failed"


# ---------------------------------------------------------------- the analysis moved into place at the end


def test_an_analysis_cut_off_midway_leaves_the_previous_complete_one(tmp_path, monkeypatch):
    from genarch.analysis import pipeline, summary
    from genarch.analysis.synthetic import write_sweep

    sweep = write_sweep(tmp_path / "s", kind="single", n=40, seed=1)
    options = pipeline.Options(seeds=1, n_estimators=10, plots=False, html=False)
    pipeline.analyze_sweep(sweep, options=options)
    before = {p.name: p.read_bytes() for p in (sweep / "analysis").iterdir()}
    assert len(before) >= 5
    (sweep / "analysis" / "my_notes.txt").write_text("kept")

    def killed(analysis, *args, **kwargs):
        raise KeyboardInterrupt  # the kill arrives while the new analysis is being written

    monkeypatch.setattr(summary, "render_text", killed)
    with pytest.raises(KeyboardInterrupt):
        pipeline.analyze_sweep(sweep, options=options)
    after = {p.name: p.read_bytes() for p in (sweep / "analysis").iterdir() if p.name != "my_notes.txt"}
    assert after == before  # the previous analysis, whole; no new file mixed in
    assert not list(sweep.glob(".analysis.partial-*"))
    monkeypatch.undo()
    pipeline.analyze_sweep(sweep, options=options)  # the next one replaces it and carries the user's file over
    assert (sweep / "analysis" / "my_notes.txt").read_text() == "kept"
    assert json.loads((sweep / "analysis" / "analysis.json").read_text())


@pytest.mark.slow
def test_a_kill_9_during_the_analysis_leaves_no_partial_analysis_in_place(tmp_path):
    from genarch.analysis.synthetic import write_sweep

    sweep = write_sweep(tmp_path / "s", kind="single", n=60, seed=2)
    code = ("import sys; from genarch.analysis import pipeline; "
            "pipeline.analyze_sweep(sys.argv[1], options=pipeline.Options(seeds=2, n_estimators=30))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(sweep)], cwd=REPO, env={"PYTHONPATH": str(REPO),
                            "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MPLBACKEND": "Agg"})
    deadline = time.time() + 120
    while time.time() < deadline and not list(sweep.glob(".analysis.partial-*/tree_rules.txt")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(sweep.glob(".analysis.partial-*")), "the kill came before the analysis began writing"
    assert not (sweep / "analysis").exists()  # never a folder that looks complete but is not
