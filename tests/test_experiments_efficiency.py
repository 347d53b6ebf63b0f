"""The search-efficiency experiment's pieces: stage budgets and the surrogate's features
(experiments/efficiency/)."""

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_module

ROOT = Path(__file__).resolve().parents[1]
from experiments.efficiency import efficiency, surrogate  # noqa: E402

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
    probe = {k: float(forest.predict(surrogate.design([surrogate.encode(_hparams(f"model/rnn={k}"))],
                                                      categories)[0])[0])
             for k in kinds}
    assert probe["none"] > probe["lstm"] > probe["gru"]


# ---- experiments/efficiency/headroom.py: the census of the space and its stage model ----
from experiments.efficiency import headroom  # noqa: E402

from genarch.analysis.space import parse_params  # noqa: E402
from genarch.sweeper.params import format_value  # noqa: E402


@pytest.mark.parametrize("ps, sizes, expected", [
    ([0.5], [10], 1),                 # one trial already reaches with probability 1/2
    ([0.0, 1.0], [5, 5], 6),          # nothing in stage 1, certain in stage 2
    ([0.0], [10], None),              # never within the budget
    ([0.1], [20], 7),                 # 1 - 0.9**7 = 0.52 >= 1/2 > 1 - 0.9**6 = 0.47
    ([0.01, 0.2], [25, 25], 27),      # 0.99**25 * 0.8**2 = 0.498 <= 1/2 < 0.99**25 * 0.8 = 0.62
])
def test_predicted_median(ps, sizes, expected):
    assert headroom.predicted_median(ps, sizes) == expected


@pytest.mark.parametrize("p0, size1, by", [(0.004, 25, 35.8), (0.0, 25, 40), (0.01, 25, 107)])
def test_needed_stage2_chance_is_the_threshold(p0, size1, by):
    need = headroom.needed_stage2_chance(p0, size1, by)
    assert headroom.predicted_median([p0, need * 1.001], [size1, 200]) <= by
    assert headroom.predicted_median([p0, need * 0.99], [size1, 200]) > by


def test_needed_stage2_chance_edges():
    assert headroom.needed_stage2_chance(0.5, 25, 35) == 0.0      # stage 1 alone reaches in median
    assert headroom.needed_stage2_chance(0.01, 25, 25.5) is None   # the bound falls inside stage 1


def test_census_draws_like_random_search():
    census = headroom.Census(headroom.space_specs(), 40000, seed=1)
    filters = census.codes["model.stem.filters"]
    assert np.allclose(np.bincount(filters) / census.n, 0.25, atol=0.01)          # a choice: uniform
    lr = np.log10(census.values["optimizer.lr_scale"])                             # a log interval: uniform in log
    assert lr.min() >= np.log10(0.03) and lr.max() <= 1 and abs(np.median(lr) - np.log10(np.sqrt(0.3))) < 0.03
    units = census.values["model.head.units"]                                      # a log integer interval
    assert np.all(units == np.round(units)) and units.min() >= 64 and units.max() <= 1024
    first = {census.config(i)["model.stem.first_activation"] for i in range(50)}
    assert first == {None, "exp"}                                                  # null stays a value


@pytest.mark.parametrize("params, check", [
    ({"model.stem.batchnorm": "choice(true)"}, lambda c: c["model.stem.batchnorm"] is True),
    ({"model.stem.first_activation": "null"}, lambda c: c["model.stem.first_activation"] is None),
    ({"model.stem.filters": "choice(32, 64)", "model/rnn": "choice(none)"},
     lambda c: c["model.stem.filters"] in (32, 64) and c["model/rnn"] == "none"),
    ({"optimizer.lr_scale": "tag(log, interval(0.1, 0.5))"}, lambda c: 0.1 <= c["optimizer.lr_scale"] <= 0.5),
    ({"model.head.dropout": "0.2"}, None),   # a scalar fixed by the stage: (almost) no sample hits it exactly
])
def test_census_mask_is_the_stage_space(params, check):
    census = headroom.Census(headroom.space_specs(), 5000, seed=2)
    mask = census.mask(parse_params(params))
    if check is None:
        assert mask.sum() == 0
        return
    inside = [census.config(i) for i in np.flatnonzero(mask)]
    outside = [census.config(i) for i in np.flatnonzero(~mask)[:500]]
    assert inside and all(check(c) for c in inside) and not any(check(c) for c in outside)


def test_census_mask_names_an_unknown_parameter():
    census = headroom.Census(headroom.space_specs(), 10, seed=0)
    with pytest.raises(KeyError, match="model.stem.kind"):
        census.mask(parse_params({"model.stem.kind": "choice(conv)"}))


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_census_config_composes_to_the_same_features(index):
    """A census configuration, passed to Hydra as the sweeper would pass it, resolves to the
    hyperparameters the census scores (the override -> hyperparameter map of headroom.py)."""
    census = headroom.Census(headroom.space_specs(), 4, seed=3)
    config = census.config(index)
    composed = _hparams(*(f"{k}={format_value(v)}" for k, v in config.items()))
    assert surrogate.encode(headroom.to_hparams(config)) == surrogate.encode(composed)


def test_oracle_finds_a_planted_cut():
    census = headroom.Census(headroom.space_specs(), 20000, seed=4)
    census.scores = np.where((census.codes["model.stem.filters"] == 3) & (census.values["optimizer.lr_scale"] < 0.1),
                             1.0, 0.0)   # the target lies only at filters=64, lr_scale < 0.1
    ps, cuts = headroom.oracle(census, 1.0, [25, 25, 25], per_stage=1, min_samples=100)
    assert sorted(cuts) == ["model.stem.filters=64", "optimizer.lr_scale in [0.03, 0.128]"]   # lowest log quarter
    # after both cuts: P(lr_scale < 0.1 | lr_scale in [0.03, 0.128]) = log(0.1/0.03) / log(0.128/0.03) = 0.83
    assert ps[0] < ps[1] < ps[2] and abs(ps[2] - 0.83) < 0.05


@pytest.mark.parametrize("staged, flat, low, high, share", [
    ({0: 10, 1: 20, 2: 30}, {0: 40, 1: 80, 2: 120}, 0.25, 0.25, 1.0),      # a quarter on every seed
    ({0: 50, 1: 50, 2: 50}, {0: 50, 1: 50, 2: 50}, 1.0, 1.0, 0.0),         # the same on every seed
    ({0: None, 1: None}, {0: 151, 1: 151}, 1.0, 1.0, 0.0),                 # unreached = budget + 1 = 151
])
def test_bootstrap_median_ratio_degenerate_cases(staged, flat, low, high, share):
    iv = efficiency.bootstrap_median_ratio(staged, flat, censored=151, resamples=500)
    assert iv["p05"] == pytest.approx(low) and iv["p95"] == pytest.approx(high)
    assert iv["share_at_most_a_third"] == pytest.approx(share)


def test_bootstrap_median_ratio_brackets_the_observed_ratio_and_is_reproducible():
    staged = {0: 47, 1: 58, 2: 24, 3: 26, 4: None, 5: 44, 6: None, 7: 80}
    flat = {0: 138, 1: 80, 2: 23, 3: 96, 4: 95, 5: 19, 6: 25, 7: 136}
    iv = efficiency.bootstrap_median_ratio(staged, flat, censored=151)
    observed = np.median([151 if v is None else v for v in staged.values()]) / np.median(list(flat.values()))
    assert iv["p05"] < observed < iv["p95"]
    assert iv == efficiency.bootstrap_median_ratio(staged, flat, censored=151)
    assert iv["seeds"] == 8 and 0 < iv["share_at_most_a_third"] < 1


def test_bootstrap_median_ratio_needs_two_paired_seeds():
    # seed 1 has no finished flat run: only seed 0 pairs up, too few to resample
    assert efficiency.bootstrap_median_ratio({0: 10, 1: 20}, {0: 30}, censored=151) is None


@pytest.mark.parametrize("ours, flat, budget, expected", [
    # ends higher on all 3 seeds: the smallest two-sided p three pairs allow, 2 * 1/8
    ({0: [0.9], 1: [0.8], 2: [0.7]}, {0: [0.5], 1: [0.5], 2: [0.5]}, 1,
     {"seeds": 3, "higher": 3, "lower": 0, "level": 0, "mean_difference": 0.3, "sign_test_p": 0.25,
      "wilcoxon_p": 0.25}),
    # a level seed counts as a seed but not in either test
    ({0: [0.5], 1: [0.6]}, {0: [0.5], 1: [0.5]}, 1,
     {"seeds": 2, "higher": 1, "lower": 0, "level": 1, "mean_difference": 0.05, "sign_test_p": 1.0, "wilcoxon_p": 1.0}),
    # failed trials (None) are not scores; a run short of the budget (seed 2) is not paired; nor a seed flat lacks (3)
    ({0: [None, 0.7], 1: [0.4, None], 2: [0.9], 3: [0.9, 0.9]}, {0: [0.6, 0.6], 1: [0.5, 0.5], 2: [0.1, 0.1]}, 2,
     {"seeds": 2, "higher": 1, "lower": 1, "level": 0, "mean_difference": 0.0, "sign_test_p": 1.0, "wilcoxon_p": 1.0}),
])
def test_final_best_vs_flat(ours, flat, budget, expected):
    got = efficiency.final_best_vs_flat(ours, flat, budget)
    assert got == pytest.approx(expected)


def test_final_best_vs_flat_sign_test_on_16_of_24():
    ours = {sd: [0.8 if sd < 16 else 0.7] for sd in range(24)}
    compared = efficiency.final_best_vs_flat(ours, {sd: [0.75] for sd in range(24)}, 1)
    assert compared["sign_test_p"] == pytest.approx(0.1516, abs=1e-4)


def test_final_best_vs_flat_needs_two_paired_seeds():
    assert efficiency.final_best_vs_flat({0: [0.9], 1: [0.9]}, {0: [0.5]}, 1) is None


def test_a_sweep_that_cannot_run_stops_the_experiment_naming_its_log(tmp_path, monkeypatch):
    # e.g. torch not installed: the sweep exits at import; the run must stop, not read it as a stage of failed trials
    class Done:
        returncode = 1

    monkeypatch.setattr(efficiency.subprocess, "run", lambda *a, **k: Done())
    sdir = tmp_path / "stage1"
    with pytest.raises(SystemExit, match=r"exited with 1; see .*stage1\.log"):
        efficiency.sweep(sdir, "eff_tfbs", budget=5, seed=0, extra=[], searchpath=[])


def _prior_args(tmp_path, monkeypatch, prior_path):
    monkeypatch.setattr(efficiency, "BASE", tmp_path / "runs" / "st")
    monkeypatch.setattr(efficiency, "FLAT_BASE", tmp_path / "runs" / "flat")
    monkeypatch.setattr(efficiency, "RESULTS", tmp_path / "results")
    (tmp_path / "results").mkdir(exist_ok=True)
    return argparse.Namespace(budget=4, stage_size=2, seeds=[0, 1], methods=["staged_random", "flat"],
                              prior=str(prior_path), out="t", task="surrogate")


def _prior(tmp_path, **changes):
    prior = {"task": "surrogate of ARID3A K562 trials", "budget": 4, "stage_budgets": [2, 2],
             "stage_file": "experiments/efficiency/conf/stage/eff_tfbs.yaml",
             "curves": {"flat": {"0": [0.5, 0.7, 0.6, 0.8], "1": [0.9, 0.5, 0.5, 0.5], "2": [0.1, 0.2, 0.3, 0.4]},
                        "staged_random": {"0": [0.6, 0.8, 0.8, 0.8], "1": [0.5, 0.6, 0.7, 0.8]}},
             "staged_suggestions": {"staged_random": {"0": ["after stage 1: fix a"], "1": []}}, **changes}
    path = tmp_path / "prior.json"
    path.write_text(json.dumps(prior))
    return path


def test_prior_results_stand_in_for_missing_run_folders(tmp_path, monkeypatch):
    # a fresh checkout has no run folders: the seeds on the command line come from the prior JSON
    args = _prior_args(tmp_path, monkeypatch, _prior(tmp_path))
    out = efficiency.aggregate(args)
    assert out["trials_to_reach_flat_best"] == {"staged_random": {0: 2, 1: None}, "flat": {0: 4, 1: 1}}
    assert out["from_prior"]["seeds"] == {"staged_random": [0, 1], "flat": [0, 1]}   # seed 2 not asked for
    assert out["staged_suggestions"] == {"staged_random": {"0": ["after stage 1: fix a"], "1": []}}
    md = (tmp_path / "results" / "t.md").read_text()
    assert "--prior" in out["command"] and "Read from" in md
    # seed 0 ends level (0.8 / 0.8), seed 1 lower (0.8 / 0.9)
    assert out["final_best_vs_flat"]["staged_random"] == pytest.approx(
        {"seeds": 2, "higher": 0, "lower": 1, "level": 1, "mean_difference": -0.05, "sign_test_p": 1.0,
         "wilcoxon_p": 1.0})
    assert "higher on 0 of 2 seeds, lower on 1, level on 1" in md


def test_a_run_folder_here_wins_over_the_prior(tmp_path, monkeypatch):
    args = _prior_args(tmp_path, monkeypatch, _prior(tmp_path))
    monkeypatch.setattr(efficiency, "values_of", lambda m, seed: [0.1, 0.95, 0.2, 0.3] if m == "flat" else [])
    (tmp_path / "runs" / "flat" / "flat" / "seed1").mkdir(parents=True)
    out = efficiency.aggregate(args)
    assert out["curves"]["flat"][1] == [0.1, 0.95, 0.2, 0.3]
    assert out["from_prior"]["seeds"]["flat"] == [0]


@pytest.mark.parametrize("changes, key", [
    ({"budget": 150}, "'budget'"),
    ({"stage_budgets": [1, 3]}, "'stage_budgets'"),
    ({"stage_file": "other.yaml"}, "'stage_file'"),
    ({"task": "real trials: ARID3A K562"}, "task"),
])
def test_a_prior_of_another_protocol_is_refused_naming_the_key(tmp_path, monkeypatch, changes, key):
    args = _prior_args(tmp_path, monkeypatch, _prior(tmp_path, **changes))
    with pytest.raises(SystemExit, match=f"--prior .*prior.json: its {key}"):
        efficiency.aggregate(args)


def test_an_unreadable_prior_is_named(tmp_path, monkeypatch):
    bad = tmp_path / "prior.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit, match="--prior .*prior.json: cannot read it"):
        efficiency.aggregate(_prior_args(tmp_path, monkeypatch, bad))


# ---- --set: a protocol variant (e.g. a larger val set) with its own run folders and table ----

@pytest.mark.parametrize("sets, expected", [
    ([], ""),
    (["dataset.val_fraction=0.333"], "_dataset.val_fraction-0.333"),
    (["trainer.max_epochs=8", "dataset.max_train=4000"], "_trainer.max_epochs-8_dataset.max_train-4000"),
    (["model.x=[1,2]"], "_model.x--1-2-"),
])
def test_variant_suffix(sets, expected):
    assert efficiency.variant_suffix(sets) == expected


def _variant_args(**kw):
    return argparse.Namespace(**{"task": "real", "budget": 150, "stage_size": 25,
                                 "set": ["dataset.val_fraction=0.333"], **kw})


def test_a_variant_sweeps_with_its_overrides_into_its_own_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(efficiency, "BASE", None)
    monkeypatch.setattr(efficiency, "FLAT_BASE", None)
    monkeypatch.setattr(efficiency, "SETS", [])
    monkeypatch.setattr(efficiency, "TASK", "surrogate")
    efficiency.set_base(_variant_args())
    assert efficiency.method_root("flat").parent.name == "real_b150_dataset.val_fraction-0.333"
    assert efficiency.method_root("staged_random").parent.name == "real_b150_st25_dataset.val_fraction-0.333"
    seen = []

    class Done:
        returncode = 0

    monkeypatch.setattr(efficiency.subprocess, "run", lambda cmd, **k: seen.append(cmd) or Done())
    efficiency.sweep(tmp_path / "seed0", "eff_tfbs", budget=5, seed=0, extra=["hydra.sweeper.optimizer=RandomSearch"],
                     searchpath=[])
    cmd = seen[0]
    assert "dataset.val_fraction=0.333" in cmd and cmd[-1] == "-m"
    assert cmd.index("dataset.val_fraction=0.333") < cmd.index("hydra.sweeper.optimizer=RandomSearch")
    assert efficiency.protocol(_variant_args())["overrides"] == ["dataset.val_fraction=0.333"]
    assert "overrides" not in efficiency.protocol(_variant_args(set=None))


@pytest.mark.parametrize("bad", ["hydra.sweeper.budget=3", "stage=eff_tfbs", "+stage=x", "dataset.val_fraction"])
def test_a_set_the_script_owns_or_without_a_value_is_refused(bad, monkeypatch):
    monkeypatch.setattr(efficiency, "SETS", [])
    monkeypatch.setattr(efficiency, "TASK", "surrogate")
    monkeypatch.setattr(efficiency, "BASE", efficiency.BASE)
    monkeypatch.setattr(efficiency, "FLAT_BASE", efficiency.FLAT_BASE)
    with pytest.raises(SystemExit, match=f"--set '{re.escape(bad)}'"):
        efficiency.set_base(_variant_args(set=[bad]))


def test_a_plain_prior_is_refused_by_a_variant(tmp_path, monkeypatch):
    args = _prior_args(tmp_path, monkeypatch, _prior(tmp_path))
    args.set = ["dataset.val_fraction=0.333"]
    with pytest.raises(SystemExit, match="its 'overrides' is None"):
        efficiency.aggregate(args)


@pytest.mark.parametrize("method, optimizer, warm", [
    ("staged_warm", None, True),              # the stage file's NGOpt, told the earlier stages
    ("staged", None, False),
    ("staged_random", "hydra.sweeper.optimizer=RandomSearch", False),
])
def test_each_stage_of_a_warm_run_is_told_every_earlier_stage(tmp_path, monkeypatch, method, optimizer, warm):
    monkeypatch.setattr(efficiency, "BASE", tmp_path)
    calls = []
    monkeypatch.setattr(efficiency, "sweep",
                        lambda sdir, stage, budget, seed, extra, searchpath: calls.append((sdir, extra)))
    monkeypatch.setattr(efficiency, "analyse_stage", lambda argv: 2)  # the analysis; no suggestion is written
    efficiency.run_staged(argparse.Namespace(budget=75, stage_size=25), 3, method)
    assert [sdir.name for sdir, _ in calls] == ["stage1", "stage2", "stage3"]
    root = tmp_path / method / "seed3"
    for i, (_, extra) in enumerate(calls):
        told = [e for e in extra if e.startswith("hydra.sweeper.warm_start=")]
        assert ([optimizer] if optimizer else []) == [e for e in extra if e.startswith("hydra.sweeper.optimizer=")]
        if warm and i:
            assert told == ["hydra.sweeper.warm_start=["
                            + ",".join(repr(str(root / f"stage{j + 1}")) for j in range(i)) + "]"]
        else:
            assert told == []


def test_between_methods_pairs_the_seeds_both_finished():
    curves = {"a": {0: [0.5, 0.7, 0.8], 1: [0.6, 0.6, 0.6], 2: [0.9, 0.9, 0.9]},
              "b": {0: [0.9, 0.9, 0.9], 1: [0.5, 0.5, 0.5], 3: [0.1, 0.1, 0.1]}}
    reach = {"a": {0: 3, 1: None, 2: 1}, "b": {0: 1, 1: None, 3: 2}}   # seeds 0 and 1 are shared
    c = efficiency.between_methods(curves, reach, "a", "b", budget=3)
    # seed 1: neither reached flat's best, which is not "as many trials"
    assert c["seeds"] == 2
    assert (c["reached_sooner"], c["reached_later"], c["reached_same"], c["neither_reached"]) == (1, 0, 0, 1)
    same = efficiency.between_methods(curves, {"a": {0: 2, 1: None}, "b": {0: 2, 1: 3}}, "a", "b", budget=3)
    assert (same["reached_sooner"], same["reached_same"], same["neither_reached"]) == (1, 1, 0)
    assert c["final_best"]["higher"] == 1 and c["final_best"]["lower"] == 1
    assert c["final_best"]["mean_difference"] == pytest.approx(((0.9 - 0.8) + (0.5 - 0.6)) / 2)
    assert efficiency.between_methods(curves, {"a": {0: 3}, "b": {0: 1}}, "a", "b", budget=3) is None


def test_mean_by_stage_averages_each_window_over_the_seeds():
    curves = {0: [0.5, None, 0.7, 0.9, 0.1], 1: [0.7, 0.6, 0.8, 0.6, 0.3], 2: [0.0] * 5}
    assert efficiency.mean_by_stage(curves, [2, 3], [0, 1]) == pytest.approx(
        [0.6, (0.7 + 0.9 + 0.1 + 0.8 + 0.6 + 0.3) / 6])
    assert efficiency.mean_by_stage({0: [None, None, 0.4]}, [2, 1], [0]) == [None, pytest.approx(0.4)]


@pytest.mark.parametrize("method, flat, expected", [
    # every seed complete for both: the plain ratio of medians
    ({0: 2, 1: 4, 2: None}, {0: 4, 1: 8, 2: 2}, 4 / 4),
    # flat has a seed the method has not finished: both medians over the shared seeds only
    ({0: 2, 1: 2, 2: 2}, {0: 2, 1: 4, 2: 6, 3: 6}, 2 / 4),
    ({}, {0: 3}, None),
])
def test_the_headline_ratio_takes_both_medians_over_the_same_seeds(method, flat, expected):
    ratio = efficiency.paired_median_ratio(method, flat, censored=7)
    assert ratio == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize("prior_sets, run_sets", [
    (["dataset.val_fraction=0.333"], None),     # a plain run must not read the variant's seeds
    (None, ["dataset.val_fraction=0.333"]),     # nor the variant the plain run's
    (["dataset.val_fraction=0.333"], ["dataset.val_fraction=0.5"]),
])
def test_a_prior_of_another_protocol_is_refused_both_ways(tmp_path, monkeypatch, prior_sets, run_sets):
    monkeypatch.setattr(efficiency, "TASK", "real")
    prior = {"task": "real trials", **efficiency.protocol(_variant_args(set=prior_sets))}
    path = tmp_path / "prior.json"
    path.write_text(json.dumps(prior))
    with pytest.raises(SystemExit, match="'overrides'"):
        efficiency.load_prior(str(path), _variant_args(set=run_sets))
    same = tmp_path / "same.json"
    same.write_text(json.dumps({"task": "real trials", **efficiency.protocol(_variant_args(set=run_sets))}))
    assert efficiency.load_prior(str(same), _variant_args(set=run_sets))["task"] == "real trials"


# ---- --rerun: the staged methods again (e.g. after an analysis change), against the same flat searches ----

def test_a_rerun_has_its_own_folders(monkeypatch):
    monkeypatch.setattr(efficiency, "SETS", [])
    monkeypatch.setattr(efficiency, "RERUN", None)
    monkeypatch.setattr(efficiency, "TASK", "surrogate")
    monkeypatch.setattr(efficiency, "BASE", efficiency.BASE)
    monkeypatch.setattr(efficiency, "FLAT_BASE", efficiency.FLAT_BASE)
    efficiency.set_base(_variant_args(rerun="s21"))
    assert efficiency.method_root("staged_random").parent.name == "real_b150_st25_dataset.val_fraction-0.333_rerun-s21"
    assert efficiency.method_root("flat").parent.name == "real_b150_dataset.val_fraction-0.333_rerun-s21"
    assert efficiency.protocol(_variant_args(rerun="s21"))["rerun"] == "s21"
    with pytest.raises(SystemExit, match="--rerun 'a/b'"):
        efficiency.set_base(_variant_args(rerun="a/b"))


def _rerun_args(tmp_path, monkeypatch, prior_path):
    args = _prior_args(tmp_path, monkeypatch, prior_path)
    args.rerun = "new"
    monkeypatch.setattr(efficiency, "values_of",
                        lambda m, seed: {0: [0.6, 0.8, 0.9, 0.9], 1: [0.55, 0.6, 0.95, 0.95]}[seed])
    monkeypatch.setattr(efficiency, "_suggestions_of",
                        lambda m, seeds: {"0": ["after stage 1: fix a"], "1": ["after stage 1: fix b"]})
    for seed in (0, 1):
        (tmp_path / "runs" / "st" / "staged_random" / f"seed{seed}").mkdir(parents=True)
    return args


def test_a_rerun_takes_flat_from_the_prior_and_compares_its_staged_seeds(tmp_path, monkeypatch):
    out = efficiency.aggregate(_rerun_args(tmp_path, monkeypatch, _prior(tmp_path)))
    assert out["rerun"] == "new" and out["from_prior"]["seeds"] == {"flat": [0, 1]}
    # flat targets 0.8 (seed 0) and 0.9 (seed 1); the re-run reaches them at 2 and 3, the original at 2 and never
    assert out["trials_to_reach_flat_best"]["staged_random"] == {0: 2, 1: 3}
    c = out["before_rerun"]["staged_random"]
    assert c["trials_to_reach_before"] == {0: 2, 1: None} and c["trials_to_reach_after"] == {0: 2, 1: 3}
    assert (c["first_stage_trials"], c["first_stage_trials_equal"]) == (4, 3)
    assert c["first_stage_max_abs_difference"] == pytest.approx(0.05)
    assert c["same_changes_every_stage"] == 1  # seed 0 applied "fix a" both times; seed 1 had no change before
    # before: the original staged against the original flat (reached at 4 and 1); after: against this table's flat
    assert c["over_flat_median_ratio_before"] == pytest.approx(((2 + 5) / 2) / 2.5)
    assert c["over_flat_median_ratio_after"] == pytest.approx(2.5 / 2.5)
    # 0.9/0.8, 0.95/0.8
    assert (c["final_best"]["higher"], c["final_best"]["lower"], c["final_best"]["level"]) == (2, 0, 0)
    assert out["rerun_seeds"] == {"staged_random": [0, 1], "flat": []} and "flat" not in out["before_rerun"]
    md = (tmp_path / "results" / "t.md").read_text()
    assert "re-run `new` against the run it re-runs" in md and "--rerun new" in out["command"]


def test_a_prior_of_the_same_rerun_stands_in_for_its_staged_seeds(tmp_path, monkeypatch):
    args = _prior_args(tmp_path, monkeypatch, _prior(tmp_path, rerun="new"))
    args.rerun = "new"
    out = efficiency.aggregate(args)
    assert out["from_prior"]["seeds"] == {"staged_random": [0, 1], "flat": [0, 1]} and "before_rerun" not in out


@pytest.mark.parametrize("rerun", [None, "other"])
def test_a_reruns_results_are_no_prior_for_a_plain_run_or_another_rerun(tmp_path, monkeypatch, rerun):
    # its flat seeds may be re-trained ones: a plain run (or another re-run) must not mix them in
    args = _prior_args(tmp_path, monkeypatch, _prior(tmp_path, rerun="new"))
    args.rerun = rerun
    with pytest.raises(SystemExit, match="holds the results of re-run 'new': give it with --rerun new"):
        efficiency.aggregate(args)


def test_a_rerun_names_its_results_after_its_tag(tmp_path, monkeypatch):
    args = _rerun_args(tmp_path, monkeypatch, _prior(tmp_path))
    args.out = None
    efficiency.aggregate(args)
    assert (tmp_path / "results" / "efficiency_st2_rerun-new.json").exists()


def test_a_reruns_own_results_rebuild_its_comparison_without_run_folders(tmp_path, monkeypatch):
    from_folders = efficiency._suggestions_of
    first = efficiency.aggregate(_rerun_args(tmp_path, monkeypatch, _prior(tmp_path)))
    monkeypatch.setattr(efficiency, "_suggestions_of", from_folders)  # the rebuild has no folders to read them from
    assert first["rerun_of"]["curves"]["staged_random"] == {"0": [0.6, 0.8, 0.8, 0.8], "1": [0.5, 0.6, 0.7, 0.8]}
    own = tmp_path / "rerun.json"
    own.write_text((tmp_path / "results" / "t.json").read_text())
    for seed in (0, 1):  # a fresh checkout: no run folders of the re-run
        (tmp_path / "runs" / "st" / "staged_random" / f"seed{seed}").rmdir()
    args = _prior_args(tmp_path, monkeypatch, own)
    args.rerun = "new"
    again = efficiency.aggregate(args)
    assert again["trials_to_reach_flat_best"] == first["trials_to_reach_flat_best"]
    assert again["before_rerun"]["staged_random"]["trials_to_reach_before"] == {0: 2, 1: None}
    assert again["rerun_of"] == first["rerun_of"] and again["rerun_seeds"] == first["rerun_seeds"]
    assert again["before_rerun"] == first["before_rerun"] and again["staged_suggestions"] == first["staged_suggestions"]


def test_a_rerun_with_no_staged_seeds_is_refused_instead_of_writing_flat_alone(tmp_path, monkeypatch):
    args = _prior_args(tmp_path, monkeypatch, _prior(tmp_path))   # the original's JSON, no re-run folders
    args.rerun = "new"
    with pytest.raises(SystemExit, match="--rerun new: no seeds of staged_random"):
        efficiency.aggregate(args)
    assert not (tmp_path / "results" / "t.json").exists()


def _main(monkeypatch, tmp_path, *argv):
    ran = []
    monkeypatch.setattr(efficiency, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(efficiency, "run_staged", lambda args, seed, m: ran.append((m, seed)))
    monkeypatch.setattr(efficiency, "run_flat", lambda args, seed, m: ran.append((m, seed)))
    monkeypatch.setattr(efficiency, "aggregate", lambda args: None)
    for name in ("BASE", "FLAT_BASE", "SETS", "RERUN", "TASK"):
        monkeypatch.setattr(efficiency, name, getattr(efficiency, name))
    monkeypatch.setattr(sys, "argv", ["efficiency.py", "--budget", "4", "--stage-size", "2", *argv])
    efficiency.main()
    return ran


def test_seeds_the_prior_holds_are_not_trained_again(tmp_path, monkeypatch):
    prior = _prior(tmp_path)   # flat seeds 0-2 and staged_random seeds 0-1, all with the full budget
    ran = _main(monkeypatch, tmp_path, "--methods", "staged_random", "flat", "--seeds", "0", "1", "2", "3",
                "--prior", str(prior))
    assert ran == [("staged_random", 2), ("staged_random", 3), ("flat", 3)]
    (tmp_path / "runs" / "efficiency" / "surrogate_b4" / "flat" / "seed0").mkdir(parents=True)  # a folder here resumes
    ran = _main(monkeypatch, tmp_path, "--methods", "flat", "--seeds", "0", "--prior", str(prior))
    assert ran == [("flat", 0)]


def test_a_rerun_trains_every_method_it_names_into_its_own_folders(tmp_path, monkeypatch):
    prior = _prior(tmp_path)
    ran = _main(monkeypatch, tmp_path, "--rerun", "x", "--methods", "staged_random", "flat", "--seeds", "0",
                "--prior", str(prior))
    assert ran == [("staged_random", 0), ("flat", 0)]   # though the prior holds both
    assert efficiency.method_root("flat").parent.name == "surrogate_b4_rerun-x"
    assert _main(monkeypatch, tmp_path, "--rerun", "x", "--methods", "staged_random",
                 "--seeds", "0") == [("staged_random", 0)]


def test_a_rerun_of_flat_is_compared_with_the_original_flat(tmp_path, monkeypatch):
    args = _rerun_args(tmp_path, monkeypatch, _prior(tmp_path))
    new = {("flat", 0): [0.5, 0.7, 0.6, 0.85], ("flat", 1): [0.5, 0.9, 0.5, 0.5],
           ("staged_random", 0): [0.6, 0.8, 0.9, 0.9], ("staged_random", 1): [0.55, 0.6, 0.95, 0.95]}
    monkeypatch.setattr(efficiency, "values_of", lambda m, seed: new[(m, seed)])
    for seed in (0, 1):
        (tmp_path / "runs" / "flat" / "flat" / f"seed{seed}").mkdir(parents=True)
    out = efficiency.aggregate(args)
    assert "from_prior" not in out and out["rerun_seeds"] == {"staged_random": [0, 1], "flat": [0, 1]}
    flat = out["before_rerun"]["flat"]
    assert (flat["first_stage_trials"], flat["first_stage_trials_equal"]) == (4, 2)
    assert (flat["final_best"]["higher"], flat["final_best"]["level"]) == (1, 1)
    assert "trials_to_reach_before" not in flat
    staged = out["before_rerun"]["staged_random"]
    # before: the original staged against the original flat (targets 0.8 and 0.9, flat reached them at 4 and 1)
    assert staged["trials_to_reach_before"] == {0: 2, 1: None}
    assert staged["over_flat_median_ratio_before"] == pytest.approx(((2 + 5) / 2) / ((4 + 1) / 2))
    # after: the re-run staged against the re-run flat (targets 0.85 and 0.9: reached at 3 and 3; flat at 4 and 2)
    assert staged["trials_to_reach_after"] == {0: 3, 1: 3}
    assert staged["over_flat_median_ratio_after"] == pytest.approx(3 / ((4 + 2) / 2))


def test_a_rerun_continued_from_its_own_results_trains_only_the_seeds_it_has_not_rerun(tmp_path, monkeypatch):
    own = _prior(tmp_path, rerun="x", rerun_seeds={"staged_random": [0], "flat": []})   # flat 0-2 stood in
    ran = _main(monkeypatch, tmp_path, "--rerun", "x", "--methods", "staged_random", "flat", "--seeds", "0", "1",
                "--prior", str(own))
    assert ran == [("flat", 0), ("staged_random", 1), ("flat", 1)]


def test_a_rerun_of_several_methods_trains_them_all(tmp_path, monkeypatch):
    # the aggregate after the first one must not refuse the table for the staged method not yet run
    ran = []

    def run(args, seed, m):
        ran.append((m, seed))
        (efficiency.method_root(m) / f"seed{seed}").mkdir(parents=True, exist_ok=True)

    monkeypatch.setattr(efficiency, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(efficiency, "RESULTS", tmp_path / "results")
    (tmp_path / "results").mkdir()
    monkeypatch.setattr(efficiency, "run_staged", run)
    monkeypatch.setattr(efficiency, "run_flat", run)
    monkeypatch.setattr(efficiency, "values_of", lambda m, seed: [0.5, 0.6, 0.7, 0.8])
    for name in ("BASE", "FLAT_BASE", "SETS", "RERUN", "TASK"):
        monkeypatch.setattr(efficiency, name, getattr(efficiency, name))
    monkeypatch.setattr(sys, "argv", ["efficiency.py", "--budget", "4", "--stage-size", "2", "--rerun", "x",
                                      "--methods", "flat", "staged", "staged_random", "--seeds", "0",
                                      "--prior", str(_prior(tmp_path))])
    efficiency.main()
    assert ran == [("staged", 0), ("staged_random", 0), ("flat", 0)]   # staged first, flat last


def test_a_rerun_continues_from_its_own_results_with_the_original_it_keeps(tmp_path, monkeypatch):
    # seeds 0 re-run earlier; seed 1 added later on a machine with neither run folders nor the original's JSON
    first_args = _rerun_args(tmp_path, monkeypatch, _prior(tmp_path))
    first_args.seeds = [0]
    efficiency.aggregate(first_args)
    own = tmp_path / "rerun.json"
    own.write_text((tmp_path / "results" / "t.json").read_text())
    (tmp_path / "runs" / "st" / "staged_random" / "seed0").rmdir()
    args = _prior_args(tmp_path, monkeypatch, own)
    args.rerun = "new"
    args.seeds = [0, 1]
    out = efficiency.aggregate(args)   # seed 1's folder is there (the re-run of it), seed 0 from its JSON
    assert out["rerun_seeds"]["staged_random"] == [0, 1]
    assert out["from_prior"]["seeds"] == {"staged_random": [0], "flat": [0, 1]}   # flat 1: the original's, kept
    assert sorted(out["before_rerun"]["staged_random"]["seeds"]) == [0, 1]
