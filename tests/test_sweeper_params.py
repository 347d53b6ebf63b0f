"""Parsing of every parameter form into nevergrad parameters, override formatting, search-space merge."""

import math

import nevergrad as ng
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from genarch.sweeper.config import SweeperSettings
from genarch.space import format_value
from genarch.sweeper.params import INTEGER_CELL, render, spec_from_override, spec_from_yaml, to_nevergrad
from genarch.sweeper.resume import differences

# (override text as typed on the command line or in a stage file, expected spec)
TABLE = [
    ("model/rnn=choice(none, lstm)", {"kind": "choice", "values": ["none", "lstm"], "ordered": False}),
    ("model.stem.filters=choice(8, 16, 32, 64)", {"kind": "choice", "values": [8, 16, 32, 64], "ordered": False}),
    ("model.stem.filters=8,16,32", {"kind": "choice", "values": [8, 16, 32], "ordered": False}),
    ("model.stem.batchnorm=choice(true, false)", {"kind": "choice", "values": [True, False], "ordered": False}),
    ("optimizer.l2=choice(0, 1e-3, 1e-4)", {"kind": "choice", "values": [0, 1e-3, 1e-4], "ordered": False}),
    ("model.stem.convs_before=range(1, 6)", {"kind": "choice", "values": [1, 2, 3, 4, 5], "ordered": False}),
    ("model.head.layers=range(0, 4, 2)", {"kind": "choice", "values": [0, 2], "ordered": False}),
    ("trainer.batch_size=tag(ordered, choice(25, 50, 125))",
     {"kind": "choice", "values": [25, 50, 125], "ordered": True}),
    ("model.head.dropout=interval(0, 0.6)",
     {"kind": "scalar", "lower": 0.0, "upper": 0.6, "log": False, "integer": False}),
    ("optimizer.lr_scale=tag(log, interval(0.03, 10))",
     {"kind": "scalar", "lower": 0.03, "upper": 10.0, "log": True, "integer": False}),
    ("model.head.units=int(interval(64, 1024))",
     {"kind": "scalar", "lower": 64, "upper": 1024, "log": False, "integer": True}),
    ("model.head.units=tag(log, int(interval(64, 1024)))",
     {"kind": "scalar", "lower": 64, "upper": 1024, "log": True, "integer": True}),
    ("+extra.key=choice(a, b)", {"kind": "choice", "values": ["a", "b"], "ordered": False}),
    ("model.stem.filters=32", {"kind": "constant", "value": 32}),
]


@pytest.mark.parametrize("text,expected", TABLE, ids=[t for t, _ in TABLE])
def test_override_to_spec_and_nevergrad(text, expected):
    spec = spec_from_override(OverridesParser.create().parse_override(text))
    assert spec.spec == expected
    assert spec.prefix == ("+" if text.startswith("+") else "")
    param = to_nevergrad(spec.spec)
    if expected["kind"] == "constant":
        assert param == expected["value"]
        return
    if expected["kind"] == "choice":
        assert type(param) is (ng.p.TransitionChoice if expected["ordered"] else ng.p.Choice)
        assert list(param.choices.value) == expected["values"]
        return
    assert isinstance(param, ng.p.Log if expected["log"] else ng.p.Scalar)
    low, high = param.bounds
    reach = INTEGER_CELL if expected["integer"] else 0.0  # an integer draw spans its end integers' rounding cells
    assert float(low[0]) == pytest.approx(expected["lower"] - reach)
    assert float(high[0]) == pytest.approx(expected["upper"] + reach)
    param.random_state.seed(0)
    samples = [param.spawn_child().set_standardized_data([z]).value for z in (-3.0, -0.5, 0.0, 0.7, 3.0)]
    tol = 1e-9 * max(1.0, abs(expected["upper"]))
    assert all(expected["lower"] - tol <= s <= expected["upper"] + tol for s in samples)
    assert min(samples) == pytest.approx(expected["lower"], abs=1e-9)
    assert max(samples) == pytest.approx(expected["upper"])
    assert all(isinstance(s, int) for s in samples) == expected["integer"]
    if expected["log"]:  # the middle of a log interval is the geometric mean
        mid = param.spawn_child().set_standardized_data([0.0]).value
        assert mid == pytest.approx(math.sqrt(expected["lower"] * expected["upper"]), rel=0.02)


def _share(lower: float, upper: float, log: bool) -> float:
    return (math.log(upper / lower) if log else upper - lower)


# (integer interval, expected share of each integer among random draws): every integer gets the share
# of its rounding cell [k - 0.5, k + 0.5] (on a log interval, measured on the log scale), the two end
# integers included; before, the ends got half a cell each (1/6, 1/3, 1/3, 1/6 for 1..4)
EVEN_TABLE = [
    ("int(interval(1, 4))", {k: 0.25 for k in (1, 2, 3, 4)}),
    ("int(interval(0, 2))", {k: 1 / 3 for k in (0, 1, 2)}),
    ("tag(log, int(interval(1, 4)))",
     {k: _share(k - 0.5, k + 0.5, True) / _share(0.5, 4.5, True) for k in (1, 2, 3, 4)}),
]


@pytest.mark.parametrize("text,expected", EVEN_TABLE, ids=[t for t, _ in EVEN_TABLE])
def test_integer_interval_draws_each_integer_by_its_whole_cell(text, expected):
    spec = spec_from_override(OverridesParser.create().parse_override(f"model.x={text}"))
    optimizer = ng.optimizers.RandomSearch(parametrization=ng.p.Dict(x=to_nevergrad(spec.spec)), budget=3000)
    optimizer.parametrization.random_state.seed(0)
    draws = [optimizer.ask().value["x"] for _ in range(3000)]
    assert set(draws) == set(expected)  # never past the bounds
    for k, share in expected.items():  # binomial sd at 3,000 draws is below 0.008
        assert draws.count(k) / len(draws) == pytest.approx(share, abs=0.03), k


YAML_TABLE = [
    ("model/rnn", "choice(none, lstm)", {"kind": "choice", "values": ["none", "lstm"], "ordered": False}),
    ("model.stem.first_activation", [None, "exp"], {"kind": "choice", "values": [None, "exp"], "ordered": False}),
    ("model.stem.filters", [8, 16], {"kind": "choice", "values": [8, 16], "ordered": False}),
    ("optimizer.lr_scale", {"lower": 0.1, "upper": 2, "log": True},
     {"kind": "scalar", "lower": 0.1, "upper": 2.0, "log": True, "integer": False}),
    ("model.head.units", {"lower": 64, "upper": 512, "integer": True},
     {"kind": "scalar", "lower": 64, "upper": 512, "log": False, "integer": True}),
    ("trainer.batch_size", 125, {"kind": "constant", "value": 125}),
    ("model.stem.filters", "8,16", {"kind": "choice", "values": [8, 16], "ordered": False}),
]


@pytest.mark.parametrize("key,value,expected", YAML_TABLE)
def test_stage_yaml_entry_to_spec(key, value, expected):
    spec = spec_from_yaml(key, value)
    assert spec.name == key and spec.spec == expected
    to_nevergrad(spec.spec)


@pytest.mark.parametrize("bad", ["a=interval(1, 1)", "a=tag(log, interval(0, 1))", "a=shuffle(1, 2)", "a=choice(1, 1)"])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        spec_from_override(OverridesParser.create().parse_override(bad))


@pytest.mark.parametrize("value", [0, 32, -1, 0.1, 1e-5, 0.15140073874018178, 1e300, True, False, None, "none",
                                   "lstm", "very_leaky_relu", "3", "1e-3", "true", "Null", "a b", "it's", [1, 2],
                                   {"a": 1}, float("inf")])
def test_format_value_round_trips_through_hydra(value):
    parsed = OverridesParser.create().parse_override(f"key={format_value(value)}").value()
    assert parsed == value and type(parsed) is type(value)


def test_command_line_overrides_the_stage_params():
    from genarch.sweeper._impl import NevergradSweeperImpl

    settings = SweeperSettings(params={"model/rnn": "choice(none, lstm)", "model.stem.filters": "choice(8, 16)",
                                       "trainer.batch_size": 50})
    specs, fixed = NevergradSweeperImpl(settings).search_space(
        ["model.stem.filters=choice(32, 64)", "model/rnn=gru", "dataset.n=400", "+stage='3'",
         "optimizer.lr_scale=tag(log, interval(0.1, 1))"])
    assert list(specs) == ["model.stem.filters", "optimizer.lr_scale"]
    assert specs["model.stem.filters"].spec["values"] == [32, 64]           # the command line's sweep wins
    assert "model/rnn=gru" in fixed and "model/rnn" not in specs            # a fixed value removes the sweep
    assert fixed[:4] == ["model/rnn=gru", "dataset.n=400", "+stage='3'"] + ["trainer.batch_size=50"]


def test_settings_are_checked():
    with pytest.raises(ValueError, match="registry"):
        SweeperSettings(optimizer="NoSuchOptimizer")
    with pytest.raises(ValueError, match="direction"):
        SweeperSettings(direction="up")
    assert SweeperSettings(optimizer="TwoPointsDE").optimizer == "TwoPointsDE"


def test_resume_differences_name_what_changed():
    base = {"optimizer": "NGOpt", "seed": 0, "num_workers": 2, "fixed": ["dataset.n=400"],
            "params": {"a": {"kind": "choice", "values": [1, 2], "ordered": False},
                       "b": {"kind": "scalar", "lower": 0.1, "upper": 1.0, "log": True, "integer": False}}}
    assert differences(base, dict(base)) == []
    changed = {**base, "seed": 1, "params": {"a": {"kind": "choice", "values": [1, 2, 3], "ordered": False},
                                             "c": {"kind": "choice", "values": ["x"], "ordered": False}}}
    diffs = "\n".join(differences(base, changed))
    assert "seed: was 0, now 1" in diffs
    assert "parameter a: was choice(1, 2), now choice(1, 2, 3)" in diffs
    assert "parameter b removed (was tag(log, interval(0.1, 1.0)))" in diffs
    assert "parameter c added (choice(x))" in diffs
    assert render({"kind": "scalar", "lower": 64, "upper": 1024, "log": True, "integer": True}) == \
        "tag(log, int(interval(64, 1024)))"


def test_ngopt_on_a_continuous_space_does_not_hang_under_numpy_2():
    # NGOpt picks a MetaModel optimizer here; without genarch.sweeper._compat its surrogate step
    # raises inside a nevergrad thread under numpy 2 and the process cannot exit (hence the subprocess)
    import subprocess
    import sys

    code = """
import genarch.sweeper._impl  # applies the shim
import nevergrad as ng
p = ng.p.Dict(x=ng.p.Scalar(lower=-3, upper=3), y=ng.p.Scalar(lower=0, upper=50))
p.random_state.seed(0)
opt = ng.optimizers.registry["NGOpt"](p, budget=200, num_workers=1)
for _ in range(60):
    c = opt.ask()
    opt.tell(c, c.value["x"] ** 2 + c.value["y"])
print("ok", type(opt.optim).__name__)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("ok"), proc.stderr[-2000:]


@pytest.mark.parametrize("value", ["back\\slash", "C:\\data\\x", "ends\\", "a\\'b", "\\\\'", "'", "\\", "a\\\\b"])
def test_backslashes_reach_the_trial_as_written(value):
    parsed = OverridesParser.create().parse_override(f"key={format_value(value)}").value()
    assert parsed == value


@pytest.mark.parametrize("key, value, message", [
    ("model.x", "interval(0, 1", r"hydra.sweeper.params.model.x: cannot read 'interval\(0, 1' as a Hydra sweep"),
    ("model.x", "tag(lgo, interval(0.03, 10))", r"tag\(s\) \['lgo'\] mean nothing for a interval sweep"),
    ("model.x", "tag(log, range(1, 100))", r"tag\(s\) \['log'\] mean nothing for a range sweep"),
    ("model.x", "tag(log, choice(1, 10, 100))", r"tag\(s\) \['log'\] mean nothing for a choice sweep"),
])
def test_a_stage_parameter_that_cannot_be_read_names_its_key(key, value, message):
    from genarch.sweeper.params import spec_from_yaml

    with pytest.raises(ValueError, match=message):
        spec_from_yaml(key, value)


@pytest.mark.parametrize("text, message", [
    ("model.stem.filters=range(1, 5, 0)", r"model.stem.filters=range\(1, 5, 0\): range\(\) arg 3 must not be zero"),
    ("model.stem.filters=choice(8,16),32",
     r"model.stem.filters=choice\(8,16\),32: a sweep cannot be one of the values"),
])
def test_a_sweep_python_cannot_expand_names_the_override(text, message):
    """Before: a bare ValueError from range() and a TypeError from formatting a ChoiceSweep, without the key."""
    with pytest.raises(ValueError, match=message):
        spec_from_override(OverridesParser.create().parse_override(text))


@pytest.mark.parametrize("value, message", [
    ({"lower": 64, "upper": 1024, "integer": "false"}, r"model.head.units.integer: must be true or false, got 'false'"),
    ({"lower": 0.1, "upper": 10, "log": "no"}, r"model.head.units.log: must be true or false, got 'no'"),
    ({"lower": 0.1, "upper": 10, "log": 1}, r"model.head.units.log: must be true or false, got 1"),
])
def test_a_bounds_mapping_flag_must_be_a_boolean(value, message):
    """Before: bool('false') made the interval an integer one without a word."""
    with pytest.raises(ValueError, match=message):
        spec_from_yaml("model.head.units", value)
