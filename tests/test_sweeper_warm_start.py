"""Warm-starting a sweep from earlier stages (``hydra.sweeper.warm_start``): which earlier trials are
points of the new space, that the optimizer is told them and trains none again, refusals, resume."""

import pytest
import yaml

from genarch.ledger import load_trials
from genarch.sweeper.config import SweeperSettings
from genarch.sweeper.params import spec_contains

from test_sweeper_toy import sequence, toy

CHOICE = {"kind": "choice", "values": [None, "exp", 0, 1e-3, True], "ordered": False}
SCALAR = {"kind": "scalar", "lower": 0.03, "upper": 10.0, "log": True, "integer": False}
INTEGER = {"kind": "scalar", "lower": 64, "upper": 1024, "log": True, "integer": True}


@pytest.mark.parametrize("spec, value, inside", [
    (CHOICE, None, True),
    (CHOICE, "exp", True),
    (CHOICE, "null", False),          # the string is not null
    (CHOICE, 0, True),
    (CHOICE, 0.001, True),
    (CHOICE, 1, False),
    (CHOICE, True, True),
    (CHOICE, "true", False),
    (SCALAR, 0.03, True),
    (SCALAR, 10.0, True),
    (SCALAR, 10.5, False),
    (SCALAR, 0.01, False),
    (SCALAR, "5", False),
    (SCALAR, True, False),
    (SCALAR, float("nan"), False),
    (INTEGER, 828, True),
    (INTEGER, 828.5, False),
    (INTEGER, 1025, False),
    ({"kind": "constant", "value": "lstm"}, "lstm", True),
    ({"kind": "constant", "value": "lstm"}, "gru", False),
])
def test_spec_contains(spec, value, inside):
    assert spec_contains(spec, value) is inside


@pytest.mark.parametrize("value", ["multirun/stage1", [""], [3]])
def test_settings_refuse_a_warm_start_that_is_not_a_list_of_paths(value):
    with pytest.raises(ValueError, match="warm_start"):
        SweeperSettings(warm_start=value)


def earlier(tmp_path):
    """Stage 1: 20 random trials over x, y in {2, 3, 4}, c in {a, b}."""
    sweep = tmp_path / "stage1"
    toy(sweep, "x=interval(0,1)", "y=choice(2,3,4)", "c=choice(a,b)", "hydra.sweeper.optimizer=RandomSearch",
        "hydra.sweeper.budget=20")
    return sweep, load_trials(sweep)


def results(sweep):
    return yaml.safe_load((sweep / "optimization_results.yaml").read_text())


def test_trials_inside_the_narrowed_space_are_told_and_not_trained_again(tmp_path):
    stage1, trials = earlier(tmp_path)
    narrowed = ["x=interval(0,1)", "y=choice(2,3)", "c=a", "hydra.sweeper.budget=6"]
    warm, cold = tmp_path / "warm", tmp_path / "cold"
    toy(warm, *narrowed, f"hydra.sweeper.warm_start=[{stage1}]")
    toy(cold, *narrowed)
    inside = [t for t in trials if t.params["y"] in (2, 3) and t.params["c"] == "a"]
    assert 0 < len(inside) < len(trials)
    assert results(warm)["warm_start"] == {str(stage1.resolve()): {"finished": 20, "inside": len(inside)}}
    assert results(cold)["warm_start"] is None
    assert len(load_trials(warm)) == 6 == results(warm)["n_trials"]      # told trials cost no budget
    trained_before = {(t.params["x"], t.params["y"]) for t in inside}
    assert not trained_before & {(p["x"], p["y"]) for p in sequence(warm)}
    assert sequence(warm) != sequence(cold)                              # the optimizer was told them


def test_a_key_fixed_earlier_and_swept_now_takes_its_fixed_value(tmp_path):
    fixed = tmp_path / "fixed"
    toy(fixed, "x=interval(0,1)", "y=choice(2,3)", "c=b", "hydra.sweeper.optimizer=RandomSearch",
        "hydra.sweeper.budget=8")
    widened = tmp_path / "widened"
    toy(widened, "x=interval(0,1)", "y=choice(2,3)", "c=choice(a,b)", "hydra.sweeper.budget=2",
        f"hydra.sweeper.warm_start=[{fixed}]")
    assert results(widened)["warm_start"][str(fixed.resolve())] == {"finished": 8, "inside": 8}
    other = tmp_path / "other"  # c fixed to another value: none of them is a point of this space
    toy(other, "x=interval(0,1)", "y=choice(2,3)", "c=a", "hydra.sweeper.budget=2",
        f"hydra.sweeper.warm_start=[{fixed}]")
    assert results(other)["warm_start"][str(fixed.resolve())]["inside"] == 0


def _edit_config_file(stage1):
    """As if stage 1 had run with another config file (not another override): fail_if_c: z there."""
    text = (stage1 / "multirun.yaml").read_text()
    (stage1 / "multirun.yaml").write_text(text.replace("fail_if_c: null", "fail_if_c: z", 1))


@pytest.mark.parametrize("extra, edit, message", [
    (["hydra.sweeper.warm_start=[{missing}]"], None, "hydra.sweeper.warm_start[0]={missing}: no ledger.jsonl"),
    (["hydra.sweeper.warm_start=[{stage1}]"], _edit_config_file, "fail_if_c: was 'z', now None"),
    (["hydra.sweeper.warm_start=[{sweep}]"], None, "this sweep's own directory"),
])
def test_a_bad_warm_start_is_refused_before_anything_is_written(tmp_path, extra, edit, message):
    stage1, _ = earlier(tmp_path)
    if edit:
        edit(stage1)
    sweep, missing = tmp_path / "next", tmp_path / "nowhere"
    fill = dict(missing=missing, stage1=stage1, sweep=sweep)
    proc = toy(sweep, "x=interval(0,1)", "hydra.sweeper.budget=2", *[e.format(**fill) for e in extra], check=False)
    assert proc.returncode != 0
    assert message.format(**fill) in proc.stdout + proc.stderr
    assert not (sweep / "sweep_state.json").exists() and not (sweep / "ledger.jsonl").exists()


def test_an_override_the_earlier_trials_lacked_leaves_them_out(tmp_path):
    stage1, _ = earlier(tmp_path)
    sweep = tmp_path / "slower"
    toy(sweep, "x=interval(0,1)", "sleep=0.001", "hydra.sweeper.budget=2", f"hydra.sweeper.warm_start=[{stage1}]")
    assert results(sweep)["warm_start"][str(stage1.resolve())] == {"finished": 20, "inside": 0}


def test_a_warm_started_sweep_resumes_and_refuses_another_warm_start(tmp_path):
    stage1, _ = earlier(tmp_path)
    sweep = tmp_path / "stage2"
    command = ["x=interval(0,1)", "y=choice(2,3)", "hydra.sweeper.budget=4", f"hydra.sweeper.warm_start=[{stage1}]"]
    toy(sweep, *command)
    before = (sweep / "ledger.jsonl").read_text()
    toy(sweep, *command)                                                  # finished: replayed, nothing re-run
    assert (sweep / "ledger.jsonl").read_text() == before
    proc = toy(sweep, *command[:-1], check=False)
    assert proc.returncode != 0 and "warm_start: was" in proc.stdout + proc.stderr


@pytest.mark.parametrize("text, spec", [
    ("tag(log, interval(0.03, 10))", SCALAR),
    ("int(tag(log, interval(64, 1024)))", INTEGER),
])
@pytest.mark.parametrize("value", [0.03, 10.0, 10.0 + 1e-12, 10.5, 0.01, 64, 828, 828.5, 1024, 1025, "5", True,
                                   float("nan"), float("inf")])
def test_the_sweeper_and_the_analysis_agree_on_an_interval(text, spec, value):
    """A pooled earlier trial (analysis) and a warm-start trial (sweeper) are inside the same intervals."""
    from genarch.space import parse_domain

    assert parse_domain("k", text).contains(value) is spec_contains(spec, value)


def test_a_trial_that_differs_only_in_a_key_whose_block_was_off_is_told(tmp_path):
    """model.head.units acts only with model.head.layers > 0 (genarch.analysis.conditions): a next stage that
    fixes the units still takes the earlier trials without a hidden layer, whatever units they recorded."""
    stage1 = tmp_path / "stage1"
    toy(stage1, "x=interval(0,1)", "+model.head.layers=choice(0,1)", "+model.head.units=choice(8,16)",
        "hydra.sweeper.optimizer=RandomSearch", "hydra.sweeper.budget=16")
    trials = load_trials(stage1)
    expected = [t for t in trials if t.params["model.head.layers"] == 0 or t.params["model.head.units"] == 16]
    assert 0 < len(expected) < len(trials)
    assert any(t.params["model.head.layers"] == 0 and t.params["model.head.units"] == 8 for t in trials)
    sweep = tmp_path / "stage2"
    toy(sweep, "x=interval(0,1)", "+model.head.layers=choice(0,1)", "+model.head.units=choice(16)",
        "hydra.sweeper.budget=2", f"hydra.sweeper.warm_start=[{stage1}]")
    assert results(sweep)["warm_start"][str(stage1.resolve())] == {"finished": 16, "inside": len(expected)}


@pytest.mark.parametrize("now, inside", [
    (["c=choice(a,b)"], 8),      # c was not set: it ran with the config's a, a point of this space
    (["c=choice(b,c)"], 0),      # ... which is not a point of this one
    (["c=a"], 8),                # fixed here to the value it ran with
    (["c=b"], 0),
])
def test_a_key_the_earlier_sweep_did_not_set_counts_with_its_config_value(tmp_path, now, inside):
    """tfbs_mf_4 sweeps the attention's score net (model.pooling.*), which tfbs_mf_3 left at the config's values:
    those trials ran with them, so they are points of the new space where those values are."""
    stage1 = tmp_path / "stage1"
    toy(stage1, "x=interval(0,1)", "y=choice(2,3)", "~hydra.sweeper.params.c", "hydra.sweeper.budget=8",
        "hydra.sweeper.optimizer=RandomSearch")
    assert all("c" not in t.params and not any(o.startswith("c=") for o in t.overrides) for t in load_trials(stage1))
    sweep = tmp_path / "next"
    toy(sweep, "x=interval(0,1)", "y=choice(2,3)", *now, "hydra.sweeper.budget=2",
        f"hydra.sweeper.warm_start=[{stage1}]")
    assert results(sweep)["warm_start"][str(stage1.resolve())] == {"finished": 8, "inside": inside}



@pytest.mark.parametrize("pooling, hidden, inside", [
    ("attention", None, True),   # ran the config's score net, width 32: a point of the new space
    ("attention", 16, False),    # recorded another width: not one
    ("attention", "~", False),   # its overrides deleted the key: not the config's value, whatever it read as
    ("max", None, True),         # no attention: the width it never had changes nothing
])
def test_a_key_new_to_the_space_counts_with_the_config_value_or_as_dead_in_another_group(pooling, hidden, inside):
    """The earlier sweep swept model/pooling but not the attention's width, and its config chose attention with
    width 32 (tfbs_mf_3 -> tfbs_mf_4). Its trials with attention ran width 32; those with max pooling never had it."""
    import nevergrad as ng
    from omegaconf import OmegaConf

    from genarch.ledger import Trial
    from genarch.sweeper.params import spec_from_yaml, to_nevergrad
    from genarch.sweeper.run import SweepRun
    from genarch.sweeper.warm_start import _warm_candidate

    specs = {s.name: s for s in (spec_from_yaml("model/pooling", "choice(max, attention)"),
                                 spec_from_yaml("++model.pooling.hidden", "choice(32, 64)"))}
    run = SweepRun(None, specs, [], None, 0, {}, None, False)
    parametrization = ng.p.Dict(**{name: to_nevergrad(s.spec) for name, s in specs.items()})
    earlier = OmegaConf.create({"model": {"pooling": {"kind": "attention", "hidden": 32}},
                                "hydra": {"runtime": {"choices": {"model/pooling": "attention"}}}})
    params = {"model/pooling": pooling, **({"model.pooling.hidden": hidden} if hidden not in (None, "~") else {})}
    overrides = [f"{key}={value}" for key, value in params.items()]
    overrides += ["~model.pooling.hidden"] if hidden == "~" else []
    trial = Trial(job=0, status="ok", params=params, record={"overrides": overrides})
    c = _warm_candidate(run, parametrization, trial, None, earlier)
    assert (c is not None) is inside
    if inside:
        assert c.params == {"model/pooling": pooling, "model.pooling.hidden": 32}


@pytest.mark.parametrize("absent, now, inside", [
    ({"model.strands": "forward"}, "choice(forward, both)", True),   # ran before the option: read one strand
    ({"model.strands": "forward"}, "choice(both)", False),           # ... which this space no longer holds
    ({}, "choice(forward, both)", False),                            # a task that says nothing of the key
])
def test_a_key_the_earlier_config_lacked_counts_with_the_value_its_absence_means(absent, now, inside):
    """model.strands came after tfbs_mf_4 ran: its configs lack the key, and a network without it reads the given
    strand only (genarch.task_rules.GenarchTaskRules.absent_values), so its trials are the space's forward points."""
    import nevergrad as ng
    from omegaconf import OmegaConf

    from genarch.ledger import Trial
    from genarch.sweeper.params import spec_from_yaml, to_nevergrad
    from genarch.sweeper.run import SweepRun
    from genarch.sweeper.warm_start import _warm_candidate

    specs = {s.name: s for s in (spec_from_yaml("model.head.units", "choice(8, 16)"),
                                 spec_from_yaml("++model.strands", now))}
    run = SweepRun(None, specs, [], None, 0, {}, None, False)
    parametrization = ng.p.Dict(**{name: to_nevergrad(s.spec) for name, s in specs.items()})
    earlier = OmegaConf.create({"model": {"head": {"units": 8}}})
    trial = Trial(job=0, status="ok", params={"model.head.units": 16}, record={"overrides": ["model.head.units=16"]})
    c = _warm_candidate(run, parametrization, trial, None, earlier, absent)
    assert (c is not None) is inside
    if inside:
        assert c.params == {"model.head.units": 16, "model.strands": "forward"}


def test_genarch_says_what_a_missing_strands_key_means():
    from genarch.task_rules import GenarchTaskRules

    assert GenarchTaskRules().absent_values() == {"model.strands": "forward"}
