"""Invariants every importance evaluator must satisfy (parametrized over all of them)."""

import numpy as np
import pytest

from genarch.analysis.importance import EVALUATORS, ImportanceEvaluator
from genarch.analysis.trials import build_table


def make_table(n=60, seed=0, signal=True):
    rng = np.random.default_rng(seed)
    rows, values = [], []
    for _ in range(n):
        row = {"cat": str(rng.choice(["a", "b", "c"])), "x": float(rng.uniform(0, 1)),
               "noise": float(rng.uniform(0, 1)), "flag": bool(rng.integers(2))}
        effect = {"a": 1.0, "b": 0.0, "c": 0.5}[row["cat"]] - 2 * (row["x"] - 0.3) ** 2 if signal else 0.0
        rows.append(row)
        values.append(effect + rng.normal(0, 0.02))
    return build_table(rows, values, [True] * n, metric="m", direction="maximize", source="test")


@pytest.fixture(params=sorted(EVALUATORS), ids=sorted(EVALUATORS))
def evaluator(request) -> ImportanceEvaluator:
    return EVALUATORS[request.param](n_estimators=25)


def test_registered_under_its_name(evaluator):
    assert EVALUATORS[evaluator.name] is type(evaluator)
    assert evaluator.title


def test_covers_every_parameter_non_negative_and_sums_to_one(evaluator):
    table = make_table()
    imp = evaluator.evaluate(table, seeds=[0, 1])
    assert set(imp.mean) == set(table.params) == set(imp.sd)
    assert all(v >= 0 for v in imp.mean.values())
    assert sum(imp.mean.values()) == pytest.approx(1.0)
    for row in imp.per_seed:
        assert sum(row.values()) == pytest.approx(1.0)
    assert all(s >= 0 for s in imp.sd.values())


def test_deterministic_for_the_same_seeds(evaluator):
    table = make_table()
    a, b = evaluator.evaluate(table, seeds=[3]), evaluator.evaluate(table, seeds=[3])
    assert a.mean == b.mean


def test_relevant_parameters_outrank_irrelevant_ones(evaluator):
    imp = evaluator.evaluate(make_table(), seeds=[0, 1])
    assert set(imp.ranking()[:2]) == {"cat", "x"}
    assert imp.mean["noise"] < 0.1 and imp.mean["flag"] < 0.1


def test_invariant_to_metric_scale_and_sign(evaluator):
    table = make_table()
    flipped = make_table()
    flipped.frame["score"] = -3.0 * flipped.frame["score"] + 7.0
    a, b = evaluator.evaluate(table, seeds=[0]), evaluator.evaluate(flipped, seeds=[0])
    assert a.ranking()[:2] == b.ranking()[:2]


def test_single_parameter_gets_everything(evaluator):
    rng = np.random.default_rng(1)
    rows = [{"x": float(v)} for v in rng.uniform(0, 1, 30)]
    table = build_table(rows, [r["x"] ** 2 for r in rows], [True] * 30, metric="m", direction="minimize", source="t")
    imp = evaluator.evaluate(table, seeds=[0])
    assert imp.mean == {"x": pytest.approx(1.0)}


def test_the_old_fanova_name_is_a_deprecated_alias_of_the_main_effect_share():
    """It is a partial-dependence main-effect share, not Hutter et al.'s fANOVA: named for what it is."""
    import genarch.analysis.importance as importance

    assert "fanova" not in importance.EVALUATORS and "main_effect" in importance.EVALUATORS
    with pytest.warns(DeprecationWarning, match="not fANOVA"):
        assert importance.FanovaImportance is importance.MainEffectImportance
