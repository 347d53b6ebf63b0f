"""The analysis says no more than its trials show: tied trials fall on one side of the top cut
whatever the ledger order, a seed with no evidence adds no importance, the importance forest's
held-out skill is reported (and a note is written where it has none), ``null`` in a CSV is the
choice null, and bad options or output folders fail clearly instead of writing somewhere else."""

import json

import numpy as np
import pytest

from genarch.analysis.importance import MainEffectImportance, PermutationImportance
from genarch.analysis.pipeline import Options, analyze, compute
from genarch.analysis.top_tree import fit_top_tree
from genarch.analysis.trials import build_table, from_csv

ROWS = [{"opt": o, "bs": b} for o, b in [("adam", 32), ("adam", 64), ("sgd", 32), ("sgd", 64), ("adam", 32),
                                         ("sgd", 64), ("adam", 64), ("sgd", 32), ("adam", 32), ("sgd", 64)]]
VALUES = [0.90, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.80, 0.80]


@pytest.mark.parametrize("order", [list(range(10)), [2, 0, 1, 3, 4, 5, 6, 7, 8, 9], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]])
@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_tied_trials_fall_on_one_side_of_the_top_cut_whatever_the_row_order(order, direction):
    values = VALUES if direction == "maximize" else [1 - v for v in VALUES]
    table = build_table([ROWS[i] for i in order], [values[i] for i in order], [True] * 10, metric="m",
                        direction=direction, source="ties")
    tree = fit_top_tree(table, q=0.2)
    top_jobs = sorted(order[i] for i in range(10) if tree.mask[i])
    assert top_jobs == [0, 1, 2, 3, 4, 5, 6, 7]  # the best trial and all seven tied at the cut
    assert tree.n_top == 8


@pytest.mark.parametrize("values, n_top", [
    ([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0], 2),   # no ties: the documented count
    ([0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 3),   # a tie above the cut is taken whole
    ([0.9, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 1),   # a tie reaching the worst trial: only the better one
])
def test_top_count_with_ties(values, n_top):
    rows = [{"x": float(i)} for i in range(10)]
    tree = fit_top_tree(build_table(rows, values, [True] * 10, metric="m", direction="maximize", source="t"), q=0.2)
    assert int(tree.mask.sum()) == n_top


def _noise_table(n, seed=0, params=3):
    rng = np.random.default_rng(seed)
    rows = [{f"p{j}": float(rng.uniform()) for j in range(params)} for _ in range(n)]
    return build_table(rows, list(rng.normal(size=n)), [True] * n, metric="m", direction="maximize", source="noise")


def _signal_table(n=40, seed=0):
    rng = np.random.default_rng(seed)
    rows = [{"x": float(rng.uniform()), "z": float(rng.uniform())} for _ in range(n)]
    return build_table(rows, [r["x"] + 0.01 * rng.normal() for r in rows], [True] * n, metric="m",
                       direction="maximize", source="signal")


def test_a_seed_without_evidence_adds_nothing_instead_of_equal_shares():
    # 12 trials of pure noise: in some seeds no parameter's permutation lowers the held-out R²
    rows = [row for seed in range(6)
            for row in PermutationImportance(n_estimators=10).evaluate(_noise_table(12, seed), seeds=range(5)).per_seed]
    totals = [sum(row.values()) for row in rows]
    assert all(t == pytest.approx(1.0) or t == 0.0 for t in totals)
    assert 0.0 in totals  # such seeds exist in this set ...
    assert not any(all(v == pytest.approx(1 / 3) for v in row.values()) for row in rows)  # ... and are not 1/3 each


@pytest.mark.parametrize("evaluator", [PermutationImportance(n_estimators=20), MainEffectImportance(n_estimators=20)])
def test_every_evaluator_refuses_an_empty_seed_list(evaluator):
    with pytest.raises(ValueError, match="at least one seed"):
        evaluator.evaluate(_signal_table(), seeds=[])


def test_the_importance_forest_reports_its_held_out_skill(tmp_path):
    signal = PermutationImportance(n_estimators=30).evaluate(_signal_table(), seeds=[0, 1])
    noise = PermutationImportance(n_estimators=30).evaluate(_noise_table(40, seed=1), seeds=[0, 1])
    assert signal.held_out_r2 > 0.8 and noise.held_out_r2 <= 0
    assert signal.to_dict()["held_out_r2"] == signal.held_out_r2
    assert MainEffectImportance(n_estimators=10).evaluate(_signal_table(), seeds=[0]).held_out_r2 is None

    opts = Options(seeds=2, n_estimators=30, plots=False, html=False)
    quiet = compute(_signal_table(), None, tmp_path / "a", opts)
    noisy = compute(_noise_table(40, seed=1), None, tmp_path / "b", opts)
    assert not any("held-out" in note for note in quiet.table.notes)
    assert any("predicts held-out trials no better than their mean" in note for note in noisy.table.notes)


def test_null_in_a_csv_is_the_choice_null_not_a_missing_value(tmp_path):
    n = 12
    drop = [["null", "0.1", "0.5"][i % 3] for i in range(n)]
    act = [["relu", "None"][i % 2] for i in range(n)]
    lr = [["", "0.01"][i % 2] for i in range(n)]  # an empty cell is missing
    value = [{"null": 0.9, "0.1": 0.5, "0.5": 0.6}[d] + 0.01 * i for i, d in enumerate(drop)]
    path = tmp_path / "t.csv"
    rows = "".join(f"{d},{a},{l},{v}\n" for d, a, l, v in zip(drop, act, lr, value))
    path.write_text("dropout,act,lr,value\n" + rows)
    table = from_csv(path, metric="value")
    assert table.kinds == {"dropout": "categorical", "act": "categorical", "lr": "numeric"}
    assert table.originals["dropout"] == {"null": None, "0.1": 0.1, "0.5": 0.5}
    assert table.originals["act"] == {"relu": "relu", "null": None}
    assert set(table.frame["dropout"]) == {"null", "0.1", "0.5"}
    assert "'lr' is missing in 6 trial(s); filled with its median 0.01" in table.notes
    assert not any("'dropout'" in note or "'act'" in note for note in table.notes)


def test_constant_values_are_recorded_in_hydra_spelling(tmp_path):
    rows = [{"x": float(i), "flag": True, "act": None} for i in range(6)]
    table = build_table(rows, [float(i) for i in range(6)], [True] * 6, metric="m", direction="maximize", source="c")
    analysis = analyze(table, None, tmp_path / "out", Options(seeds=1, n_estimators=5, plots=False, html=False))
    assert analysis.to_dict()["constant"] == {"flag": "true", "act": "null"}
    assert json.loads((tmp_path / "out" / "analysis.json").read_text())["constant"] == {"flag": "true", "act": "null"}


@pytest.mark.parametrize("args, message", [
    (["--seeds", "0"], "--seeds must be >= 1"),
    (["--trees", "0"], "--trees must be >= 1"),
    (["--q", "1.5"], "--q must be in (0, 1)"),
])
def test_cli_options_that_cannot_work_are_refused_before_any_work(tmp_path, capsys, args, message):
    from genarch.analysis.cli import main

    assert main([str(tmp_path / "nowhere"), *args]) == 2
    assert message in capsys.readouterr().err


def test_a_custom_out_folder_writes_no_stage_index_elsewhere(tmp_path):
    from genarch.analysis.synthetic import write_sweep
    from genarch.analysis.cli import main

    sweep = write_sweep(tmp_path / "sweeps" / "s1", n=30)
    other = tmp_path / "idx" / "other_sweep" / "analysis"
    other.mkdir(parents=True)
    (other / "report.html").write_text("<html>unrelated</html>")
    assert main([str(sweep), "--out", str(tmp_path / "idx" / "sub" / "stage_out"), "--seeds", "1", "--trees", "5",
                 "--no-plots", "--quiet"]) == 0
    assert (tmp_path / "idx" / "sub" / "stage_out" / "report.html").exists()
    assert not (tmp_path / "idx" / "index.html").exists() and not (tmp_path / "idx" / "sub" / "index.html").exists()
    # the default output is <sweep>/analysis: the sweeps root gets the index of its stages
    assert main([str(sweep), "--seeds", "1", "--trees", "5", "--no-plots", "--quiet"]) == 0
    index = (tmp_path / "sweeps" / "index.html").read_text()
    assert "s1/analysis/report.html" in index
