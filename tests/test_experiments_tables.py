"""Aggregation code of the experiments (experiments/tables.py): Table-1 win shares, summaries, trials-to-reach."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
from tables import (best_so_far, grid_parser, mean_over_seeds, md_table, summary_stats, trials_to_reach,  # noqa: E402
                    win_share_markdown, win_shares)


def test_win_shares_hand_made_table():
    table = {
        "A": {"e1": 0.9, "e2": 0.8, "e3": 0.7, "e4": 0.6},
        "B": {"e1": 0.8, "e2": 0.9, "e3": 0.6, "e4": 0.6},
        "C": {"e1": 0.5, "e2": 0.5, "e3": 0.5},            # e4 missing: only common experiments count
    }
    s = win_shares(table)
    assert s["A"]["B"] == pytest.approx((1 + 0 + 1 + 0.5) / 4)   # tie on e4 counts half
    assert s["B"]["A"] == pytest.approx((0 + 1 + 0 + 0.5) / 4)
    assert s["A"]["B"] + s["B"]["A"] == pytest.approx(1.0)
    assert s["A"]["C"] == 1.0 and s["C"]["A"] == 0.0            # over e1..e3 only
    assert s["A"]["A"] is None


def test_win_shares_no_common_experiment_and_strict_ties():
    s = win_shares({"A": {"e1": 0.9}, "B": {"e2": 0.8}})
    assert s["A"]["B"] is None
    assert win_shares({"A": {"e": 0.5}, "B": {"e": 0.5}}, tie=0.0)["A"]["B"] == 0.0


def test_mean_over_seeds_and_summary():
    table = mean_over_seeds({"A": {"e1": [0.8, 0.9], "e2": [0.7], "e3": []}})
    assert table == {"A": {"e1": pytest.approx(0.85), "e2": pytest.approx(0.7)}}
    stats = summary_stats({"A": {"e1": 0.9, "e2": 0.7, "e3": 0.8, "e4": 0.6}})
    assert stats["A"]["mean"] == pytest.approx(0.75) and stats["A"]["median"] == pytest.approx(0.75)
    assert stats["A"]["n"] == 4


def test_best_so_far_and_trials_to_reach():
    values = [0.5, None, 0.7, 0.6, 0.9]
    assert best_so_far(values) == [0.5, 0.5, 0.7, 0.7, 0.9]
    assert trials_to_reach(values, 0.7) == 3
    assert trials_to_reach(values, 0.95) is None
    assert best_so_far([3.0, 1.0, 2.0], maximize=False) == [3.0, 1.0, 1.0]
    assert trials_to_reach([3.0, 1.0, 2.0], 1.0, maximize=False) == 2


def test_markdown_renders_every_pair():
    md = win_share_markdown(win_shares({"A": {"e": 0.9}, "B": {"e": 0.8}}))
    assert "100.0%" in md and "0.0%" in md
    assert md_table(["a", "b"], [[1, 2]]).splitlines()[2] == "| 1 | 2 |"


def test_run_grid_is_seed_major_and_reaggregates_only_after_new_runs():
    from tables import run_grid

    calls, aggregates = [], []
    done = {("m1", "e1", 0)}

    def run_one(model, item, seed):
        calls.append((model, item, seed))
        return (model, item, seed) not in done

    run_grid([0, 1], ["e1", "e2"], ["m1", "m2"], run_one, lambda: aggregates.append(len(calls)))
    assert calls[:4] == [("m1", "e1", 0), ("m2", "e1", 0), ("m1", "e2", 0), ("m2", "e2", 0)]
    assert len(calls) == 8 and len(aggregates) == 7


@pytest.mark.parametrize("flag, max_epochs, argv, expected", [
    ("--tasks", 10, [], {"tasks": ["a", "b"], "max_epochs": 10, "seeds": [0, 1, 2], "max_train": 4000}),
    ("--datasets", None, ["--datasets", "b", "--seeds", "2"], {"datasets": ["b"], "seeds": [2]}),
    ("--experiments", 10, ["--max-epochs", "3", "--aggregate-only"], {"max_epochs": 3, "aggregate_only": True}),
])
def test_grid_parser_shared_command_line(flag, max_epochs, argv, expected):
    args = grid_parser(None, models=["m"], items_flag=flag, items=["a", "b"], max_train=4000,
                       max_epochs=max_epochs).parse_args(argv)
    for key, value in expected.items():
        assert getattr(args, key) == value
    assert hasattr(args, "max_epochs") == (max_epochs is not None)
    assert args.models == ["m"] and args.trainer == "default" and args.threads == 1


@pytest.mark.parametrize("aggregate_only, trained", [(False, [("m", "e", 0)]), (True, [])])
def test_grid_main_trains_unless_aggregate_only_then_aggregates(aggregate_only, trained):
    from argparse import Namespace

    from tables import grid_main

    calls = []
    args = Namespace(seeds=[0], models=["m"], aggregate_only=aggregate_only)
    out = grid_main(args, ["e"], lambda a, model, item, seed: calls.append((model, item, seed)) or True,
                    lambda a: "tables")
    assert calls == trained and out == "tables"


def test_undefined_scores_are_no_comparison_and_no_mean():
    """A run can finish with a test metric that is undefined (null in result.json: an output constant on
    the test file): it is left out of the mean over seeds, and a cell without a defined score is no
    comparison in the win shares (not a loss for both)."""
    nan = float("nan")
    table = mean_over_seeds({"A": {"e1": [0.8, None, nan], "e2": [None]}, "B": {"e1": [0.6], "e2": [0.5]}})
    assert table == {"A": {"e1": pytest.approx(0.8)}, "B": {"e1": pytest.approx(0.6), "e2": pytest.approx(0.5)}}
    s = win_shares({"A": {"e1": 0.8, "e2": nan}, "B": {"e1": 0.6, "e2": 0.5}})
    assert s["A"]["B"] == 1.0 and s["B"]["A"] == 0.0 and s["A"]["B"] + s["B"]["A"] == 1.0
    assert summary_stats({"A": {"e1": 0.8, "e2": None}})["A"] == {"mean": 0.8, "median": 0.8, "n": 1}


def test_the_regression_table_takes_cells_without_run_folders_from_a_prior(tmp_path, monkeypatch):
    """``regression.py --datasets X --prior results.json`` re-runs one set: its cells come from the new run
    folders, every other cell from the committed JSON, and a prior of another protocol is refused."""
    import argparse
    import json

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments" / "regression"))
    import regression

    runs, results = tmp_path / "runs", tmp_path / "results"
    monkeypatch.setattr(regression, "RUNS", runs)
    monkeypatch.setattr(regression, "RESULTS", results)
    monkeypatch.setattr(regression, "_plot", lambda table: None)
    args = argparse.Namespace(models=["a", "b"], max_train=8000, trainer="default", prior=str(tmp_path / "prior.json"))
    prior = {"protocol": {"name": "mt8000_default"},
             "per_seed": {"a": {"lentimpra": [0.4, 0.2], "deepstarr": [0.9]}, "b": {"lentimpra": [0.1]}},
             "per_output_test_pearson": {"a": {"lentimpra": [{}, {}], "deepstarr": [{"Dev": 0.9, "Hk": 0.9}]},
                                         "b": {"lentimpra": [{}]}}}
    (tmp_path / "prior.json").write_text(json.dumps(prior))
    seed = runs / "regression" / "mt8000_default" / "a" / "deepstarr" / "seed0"
    seed.mkdir(parents=True)
    (seed / "result.json").write_text(json.dumps({"status": "ok", "metrics": {"test": {
        "pearson_r": 0.3, "pearson_r/Dev": 0.2, "pearson_r/Hk": 0.4}}}))
    out = regression.aggregate(args)
    table = out["per_dataset_test_pearson_mean_over_seeds"]
    assert table["a"] == {"lentimpra": pytest.approx(0.3), "deepstarr": pytest.approx(0.3)}  # the run, not the prior
    assert table["b"] == {"lentimpra": pytest.approx(0.1)}
    assert out["from_prior"]["cells"] == {"a": ["lentimpra"], "b": ["lentimpra"]}
    other = argparse.Namespace(**{**vars(args), "max_train": 100})
    other.__dict__.pop("_prior", None)
    with pytest.raises(SystemExit, match="protocol 'mt8000_default', this run's is 'mt100_default'"):
        regression.aggregate(other)
