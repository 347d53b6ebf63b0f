"""The real-trial selection check of the search-efficiency experiment
(experiments/efficiency/selection_noise.py): handed-over models, test-scored trials-to-reach, the
AUROC standard error."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm, rankdata

ROOT = Path(__file__).resolve().parents[1]
from experiments.efficiency import selection_noise as sn  # noqa: E402

from genarch.ledger import Trial  # noqa: E402


def _trial(job, val, test=None, status="ok"):
    metrics = {} if test is None else {"test": {"auroc": test}, "val": {"auroc": val}}
    return Trial(job=job, status=status, params={}, value=val if status == "ok" else None, metrics=metrics)


@pytest.mark.parametrize("auc, n_pos, n_neg", [(0.78, 112, 112), (0.79, 500, 500), (0.65, 60, 90)])
def test_hanley_mcneil_se_matches_the_spread_of_simulated_aurocs(auc, n_pos, n_neg):
    # binormal scores with unit variances: AUROC = Phi(d / sqrt(2))
    rng = np.random.default_rng(0)
    d = np.sqrt(2) * norm.ppf(auc)
    pos, neg = rng.normal(d, 1, (500, n_pos)), rng.normal(0, 1, (500, n_neg))
    ranks = rankdata(np.concatenate([pos, neg], axis=1), axis=1)[:, :n_pos]
    aucs = (ranks.sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert aucs.mean() == pytest.approx(auc, abs=0.01)
    assert sn.hanley_mcneil_se(auc, n_pos, n_neg) == pytest.approx(aucs.std(), rel=0.15)


def test_hanley_mcneil_se_shrinks_with_the_set():
    assert sn.hanley_mcneil_se(0.78, 500, 500) < sn.hanley_mcneil_se(0.78, 112, 112) / 2


@pytest.mark.parametrize("trials, budget, expected", [
    ([_trial(0, 0.7, 0.72), _trial(1, 0.8, 0.75)], 2, [(0.7, 0.72), (0.8, 0.75)]),
    # a failed trial is no score; a finished trial with no test score keeps its val (it may be the one
    # handed over, as the efficiency tables take it); the budget cuts the run
    ([_trial(0, None, status="failed"), _trial(1, 0.8), _trial(2, 0.9, 0.9)], 2, [(None, None), (0.8, None)]),
])
def test_scores(trials, budget, expected):
    assert sn.scores(trials, budget) == expected


@pytest.mark.parametrize("run, expected", [
    ([(0.7, 0.9), (0.8, 0.6), (None, None)], (2, 0.8, 0.6)),     # the best val, whatever its test score
    ([(0.8, 0.6), (0.8, 0.7)], (1, 0.8, 0.6)),                   # a tie: the first one found
    ([(None, None)], None),
])
def test_handed_over(run, expected):
    assert sn.handed_over(run) == expected


def test_seed_row_scores_trials_to_reach_by_test():
    flat = [(0.7, 0.70), (0.9, 0.72), (0.6, 0.80)]       # flat hands over trial 2; its best test sample is trial 3
    staged = [(0.8, 0.81), (0.95, 0.74), (0.5, 0.5)]
    row = sn.seed_row(staged, flat)
    assert row["flat_handed_over"] == {"trial": 2, "val": 0.9, "test": 0.72}
    assert row["staged_handed_over"] == {"trial": 2, "val": 0.95, "test": 0.74}
    assert row["flat_best_test_sampled"] == 0.80
    assert row["by_test_trials_to_reach"] == {"staged_random": 1, "flat": 3}
    assert sn.seed_row([(0.9, 0.5)] * 3, flat)["by_test_trials_to_reach"]["staged_random"] is None


def test_analyse_pairs_finished_seeds_only(monkeypatch):
    runs = {  # seed -> method -> [(val, test)]; seed 2's staged run is short of the budget
        ("staged_random", 0): [(0.8, 0.8), (0.7, 0.7)], ("flat", 0): [(0.6, 0.6), (0.7, 0.65)],
        ("staged_random", 1): [(0.9, 0.7), (0.5, 0.5)], ("flat", 1): [(0.8, 0.75), (0.6, 0.6)],
        ("staged_random", 2): [(0.9, 0.9)], ("flat", 2): [(0.5, 0.5), (0.5, 0.5)],
    }
    monkeypatch.setattr(sn.eff, "trials_of", lambda m, sd: [_trial(j, v, t) for j, (v, t) in enumerate(runs[(m, sd)])])
    out = sn.analyse([0, 1, 2], budget=2)
    assert out["seeds"] == [0, 1]
    # val: higher on both seeds; test: higher on seed 0 (0.8 vs 0.65), lower on seed 1 (0.7 vs 0.75)
    assert out["handed_over_val_vs_flat"]["higher"] == 2
    assert (out["handed_over_test_vs_flat"]["higher"], out["handed_over_test_vs_flat"]["lower"]) == (1, 1)
    assert out["by_test"]["median_trials_to_reach"] == {"staged_random": pytest.approx(2.0), "flat": pytest.approx(1.5)}
    assert "handed over" in sn.markdown(out, "cmd")


def test_analyse_needs_two_finished_seeds(monkeypatch):
    monkeypatch.setattr(sn.eff, "trials_of", lambda m, sd: [_trial(0, 0.5, 0.5)])
    with pytest.raises(SystemExit, match="fewer than two seeds"):
        sn.analyse([0, 1], budget=2)


def test_the_val_standard_error_is_for_the_runs_val_size(monkeypatch):
    runs = {("staged_random", 0): [(0.8, 0.8)], ("flat", 0): [(0.7, 0.7)],
            ("staged_random", 1): [(0.8, 0.8)], ("flat", 1): [(0.7, 0.7)]}
    monkeypatch.setattr(sn.eff, "trials_of", lambda m, sd: [_trial(j, v, t) for j, (v, t) in enumerate(runs[(m, sd)])])
    small = sn.analyse([0, 1], budget=1)["auroc_standard_error"]
    large = sn.analyse([0, 1], 1, n_val=1000)["auroc_standard_error"]
    assert list(small)[0] == "val (112 + 112)" and list(large)[0] == "val (500 + 500)"
    assert large["val (500 + 500)"] == pytest.approx(large["test (500 + 500)"])   # same size, same AUROC mean here


def test_val_size_reads_result_json_and_names_the_folder_when_none(tmp_path, monkeypatch):
    monkeypatch.setattr(sn.eff, "method_root", lambda m: tmp_path / m)
    sdir = tmp_path / "flat" / "seed3"
    monkeypatch.setattr(sn.eff, "ledger_trials",
                        lambda d: [Trial(job=0, status="ok", params={}, value=0.7, dir="0")] if d == sdir else [])
    with pytest.raises(SystemExit, match="no result.json with extra.n_val under .*flat"):
        sn.val_size([3])
    (sdir / "0").mkdir(parents=True)
    (sdir / "0" / "result.json").write_text(json.dumps({"extra": {"n_val": 1000, "n_train": 2000}}))
    assert sn.val_size([2, 3]) == 1000


def test_the_handed_over_model_is_the_best_val_trial_even_without_a_test_score():
    run = sn.scores([_trial(0, 0.7, 0.72), _trial(1, 0.8), _trial(2, 0.75, 0.74)], 3)
    assert sn.handed_over(run) == (2, 0.8, None)  # the efficiency tables' final best is this trial too
    assert sn.ranking_quality([run])["trials"] == 2  # only trials with both scores rank val against test
