"""The search-efficiency experiment's pieces: stage budgets and the surrogate's features
(experiments/efficiency/)."""

import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_module

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
sys.path.insert(0, str(ROOT / "experiments" / "efficiency"))
import efficiency  # noqa: E402
import surrogate  # noqa: E402

from genarch.training.runner import hparams_of  # noqa: E402


@pytest.mark.parametrize("budget, size, expected", [
    (150, 25, [25, 25, 25, 25, 25, 25]),
    (50, 20, [20, 30]),          # the last stage takes what is left
    (10, 25, [10]),              # a budget below one stage is one stage
    (60, 60, [60]),
])
def test_stage_budgets(budget, size, expected):
    got = efficiency.stage_budgets(budget, size)
    assert got == expected and sum(got) == budget


def _hparams(*overrides):
    with initialize_config_module(version_base="1.3", config_module="genarch.conf"):
        return hparams_of(compose("config", overrides=["model=search", *overrides]))


@pytest.mark.parametrize("overrides, inactive, active", [
    (["model/rnn=none"], ["model.rnn.units", "model.rnn.layers", "model.rnn.grad_clip"], []),
    (["model/rnn=lstm", "model.rnn.units=32"], [], ["model.rnn.units"]),
    (["model/residual=none"], ["model.residual.before", "model.residual.after"], []),
    (["model/reduction=none"], ["model.reduction.stride"], ["model.stem.convs_after"]),
    (["model/reduction=maxpool", "model.reduction.stride=4"], [], ["model.reduction.stride"]),
    (["model.head.layers=0"], ["model.head.units", "model.head.dropout"], []),
    (["model.head.layers=2"], [], ["model.head.units"]),
])
def test_encode_composed_configs(overrides, inactive, active):
    row = surrogate.encode(_hparams(*overrides))
    assert set(row) == set(surrogate.CATEGORICAL) | set(surrogate.NUMERIC)
    for key in inactive:
        assert row[key] == surrogate.INACTIVE, key
    for key in active:
        assert row[key] != surrogate.INACTIVE, key


def test_encode_names_missing_keys():
    with pytest.raises(KeyError, match="model.rnn.kind"):
        surrogate.encode({"model.activation": "relu"})


def test_design_fixed_categories_and_unseen_values():
    rows = [surrogate.encode(_hparams("model/rnn=none")), surrogate.encode(_hparams("model/rnn=lstm"))]
    X, names, categories = surrogate.design(rows)
    assert X.shape == (2, len(names)) and categories["model.rnn.kind"] == ["lstm", "none"]
    unseen = surrogate.encode(_hparams("model/rnn=gru"))
    X2, names2, _ = surrogate.design([unseen], categories)
    assert names2 == names
    rnn_cols = [i for i, n in enumerate(names) if n.startswith("model.rnn.kind=")]
    assert X2[0, rnn_cols].sum() == 0      # an unseen category is all zeros, not a new column


def test_forest_learns_a_planted_effect():
    """Scores that depend only on the RNN kind: the fitted forest ranks configurations the same way."""
    kinds = {"none": 0.8, "lstm": 0.6, "gru": 0.5}
    rows = [surrogate.encode(_hparams(f"model/rnn={k}", f"model.stem.filters={f}"))
            for k in kinds for f in (8, 16, 32, 64)]
    y = np.array([kinds[r["model.rnn.kind"]] for r in rows])
    X, _, categories = surrogate.design(rows)
    forest = surrogate.new_forest().fit(X, y)
    probe = {k: float(forest.predict(surrogate.design([surrogate.encode(_hparams(f"model/rnn={k}"))], categories)[0])[0])
             for k in kinds}
    assert probe["none"] > probe["lstm"] > probe["gru"]
