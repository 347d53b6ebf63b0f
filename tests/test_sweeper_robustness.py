"""The sweeper on broken input, in process with a fake launcher: a space of only illegal models stops
and names the last rejection; a record without a result states no guessed direction (and the analysis
takes the direction from finished trials); a re-run that fails without its own end record is recorded;
integer bounds of a YAML mapping are the integers inside them."""

import math

import pytest
import yaml
from omegaconf import OmegaConf

from genarch.ledger import append_record, iter_records, load_trials
from sweeper_fake import FakeLauncher as _Launcher
from sweeper_fake import fake_sweeper as _sweeper

# ---------------------------------------------------------------- the sweeper, in process

# the multi-fidelity loop shares the stop rules: before, it asked illegal candidates forever
@pytest.mark.parametrize("fidelity", [None, {"key": "epochs", "min": 1, "max": 9, "eta": 3}],
                         ids=["single-fidelity", "rungs"])
def test_a_space_of_only_illegal_models_stops_and_names_the_last_rejection(tmp_path, monkeypatch, fidelity):
    from genarch.sweeper._impl import NevergradSweeperImpl, Outcome

    def reject(self, c):
        c.outcome = Outcome("rejected", error="ConfigError: model.stem.filters too wide")
        self.run.cache[c.key] = c.outcome
        return True

    monkeypatch.setattr(NevergradSweeperImpl, "_reject", reject)
    sweeper = _sweeper(tmp_path, lambda job, ovr: 0.5, budget=4, max_repeated_asks=30, fidelity=fidelity)
    sweeper.sweep(["x=tag(log, interval(0.03, 10))"])
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    # asked one at a time, or a bracket (the budget's 4) at a time, until at least 30 in a row were illegal
    limit = 30 if fidelity is None else 32
    assert f"the last {limit} new candidates were all illegal models" in results["stopped"]
    assert "ConfigError: model.stem.filters too wide (x=" in results["stopped"]
    assert results["n_rejected"] == limit and sweeper.launcher.calls == []
    # a rejected record knows no result, so it states no direction for the analysis to take
    ends = [r for r in iter_records(tmp_path) if r["event"] == "end"]
    assert len(ends) == limit and {r["objective"]["direction"] for r in ends} == {None}


# one ask of one trial, or one bracket of 3 candidates (rungs 3, 9), all failing: over the rate, the command fails
@pytest.mark.parametrize("fidelity, what", [(None, "1 of 1 trials failed"),
                                            ({"key": "epochs", "min": 3, "max": 9, "eta": 3},
                                             "3 of 3 trials failed at their first rung")],
                         ids=["single-fidelity", "rungs"])
def test_a_sweep_over_its_failure_rate_fails_the_command_and_says_so(tmp_path, fidelity, what):
    from genarch.sweeper._impl import SweepStopped

    sweeper = _sweeper(tmp_path, lambda job, ovr: ValueError("diverged"), budget=6, num_workers=1,
                       max_failure_rate=0.5, fidelity=fidelity)
    with pytest.raises(SweepStopped, match=what):
        sweeper.sweep(["x=tag(log, interval(0.03, 10))"])
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert what in results["stopped"] and "max_failure_rate=0.5" in results["stopped"]
    assert len(sweeper.launcher.calls) == int(what[0])  # nothing was launched after the stop


@pytest.mark.parametrize("objective, settings, expected", [
    ({"name": "auto", "direction": "auto"}, {}, None),
    ({"name": "val_auroc", "direction": "maximize"}, {}, "maximize"),
    ({"name": "auto", "direction": "auto"}, {"direction": "minimize"}, "minimize"),
])
def test_a_record_without_a_result_states_only_a_known_direction(tmp_path, objective, settings, expected):
    sweeper = _sweeper(tmp_path, lambda job, ovr: RuntimeError("out of memory"), objective=objective,
                       budget=2, max_failure_rate=1.0, **settings)
    sweeper.sweep(["x=choice(1, 2, 3)"])
    ends = [r for r in iter_records(tmp_path) if r["event"] == "end"]
    assert ends and all(r["objective"]["direction"] == expected for r in ends)


def test_the_analysis_takes_the_direction_from_finished_trials_not_from_a_failed_record(tmp_path):
    from genarch.analysis.trials import from_ledger

    append_record(tmp_path, {"job": 0, "event": "end", "status": "failed", "params": {"x": 0.0},
                             "objective": {"name": "auto", "direction": "minimize", "value": None}})
    for job in range(1, 12):
        append_record(tmp_path, {"job": job, "event": "end", "status": "ok", "params": {"x": float(job)},
                                 "objective": {"name": "val_auroc", "direction": "maximize", "value": job / 20}})
    table = from_ledger(tmp_path)
    assert (table.metric, table.direction) == ("val_auroc", "maximize")


def test_a_rerun_that_fails_without_its_own_end_record_is_recorded_as_failed(tmp_path):
    # job 0 is interrupted (its task writes an interrupted end record); the same command resumes and runs
    # it again, and this time it fails with no end record of its own: the sweeper must write one for it,
    # not take the interrupted end of the first run for it
    def interrupted(job, ovr):
        append_record(tmp_path, {"job": job, "event": "end", "status": "failed", "interrupted": True,
                                 "error": "SIGTERMException: ", "params": {"x": 1}, "objective": {"value": None}})
        return RuntimeError("SIGTERMException: ")

    settings = dict(budget=1, max_failure_rate=1.0, optimizer="RandomSearch")
    _sweeper(tmp_path, interrupted, **settings).sweep(["x=choice(1, 2)"])
    assert load_trials(tmp_path)[0].record.get("interrupted")
    _sweeper(tmp_path, lambda job, ovr: RuntimeError("CUDA OOM"), **settings).sweep(["x=choice(1, 2)"])
    (trial,) = load_trials(tmp_path)
    assert (trial.status, trial.error) == ("failed", "RuntimeError: CUDA OOM")


# ---------------------------------------------------------------- bounds of a YAML mapping


@pytest.mark.parametrize("value, expected", [
    ({"lower": 0.5, "upper": 8, "log": True, "integer": True}, {"lower": 1, "upper": 8}),
    ({"lower": 1.5, "upper": 7.5, "integer": True}, {"lower": 2, "upper": 7}),
    ({"lower": 1.2, "upper": 1.8, "integer": True}, "model.x: interval needs lower < upper, got integers [2, 1]"),
    ({"lower": "a", "upper": 2}, "model.x: interval bounds must be numbers"),
    ({"lower": 0, "upper": float("inf")}, "model.x: interval bounds must be finite"),
])
def test_integer_bounds_are_the_integers_inside_them(value, expected):
    from genarch.sweeper.params import spec_from_yaml

    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected.replace("[", r"\[").replace("]", r"\]")):
            spec_from_yaml("model.x", value)
    else:
        spec = spec_from_yaml("model.x", value).spec
        assert {k: spec[k] for k in expected} == expected


# ---------------------------------------------------------------- what is told, and what a resume must match


@pytest.mark.parametrize("objective, settings, held", [
    # minimised (a loss, an MSE: values anywhere above 0): a failure before any success waits for one
    ({"name": "val_loss", "direction": "auto"}, {}, True),
    ({"name": "auto", "direction": "auto"}, {"direction": "minimize"}, True),
    # maximised (AUROC, r): loss 1.0 is worse than every value >= -1, so it is told at once
    ({"name": "auto", "direction": "auto"}, {}, False),
    ({"name": "val_auroc", "direction": "maximize"}, {}, False),
    # a fixed penalty is told at once whatever the direction
    ({"name": "val_loss", "direction": "minimize"}, {"failure_penalty": 1e9}, False),
])
def test_a_failure_before_any_success_never_looks_like_the_best_point(tmp_path, monkeypatch, objective, settings,
                                                                      held):
    from genarch.sweeper.losses import Losses

    told = []

    def result(job, ovr):
        return RuntimeError("fails") if job == 0 else 5.0 + job  # every success has a loss above 1

    sweeper = _sweeper(tmp_path, result, objective=objective, budget=4, num_workers=1, max_failure_rate=1.0,
                       optimizer="RandomSearch", **settings)
    original = Losses.loss
    monkeypatch.setattr(Losses, "loss",
                        lambda self, outcome: told.append((outcome.status, original(self, outcome))) or told[-1][1])
    sweeper.sweep(["x=choice(1, 2, 3, 4, 5, 6, 7, 8)"])
    first_ok = next(i for i, (status, _) in enumerate(told) if status == "ok")
    failure = next(loss for status, loss in told if status == "failed")
    if held:  # told after the first success, and worse than every success told before it
        assert told[0][0] == "ok" and failure > max(loss for status, loss in told[:first_ok + 1] if status == "ok")
    else:
        assert told[0][0] == "failed"


@pytest.mark.parametrize("name", ["HammersleySearch", "LHSSearch", "ScrHaltonSearch"])
def test_samplers_sized_to_their_budget_are_refused(name):
    from genarch.sweeper.config import SweeperSettings

    with pytest.raises(ValueError, match=f"hydra.sweeper.optimizer='{name}' draws a fixed quasi-random sequence"):
        SweeperSettings(optimizer=name)


@pytest.mark.parametrize("key, old, new", [
    ("direction", "minimize", "maximize"),
    ("failure_penalty", None, 10.0),
    ("validate", True, False),
])
def test_a_resume_that_changes_what_is_told_is_refused_naming_it(key, old, new):
    from genarch.sweeper.config import SweeperSettings
    from genarch.sweeper.resume import differences, make_state

    def state(value):
        return make_state(SweeperSettings(**{key: value}),
                          {"a": {"kind": "choice", "values": [1, 2], "ordered": False}},
                          [], 0, None, 10)

    assert differences(state(old), state(old)) == []
    assert differences(state(old), state(new)) == [f"{key}: was {old!r}, now {new!r}"]
    legacy = {k: v for k, v in state(old).items() if k != key}  # a state written before the key was stored
    assert differences(legacy, state(new)) == []


def test_a_sweep_started_before_integer_cells_resumes_with_its_old_bounds(tmp_path, monkeypatch):
    """Integer intervals reach half a step past their end integers since session 22 (params.INTEGER_CELL).
    A sweep whose state predates that replays with the bounds it started with, instead of asking other
    candidates and stopping with 'resume replay diverged'."""
    import json

    from genarch.sweeper import resume

    space = ["x=int(interval(1, 4))", "y=tag(log, int(interval(2, 9)))"]

    def params(sweep_dir):
        return [t.params for t in sorted(load_trials(sweep_dir), key=lambda t: t.job)]

    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    with monkeypatch.context() as patch:  # the sweeper as it was: bounds at the end integers, no key stored
        patch.setattr(resume, "INTEGER_CELL", 0.0)
        _sweeper(old_dir, lambda job, ovr: 0.1 * job, budget=6, num_workers=1, optimizer="RandomSearch").sweep(space)
    state = json.loads((old_dir / "sweep_state.json").read_text())
    del state["integer_cell"]
    (old_dir / "sweep_state.json").write_text(json.dumps(state))
    _sweeper(new_dir, lambda job, ovr: 0.1 * job, budget=6, num_workers=1, optimizer="RandomSearch").sweep(space)
    assert params(old_dir) != params(new_dir)  # the same seed asks other candidates under today's bounds

    resumed = _sweeper(old_dir, lambda job, ovr: 0.1 * job, budget=8, num_workers=1, optimizer="RandomSearch")
    resumed.sweep(space)
    assert [job for job, _ in resumed.launcher.calls] == [6, 7]  # the 6 finished jobs replayed, not re-run
    assert json.loads((old_dir / "sweep_state.json").read_text())["integer_cell"] == 0.0
    assert resume.integer_cell(None) == resume.INTEGER_CELL > 0


def test_a_delete_on_the_command_line_is_passed_to_every_trial():
    from genarch.sweeper._impl import NevergradSweeperImpl
    from genarch.sweeper.config import SweeperSettings

    specs, fixed = NevergradSweeperImpl(SweeperSettings(params={"sleep": "choice(0, 1)", "x": "choice(1, 2)"})) \
        .search_space(["~sleep"])
    assert list(specs) == ["x"] and fixed == ["~sleep"]


def test_warm_start_compares_trial_by_trial_what_a_sweep_sets_in_its_params():
    from genarch.sweeper.task_config import task_differences as _task_differences

    def cfg(stride, epochs, params):
        return OmegaConf.create({"model": {"reduction": {"stride": stride}}, "trainer": {"max_epochs": epochs},
                                 "hydra": {"overrides": {"task": []}, "sweeper": {"params": params}}})

    earlier = cfg(4, 4, {"model.reduction.stride": "choice(2, 4, 8)", "+model/rnn": "choice(none, lstm)"})
    assert _task_differences(earlier, cfg(2, 4, {})) == []  # stride: set in every trial of the earlier sweep
    assert _task_differences(earlier, cfg(2, 6, {})) == ["trainer.max_epochs: was 4, now 6"]  # a real difference


@pytest.mark.parametrize("now, differs", [
    (None, False), (False, False),   # a switch added to the config since, left off: the earlier sweep ran so
    (True, True), (0.5, True),       # switched on, or a value: the earlier sweep did not run with it
])
def test_a_key_added_since_differs_only_when_it_is_on(now, differs):
    from genarch.sweeper.task_config import task_differences as _task_differences

    def cfg(dataset):
        return OmegaConf.create({"dataset": dataset, "hydra": {"overrides": {"task": []}, "sweeper": {"params": {}}}})

    assert bool(_task_differences(cfg({"n": 1}), cfg({"n": 1, "fixed_val": now}))) == differs
    assert bool(_task_differences(cfg({"n": 1, "fixed_val": now}), cfg({"n": 1}))) == differs


# ---------------------------------------------------------------- a trial whose own end record is missing


class _ResultLauncher(_Launcher):
    """Like genarch.app.run: writes result.json into the job's output dir (which Hydra names in the job's
    config), but its ledger hook could not write the end record."""

    def __init__(self, result, root, stale=False):
        super().__init__(result)
        self.root, self.stale = root, stale

    def launch(self, overrides, initial_job_idx):
        import json

        rets = super().launch(overrides, initial_job_idx)
        for i, ret in enumerate(rets):
            out = self.root / f"t_{initial_job_idx + i}"
            out.mkdir(parents=True)
            value = ret.return_value + (0.5 if self.stale else 0.0)
            (out / "result.json").write_text(json.dumps({
                "status": "ok", "objective": {"name": "val_auroc", "direction": "maximize", "value": value},
                "metrics": {"val_auroc": value, "val_loss": 0.3}, "n_params": 1234, "epochs": 3, "wall_time_s": 2.0}))
            ret.hydra_cfg = OmegaConf.create({"hydra": {"runtime": {"output_dir": str(out)}}})
        return rets


@pytest.mark.parametrize("objective, expected", [
    ({"name": "auto", "direction": "auto"}, "maximize"),      # genarch's auto objective: AUROC or Pearson r
    ({"name": "val_loss", "direction": "auto"}, "minimize"),
    ({"name": "val_auroc", "direction": "maximize"}, "maximize"),
])
def test_a_success_without_its_own_record_is_told_in_the_objectives_direction(tmp_path, objective, expected):
    sweeper = _sweeper(tmp_path, lambda job, ovr: int(ovr[0].split("=")[1]) / 10, objective=objective, budget=3,
                       optimizer="RandomSearch")
    sweeper.sweep(["x=choice(1, 2, 3)"])
    ends = [r for r in iter_records(tmp_path) if r["event"] == "end"]
    assert len(ends) == 3 and {r["objective"]["direction"] for r in ends} == {expected}
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert results["best_evaluated_params"] == {"x": 3 if expected == "maximize" else 1}


@pytest.mark.parametrize("stale", [False, True])
def test_the_sweeper_reads_the_trials_result_json_when_its_hook_wrote_nothing(tmp_path, stale):
    sweeper = _sweeper(tmp_path / "sweep", lambda job, ovr: int(ovr[0].split("=")[1]) / 10, budget=2,
                       optimizer="RandomSearch")
    sweeper.launcher = _ResultLauncher(sweeper.launcher.result, tmp_path / "runs", stale=stale)
    sweeper.sweep(["x=choice(1, 2)"])
    for trial in load_trials(tmp_path / "sweep"):
        assert trial.record["writer"] == "sweeper" and trial.direction == "maximize"
        if stale:  # a result.json that is not this run's says nothing of it
            assert (trial.objective_name, trial.metrics, trial.record["n_params"]) == ("auto", {}, None)
        else:
            assert (trial.objective_name, trial.record["n_params"], trial.record["epochs"]) == ("val_auroc", 1234, 3)
            assert trial.metrics == {"val_auroc": trial.value, "val_loss": 0.3}


@pytest.mark.parametrize("subdir, refused", [
    ("${hydra.job.num}", False),
    ("${hydra.job.override_dirname}", False),
    ("runs/${hydra.job.num}", False),
    ("../x_${hydra.job.num}", True),
    ("a/../b_${hydra.job.num}", True),
    ("/tmp/elsewhere/${hydra.job.num}", True),
])
def test_a_subdir_that_leaves_the_sweep_dir_is_refused_before_anything_is_written(tmp_path, subdir, refused):
    sweeper = _sweeper(tmp_path / "sweep", lambda job, ovr: 0.5, budget=1)
    sweeper.config.hydra.sweep.subdir = subdir
    if refused:
        with pytest.raises(ValueError, match=r"hydra.sweep.subdir=.*inside hydra.sweep.dir"):
            sweeper.sweep(["x=choice(1, 2)"])
        assert not (tmp_path / "sweep").exists()
    else:
        sweeper.sweep(["x=choice(1, 2)"])
        assert (tmp_path / "sweep" / "ledger.jsonl").exists()


@pytest.mark.parametrize("subdir, found", [
    ("0", True),
    ("model=a,x=1/0", True),
    ("../x_0", False),       # would be the sweep dir's parent: write nothing rather than there
    ("a/../b_0", False),
    ("ABS", False),
])
def test_a_trial_writes_its_record_only_into_its_own_sweep_dir(tmp_path, monkeypatch, subdir, found):
    import os

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from genarch.sweeper.ledger_hook import sweep_context

    sweep = tmp_path / "multirun" / "s1"
    if subdir == "ABS":
        subdir = str(tmp_path / "elsewhere" / "t_0")
    hc = OmegaConf.create({
        "mode": RunMode.MULTIRUN,
        "sweeper": {"_target_": "hydra_plugins.genarch_sweeper.genarch_sweeper.NevergradSweeper"},
        "sweep": {"dir": str(sweep), "subdir": subdir}, "job": {"num": 0},
        "runtime": {"output_dir": os.path.abspath(os.path.join(str(sweep), subdir))}})
    monkeypatch.setattr(HydraConfig, "initialized", staticmethod(lambda: True))
    monkeypatch.setattr(HydraConfig, "get", staticmethod(lambda: hc))
    context = sweep_context()
    assert (context[0] == sweep.resolve()) if found else (context is None)


@pytest.mark.parametrize("bad", [
    b'{"event": "end", "job": "x", "status": "ok"}',
    b'{"event": "end", "job": 1, "status": "ok", "objective": {"name": "m", "direction": "maximize", "value": "abc"}}',
])
def test_a_resume_skips_a_ledger_record_with_a_bad_field_naming_its_line(tmp_path, bad):
    """Before, one such record stopped the resume with int('x') or float('abc') and no file or line."""
    space = ["x=interval(0, 1)"]
    _sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=4, num_workers=1, optimizer="RandomSearch").sweep(space)
    lines = (tmp_path / "ledger.jsonl").read_bytes().count(b"\n")
    with open(tmp_path / "ledger.jsonl", "ab") as handle:
        handle.write(bad + b"\n")
    resumed = _sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=6, num_workers=1, optimizer="RandomSearch")
    with pytest.warns(UserWarning, match=rf"ledger.jsonl:{lines + 1}: skipped a ledger record with"):
        resumed.sweep(space)
    assert [job for job, _ in resumed.launcher.calls] == [4, 5]  # the 4 finished jobs replayed, not re-run
    assert [t.value for t in load_trials(tmp_path)] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


class _ComposeError(Exception):
    pass


def test_a_sweep_that_stopped_before_its_first_trial_does_not_block_the_corrected_command(tmp_path, caplog):
    """A misspelled key fails when the first job composes, after the sweep state was saved. Before, the
    corrected command in the same directory was refused: 'cannot resume ... parameter ... removed'."""
    bad = _sweeper(tmp_path, lambda job, ovr: 0.1, budget=3, num_workers=1, optimizer="RandomSearch")

    def fail(overrides, initial_job_idx):
        raise _ComposeError("Could not override 'model.stem.filterz'")

    bad.launcher.launch = fail
    with pytest.raises(_ComposeError):
        bad.sweep(["model.stem.filterz=choice(1, 2)"])
    assert (tmp_path / "sweep_state.json").exists()
    assert [t.status for t in load_trials(tmp_path)] == ["running"]  # started, never ended
    fixed = _sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=3, num_workers=1, optimizer="RandomSearch")
    caplog.set_level("INFO", logger="genarch.sweeper")
    fixed.sweep(["model.stem.filters=interval(1, 2)"])
    assert [job for job, _ in fixed.launcher.calls] == [0, 1, 2]
    said = [r.getMessage() for r in caplog.records]
    assert any("ended no trial" in m and "starting afresh" in m for m in said)
    assert not any(m.startswith("resuming") for m in said)
    # once a trial is recorded, a different search in the same directory is refused as before
    with pytest.raises(ValueError, match="cannot resume the sweep"):
        _sweeper(tmp_path, lambda job, ovr: 0.1, budget=3, num_workers=1, optimizer="RandomSearch").sweep(
            ["model.stem.filterz=choice(1, 2)"])


def test_a_resume_with_an_edited_stage_body_is_refused_naming_the_key(tmp_path):
    """Before, editing trainer.max_epochs in the stage file between runs was accepted: jobs 0-1 trained 4
    epochs, jobs 2-3 one epoch, in one sample, and the stage copy of the first run was overwritten."""
    space = ["x=interval(0, 1)"]

    def sweeper(epochs, budget):
        s = _sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=budget, num_workers=1, optimizer="RandomSearch")
        s.config = OmegaConf.merge(s.config, {"trainer": {"max_epochs": epochs}})
        return s

    sweeper(4, 2).sweep(space)
    with pytest.raises(ValueError, match=r"task config trainer.max_epochs: was 4, now 1"):
        sweeper(1, 4).sweep(space)
    again = sweeper(4, 4)
    again.sweep(space)  # the same task resumes
    assert [job for job, _ in again.launcher.calls] == [2, 3]


def test_a_resume_may_change_how_trials_run_but_not_what_they_compute(tmp_path):
    """trainer.threads and trainer.progress (GenarchTaskRules.run_only_keys) change no model, data or recipe:
    a sweep started with threads 1 resumes with threads auto; a changed trainer.patience is still refused."""
    space = ["x=interval(0, 1)"]

    def sweeper(trainer, budget):
        s = _sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=budget, num_workers=2, optimizer="RandomSearch")
        s.config = OmegaConf.merge(s.config, {"trainer": trainer})
        return s

    sweeper({"threads": 1, "progress": True, "patience": 5}, 2).sweep(space)
    with pytest.raises(ValueError, match=r"task config trainer.patience: was 5, now 3"):
        sweeper({"threads": "auto", "progress": False, "patience": 3}, 3).sweep(space)
    again = sweeper({"threads": "auto", "progress": False, "patience": 5}, 3)
    again.sweep(space)
    # the last batch holds one job: it is told so (its threads=auto then takes every core)
    assert again.launcher.calls == [(2, [again.launcher.calls[0][1][0], "hydra.sweeper.num_workers=1"])]


def test_a_warm_start_reads_a_sweep_that_ran_with_other_threads_but_not_another_recipe(tmp_path):
    from genarch.sweeper.task_config import task_differences
    from genarch.sweeper.warm_start import warm_start_dirs
    from genarch.task_rules import GenarchTaskRules

    run_only = GenarchTaskRules().run_only_keys()
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "ledger.jsonl").write_text("")
    OmegaConf.save({"trainer": {"threads": 1, "progress": True, "patience": 5}}, earlier / "multirun.yaml")
    now = OmegaConf.create({"trainer": {"threads": "auto", "progress": False, "patience": 5}})
    assert warm_start_dirs([str(earlier)], tmp_path / "now", now, run_only) == [earlier.resolve()]
    assert len(task_differences(OmegaConf.load(earlier / "multirun.yaml"), now)) == 2  # without run_only
    now.trainer.patience = 3
    with pytest.raises(ValueError, match=r"(?s)another task config.*trainer.patience: was 5, now 3"):
        warm_start_dirs([str(earlier)], tmp_path / "now", now, run_only)


def test_the_console_line_of_a_rejection_gives_its_job_and_reasons_and_a_replay_says_so(tmp_path, monkeypatch, caplog):
    """Before: 'job None (new) rejected: ConfigError: illegal model config:' (the reasons, on the next lines,
    were cut), and a replayed job of a resume was labelled (new)."""
    from genarch.sweeper._impl import NevergradSweeperImpl, Outcome

    def reject(self, c):
        if c.params["x"] < 0.5:
            return False
        c.outcome = Outcome("rejected", error="ConfigError: illegal model config:\n  - model.activation='leaky_rleu' "
                                              "is not one of ['relu', 'elu']")
        self.run.cache[c.key] = c.outcome
        return True

    monkeypatch.setattr(NevergradSweeperImpl, "_reject", reject)
    caplog.set_level("INFO", logger="genarch.sweeper")
    _sweeper(tmp_path, lambda job, ovr: 0.1, budget=3, num_workers=1,
             optimizer="RandomSearch").sweep(["x=interval(0, 1)"])
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("job ")]
    rejected = [line for line in lines if "rejected" in line]
    assert rejected and all(line.split()[1].isdigit() for line in rejected)  # a job number, not None
    assert "rejected: ConfigError: illegal model config: - model.activation='leaky_rleu' is not one of" in rejected[0]
    caplog.clear()
    _sweeper(tmp_path, lambda job, ovr: 0.1, budget=4, num_workers=1,
             optimizer="RandomSearch").sweep(["x=interval(0, 1)"])
    labels = [r.getMessage().split(")")[0] for r in caplog.records if r.getMessage().startswith("job ")]
    assert any(label.endswith("(replayed") for label in labels) and labels[-1].endswith("(new")


def test_a_sweep_killed_before_any_trial_ended_resumes_with_its_stored_seed(tmp_path):
    """The same command after a kill during the first batch continues that sweep (with seed: null, the seed
    drawn at its start), rather than starting afresh as a changed command does."""
    import dataclasses
    import json

    first = _sweeper(tmp_path, lambda job, ovr: 0.1, budget=3, num_workers=1, optimizer="RandomSearch")
    first.settings = dataclasses.replace(first.settings, seed=None)

    def killed(overrides, initial_job_idx):
        raise KeyboardInterrupt

    first.launcher.launch = killed
    with pytest.raises(KeyboardInterrupt):
        first.sweep(["x=interval(0, 1)"])
    drawn = json.loads((tmp_path / "sweep_state.json").read_text())["seed"]
    again = _sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=3, num_workers=1, optimizer="RandomSearch")
    again.settings = dataclasses.replace(again.settings, seed=None)
    again.sweep(["x=interval(0, 1)"])
    assert again.run.seed == drawn and [job for job, _ in again.launcher.calls] == [0, 1, 2]


def test_only_errors_before_the_first_launch_are_reported_as_stage_input(tmp_path):
    """A refusal before any trial prints as one compact line; an error raised while trials run (a joblib
    worker that died is a RuntimeError) keeps its traceback."""
    from hydra.errors import CompactHydraException

    from hydra_plugins.genarch_sweeper.genarch_sweeper import NevergradSweeper, SweepInputError

    def public(launch):
        sweeper = NevergradSweeper(budget=2, num_workers=1, optimizer="RandomSearch")
        inner = _sweeper(tmp_path, lambda job, ovr: 0.1, budget=2, num_workers=1, optimizer="RandomSearch")
        sweeper.sweeper.config, sweeper.sweeper.launcher = inner.config, inner.launcher
        if launch is not None:
            sweeper.sweeper.launcher.launch = launch
        return sweeper

    refused = r"^genarch sweeper: x=interval\(0.5, 0.1\): interval needs lower < upper"
    with pytest.raises(SweepInputError, match=refused) as err:
        public(None).sweep(["x=interval(0.5, 0.1)"])
    assert isinstance(err.value, (ValueError, CompactHydraException))

    def worker_died(overrides, initial_job_idx):
        raise RuntimeError("A worker process managed by the executor was unexpectedly terminated")

    with pytest.raises(RuntimeError, match="unexpectedly terminated") as err:
        public(worker_died).sweep(["x=interval(0, 1)"])
    assert not isinstance(err.value, SweepInputError)


@pytest.mark.parametrize("recorded, asked, same", [
    (["x=0.6731363659518963", "y=a"], ["x=0.6731363659518962", "y=a"], True),  # the last bit: another machine
    (["x=0.6731363659518963"], ["x=0.6731"], False),
    (["x=1"], ["z=1.0"], False),
    (["y=a"], ["y=b"], False),
    (["x=1", "y=a"], ["x=1"], False),
    (["n=1000000000"], ["n=1000000001"], False),  # integers: no tolerance
])
def test_a_replayed_job_matches_its_record_to_a_number_equal_to_1e_9_relative(recorded, asked, same):
    from genarch.sweeper.resume import same_job

    assert same_job(recorded, asked) is same


@pytest.mark.parametrize("shift, replays", [(lambda v: math.nextafter(v, 2 * v), True), (lambda v: v * 1.001, False)],
                         ids=["last-bit", "another-point"])
def test_a_sweep_resumed_where_its_log_scale_rounds_otherwise_replays(tmp_path, shift, replays):
    """Session 45: a TFBS sweep resumed on another machine asked lr_scale 0.6731363659518962 where its ledger
    recorded ...63 and was refused as 'replay diverged'. A last-bit difference replays, and the job keeps the
    overrides it ran with; a real difference is still refused."""
    import json

    space = ["x=tag(log, interval(0.03, 10))"]
    _sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=4, num_workers=1).sweep(space)
    ledger = tmp_path / "ledger.jsonl"
    records = [json.loads(line) for line in ledger.read_text().splitlines()]
    for r in records:
        if r.get("job") == 2 and r.get("overrides"):
            r["overrides"] = [f"x={shift(float(o.split('=')[1]))!r}" if o.startswith("x=") else o
                              for o in r["overrides"]]
    recorded = next(r["overrides"] for r in records if r.get("job") == 2 and r.get("overrides"))
    ledger.write_text("".join(json.dumps(r) + "\n" for r in records))
    resumed = _sweeper(tmp_path, lambda job, ovr: 0.1 * job, budget=6, num_workers=1)
    if not replays:
        with pytest.raises(RuntimeError, match="resume replay diverged at job 2"):
            resumed.sweep(space)
        return
    resumed.sweep(space)
    assert [job for job, _ in resumed.launcher.calls] == [4, 5]
    assert next(c for c in resumed.run.history if c.job == 2).overrides == recorded  # not the re-asked value
