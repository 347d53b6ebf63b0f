"""A hyperparameter that acts only when its block is on (``model.rnn.units`` under ``model/rnn=none``,
``model.head.units`` with no hidden layer) is evidence only in the trials where it acted: a next stage
neither fixes nor narrows it from the others, the feature matrix and importances do not see its
inactive values, and a key whose parent the next stage switches off is fixed (no dead dimensions).
The table of conditions is checked against the network builder."""

import math
from pathlib import Path

import numpy as np
import pytest

from genarch.analysis.conditions import ACTIVE_WHEN, acts_for, is_active
from genarch.analysis.features import encode
from genarch.analysis.next_stage import propose
from genarch.analysis.space import stage_from_params
from genarch.analysis.trials import build_table


def _table(rows, values):
    return build_table(rows, values, [True] * len(rows), metric="val_auroc", direction="maximize", source="t")


def _changes(table, stage_params, important, fork=None):
    top = table.score >= 0.90
    proposals = propose(table, top, stage_from_params(stage_params), {}, important=set(important), fork=fork)
    return [{c.key: c for c in p.changes} for p in proposals]


def _rnn_rows(top_rnn="none", top_units=64):
    """8 top trials with ``model/rnn=top_rnn`` all recording ``model.rnn.units=top_units`` (an optimizer
    mutating an incumbent carries an unused value along), and 24 others spread evenly."""
    rows, values = [], []
    for i in range(8):
        rows.append({"model/rnn": top_rnn, "model.rnn.units": top_units, "optimizer.lr_scale": 0.5 + 0.01 * i})
        values.append(0.90 + 0.001 * i)
    for i in range(24):
        rows.append({"model/rnn": ["none", "lstm"][i % 2], "model.rnn.units": [16, 32, 64][i % 3],
                     "optimizer.lr_scale": 0.1 * (1 + i)})
        values.append(0.70 + 0.001 * i)
    return rows, values


RNN_STAGE = {"model/rnn": "choice(none, lstm)", "model.rnn.units": "choice(16, 32, 64)",
             "optimizer.lr_scale": "tag(log, interval(0.1, 3))"}


@pytest.mark.parametrize("top_rnn, fixed", [
    ("none", False),  # none of the top trials had a recurrent layer: no evidence on its units
    ("lstm", True),   # control: 8/8 top LSTMs with 64 units, against 4/12 of the other LSTMs
])
def test_a_child_is_fixed_only_from_trials_where_its_block_was_on(top_rnn, fixed):
    (changes,) = _changes(_table(*_rnn_rows(top_rnn)), RNN_STAGE, important={"model.rnn.units"})
    if fixed:
        assert changes["model.rnn.units"].new == "choice(64)"
        assert "8/8 top trials (100%) vs 12/20 of all trials" in changes["model.rnn.units"].evidence
    else:
        assert "model.rnn.units" not in changes


def test_a_child_interval_is_not_narrowed_from_trials_where_its_block_was_off():
    rng = np.random.default_rng(0)
    rows, values = [], []
    for i in range(10):  # linear head (layers=0): head.units does nothing; the top ones carry ~900
        rows.append({"model.head.layers": 0, "model.head.units": 880 + 5 * i, "optimizer.lr_scale": 0.6})
        values.append(0.90 + 0.001 * i)
    for i in range(30):
        rows.append({"model.head.layers": int(i % 4), "model.head.units": int(10 ** rng.uniform(math.log10(64), 3)),
                     "optimizer.lr_scale": float(10 ** rng.uniform(-1, 0.4))})
        values.append(0.70 + 0.001 * i)
    stage = {"model.head.layers": "range(0, 4)", "model.head.units": "tag(log, int(interval(64, 1024)))",
             "optimizer.lr_scale": "tag(log, interval(0.1, 3))"}
    (changes,) = _changes(_table(rows, values), stage, important={"model.head.units"})
    assert "model.head.units" not in changes or changes["model.head.units"].evidence.startswith("fix")


def test_a_child_whose_parent_the_next_stage_switches_off_is_fixed():
    # the top trials all have no RNN: model/rnn is fixed to none, and its units would be a dead dimension
    rows, values = _rnn_rows("none", 32)
    (changes,) = _changes(_table(rows, values), RNN_STAGE, important={"model/rnn"})
    assert changes["model/rnn"].new == "choice(none)"
    dead = changes["model.rnn.units"]
    assert dead.new == "choice(32)" and "dead dimension" in dead.evidence and "model/rnn=none" in dead.evidence


def test_a_fork_branch_that_switches_the_block_off_fixes_its_children():
    from genarch.analysis.forks import Branch, Fork

    rows, values = _rnn_rows("none", 64)
    table = _table(rows, values)
    top = table.score >= 0.90
    fork = Fork("model/rnn", [Branch("none", {"model/rnn": "none"}), Branch("lstm", {"model/rnn": "lstm"})])
    by_branch = _changes(table, RNN_STAGE, important=set(), fork=fork)
    assert by_branch[0]["model.rnn.units"].new == "choice(64)" and "dead" in by_branch[0]["model.rnn.units"].evidence
    assert "model.rnn.units" not in by_branch[1]  # the LSTM branch keeps sweeping it
    assert top.sum() == 8


def test_inactive_values_do_not_reach_the_feature_matrix():
    rows, values = _rnn_rows()
    other = [dict(r) for r in rows]
    for r in other:  # change only values that had no effect: the units where there is no recurrent layer
        if r["model/rnn"] == "none":
            r["model.rnn.units"] = 16
    a, b = encode(_table(rows, values)), encode(_table(other, values))
    assert a.names == b.names
    np.testing.assert_array_equal(a.X, b.X)
    assert a.active["model.rnn.units"].sum() == 12 and "optimizer.lr_scale" not in a.active


def test_a_permutation_moves_values_only_among_the_trials_where_they_acted():
    enc = encode(_table(*_rnn_rows("lstm", 16)))
    rows = enc.active["model.rnn.units"]
    shuffled = enc.permute_param(enc.X, "model.rnn.units", np.random.default_rng(0), rows)
    col = enc.groups["model.rnn.units"][0]
    np.testing.assert_array_equal(shuffled[~rows, col], enc.X[~rows, col])
    assert sorted(shuffled[rows, col]) == sorted(enc.X[rows, col])


@pytest.mark.parametrize("key, params, expected", [
    ("model.rnn.units", {"model/rnn": "none"}, False),
    ("model.rnn.units", {"model/rnn": "gru"}, True),
    ("model.rnn.units", {}, True),  # parent not recorded: fixed outside the sweep, assume it acts
    ("model.head.units", {"model.head.layers": 0}, False),
    ("model.head.units", {"model.head.layers": 2.0}, True),
    ("model.head.dropout", {"model.head.layers": 0}, True),  # dropout acts without a hidden layer
    ("model.reduction.stride", {"model/reduction": "none"}, False),
    ("model.pooling.hidden", {"model/pooling": "max"}, False),
    ("model.pooling.hidden", {"model/pooling": "attention"}, True),
    ("optimizer.lr_scale", {"model/rnn": "none"}, True),
])
def test_when_a_key_acts(key, params, expected):
    assert is_active(key, params) is expected


# ---------------------------------------------------------------- the table against the builder

CONF = str(Path(__file__).resolve().parents[1] / "genarch" / "conf")
OFF = {"model/rnn": "none", "model/residual": "none", "model/reduction": "none", "model.head.layers": 0,
       "model/pooling": "max"}
ON = {"model/rnn": "lstm", "model/residual": "basic", "model/reduction": "maxpool", "model.head.layers": 1,
      "model/pooling": "attention"}
VALUES = {"model.residual.before": (0, 2), "model.residual.after": (0, 2), "model.reduction.stride": (2, 4),
          "model.rnn.layers": (1, 2), "model.rnn.units": (16, 64), "model.rnn.bidirectional": ("true", "false"),
          "model.rnn.grad_clip": (0, 5), "model.rnn.output": ("sequence", "last"), "model.head.units": (64, 256),
          "model.head.batchnorm": ("true", "false"), "model.pooling.hidden": (16, 32),
          "model.pooling.kernel_size": (1, 3), "model.pooling.out_kernel_size": (1, 3),
          "model.pooling.conv_bias": ("true", "false")}


EXTRA = {"model.rnn.output": ["model/pooling=flatten"]}  # a last state only flattens


def _network(parent, parent_value, child, child_value):
    """What the network computes (its outputs on a fixed input, same initial weights) and its clipping."""
    import torch
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from genarch.model import GenomicNet
    from genarch.training.runner import grad_clip_value

    overrides = [*EXTRA.get(child, []), f"{parent}={parent_value}", f"++{child}={child_value}", "model.stem.filters=8"]
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("config", overrides=["model=search", *overrides])
    model = OmegaConf.to_container(cfg.model, resolve=True)
    torch.manual_seed(0)
    net = GenomicNet(model, 64, 1).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 4, 64, generator=torch.Generator().manual_seed(1)))
    return [round(v, 6) for v in out.flatten().tolist()], grad_clip_value(model)


@pytest.mark.parametrize("child", sorted(ACTIVE_WHEN))
def test_the_conditions_match_the_builder(child):
    """Off, the child's two values give the same network (and the same clipping); on, they differ."""
    parent = ACTIVE_WHEN[child][0]
    a, b = VALUES[child]
    assert not acts_for(child, OFF[parent]) and acts_for(child, ON[parent])
    assert _network(parent, OFF[parent], child, a) == _network(parent, OFF[parent], child, b)
    assert _network(parent, ON[parent], child, a) != _network(parent, ON[parent], child, b)
