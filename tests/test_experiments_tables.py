"""Aggregation code of the experiments (experiments/tables.py): Table-1 win shares, summaries, trials-to-reach."""


import pytest

from experiments.grid import Protocol, grid_main, grid_parser, parse_grid_args, run_grid, run_overrides, stopping
from experiments.tables import (best_so_far, mean_over_seeds, md_table, summary_stats, trials_to_reach,
                                win_share_markdown, win_shares)

PROTOCOLS = {"full": Protocol("full", "all data", None, 100, 5, data_seed=0),
             "small": Protocol("mt4000_default_ep10", "small", 4000, 10, 3)}


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


def _grid_args(**kw):
    from argparse import Namespace

    return Namespace(**{"seeds": [0, 1], "models": ["m1", "m2"], "chunk": None, "limit": None, "aggregate_only": False,
                        **kw})


def _record(done=frozenset()):
    calls, aggregates = [], []

    def run_one(model, item, seed):
        calls.append((model, item, seed))
        return (model, item, seed) not in done

    return calls, aggregates, run_one


def test_run_grid_is_seed_major_and_reaggregates_only_after_new_runs():
    calls, aggregates, run_one = _record({("m1", "e1", 0)})
    assert run_grid(_grid_args(), ["e1", "e2"], run_one, lambda: aggregates.append(len(calls))) == 7
    assert calls[:4] == [("m1", "e1", 0), ("m2", "e1", 0), ("m1", "e2", 0), ("m2", "e2", 0)]
    assert len(calls) == 8 and len(aggregates) == 7


def test_chunks_cover_the_grid_once_and_limit_counts_new_trainings_only():
    seen = []
    for i in (1, 2, 3):
        calls, _, run_one = _record()
        run_grid(_grid_args(chunk=f"{i}/3"), ["e1", "e2"], run_one, lambda: None)
        seen += calls
    assert sorted(seen) == sorted((m, e, s) for s in (0, 1) for e in ("e1", "e2") for m in ("m1", "m2"))
    assert len(seen) == 8
    calls, aggregates, run_one = _record({("m1", "e1", 0)})  # an existing run does not count against --limit
    assert run_grid(_grid_args(limit=2), ["e1", "e2"], run_one, lambda: aggregates.append(1)) == 2
    assert calls == [("m1", "e1", 0), ("m2", "e1", 0), ("m1", "e2", 0)]


@pytest.mark.parametrize("chunk", ["0/3", "4/3", "x", "1-3"])
def test_a_malformed_chunk_is_refused_before_anything_runs(chunk):
    parser = grid_parser(None, models=["m"], items_flag="--tasks", items=["a"], protocols=PROTOCOLS)
    with pytest.raises(SystemExit, match="--chunk"):
        parse_grid_args(parser, ["--chunk", chunk])


@pytest.mark.parametrize("argv, expected", [
    ([], {"tasks": ["a", "b"], "seeds": [0, 1, 2], "threads": "1", "device": None, "debug_max_train": None}),
    (["--tasks", "b", "--seeds", "2", "--limit", "3"], {"tasks": ["b"], "seeds": [2], "limit": 3}),
    (["--protocol", "small", "--aggregate-only", "--chunk", "2/5"], {"aggregate_only": True, "chunk": "2/5"}),
])
def test_grid_parser_shared_command_line(argv, expected):
    args = parse_grid_args(grid_parser(None, models=["m"], items_flag="--tasks", items=["a", "b"], protocols=PROTOCOLS),
                           argv)
    for key, value in expected.items():
        assert getattr(args, key) == value
    assert args.protocol is PROTOCOLS["small" if "small" in argv else "full"]
    assert args.models == ["m"]


def test_protocol_overrides_full_small_and_debug(tmp_path):
    args = parse_grid_args(grid_parser(None, models=["m"], items_flag="--tasks", items=["a"], protocols=PROTOCOLS), [])
    full = run_overrides(args, tmp_path)
    assert {"dataset.max_train=null", "trainer.max_epochs=100", "trainer.patience=5", "dataset.seed=0"} <= set(full)
    args.debug_max_train = 300  # a smoke caps the training set and keeps the rest of the protocol
    debug = run_overrides(args, tmp_path)
    assert "dataset.max_train=300" in debug and "dataset.max_train=null" not in debug
    assert "trainer.max_epochs=100" in debug
    small = PROTOCOLS["small"].overrides()
    assert small == ["dataset.max_train=4000", "trainer.max_epochs=10", "trainer.patience=3"]


@pytest.mark.parametrize("epochs, cap, hit", [(7, 100, False), (100, 100, True), (10, 10, True)])
def test_stopping_tells_early_stop_from_the_epoch_cap(epochs, cap, hit):
    info = stopping({"epochs": epochs, "hparams": {"trainer.max_epochs": cap}, "extra": {"best_epoch": 3}})
    assert info["hit_cap"] is hit and info["best_epoch"] == 3


@pytest.mark.parametrize("aggregate_only, trained", [(False, [("m", "e", 0)]), (True, [])])
def test_grid_main_trains_unless_aggregate_only_then_aggregates(tmp_path, aggregate_only, trained):
    calls = []
    args = _grid_args(seeds=[0], models=["m"], aggregate_only=aggregate_only)
    out = grid_main(args, ["e"], lambda a, model, item, seed: calls.append((model, item, seed)) or True,
                    lambda a: "tables", lambda a: tmp_path / "no_table_yet.json")
    assert calls == trained and out == "tables"


@pytest.mark.parametrize("key, committed_rows, models, aggregate_only, rows", [
    ("contenders", ["a", "b", "c"], ["b"], False, ["a", "b", "c"]),  # a run of one row keeps the table's others
    ("contenders", ["a", "b"], ["d"], False, ["a", "b", "d"]),       # a new row is added after them
    ("contenders", None, ["b"], False, ["b"]),                       # no table yet: this run's rows
    ("contenders", ["a", "b", "c"], ["b"], True, ["b"]),             # --aggregate-only: exactly the rows asked for
    ("models", ["a", "b"], ["b"], False, ["a", "b"]),                # older tables: head-to-head named them here,
    ("per_seed", ["a", "b"], ["c"], False, ["a", "b", "c"]),         # regression here
    ("results", ["a", "b"], ["b"], False, ["a", "b"]),               # and GUE here
])
def test_tables_after_a_run_keep_the_rows_they_had(tmp_path, key, committed_rows, models, aggregate_only, rows):
    import json

    table = tmp_path / "table.json"
    if committed_rows is not None:
        named = committed_rows if key == "models" else {m: ["model=" + m] for m in committed_rows}
        table.write_text(json.dumps({"protocol": {"name": "full"}, key: named}))
    seen = []
    args = _grid_args(seeds=[0], models=models, aggregate_only=aggregate_only)
    grid_main(args, ["e"], lambda a, model, item, seed: True, lambda a: seen.append(list(a.models)), lambda a: table)
    assert seen and all(r == rows for r in seen)
    assert args.models == models  # what trains is still this command's --models


@pytest.mark.parametrize("text", ["{not json", '{"protocol": {"name": "full"}}', '[1, 2]', '{"models": [1, 2]}'])
def test_a_table_that_is_not_a_grid_table_is_refused_by_name_before_training(tmp_path, text):
    table = tmp_path / "table.json"
    table.write_text(text)
    calls = []
    args = _grid_args(seeds=[0], models=["m"], aggregate_only=False)
    with pytest.raises(SystemExit, match="table.json"):
        grid_main(args, ["e"], lambda a, model, item, seed: calls.append(model) or True, lambda a: None,
                  lambda a: table)
    assert calls == []


def test_the_regression_table_takes_cells_without_run_folders_from_a_prior(tmp_path, monkeypatch):
    """``regression.py --datasets X --prior results.json`` re-runs one set: its cells come from the new run
    folders, every other cell from the committed JSON, and a prior of another protocol is refused."""
    import argparse
    import json

    from experiments.regression import regression

    runs, results = tmp_path / "runs", tmp_path / "results"
    monkeypatch.setattr(regression, "RUNS", runs)
    from experiments import grid

    monkeypatch.setattr(grid, "RESULTS", results)
    monkeypatch.setattr(regression, "_plot", lambda table, path: None)
    a, b = "deepbind", "deepmotif"
    args = argparse.Namespace(models=[a, b], protocol=regression.PROTOCOLS["small"],
                              prior=str(tmp_path / "prior.json"),
                              threads="1", device=None, debug_max_train=None)
    prior = {"protocol": {"name": "mt8000_default"},
             "contenders": {a: regression.contender(a), b: regression.contender(b)},
             "per_seed": {a: {"lentimpra": [0.4, 0.2], "deepstarr": [0.9]}, b: {"lentimpra": [0.1]}},
             "per_output_test_pearson": {a: {"lentimpra": [{}, {}], "deepstarr": [{"Dev": 0.9, "Hk": 0.9}]},
                                         b: {"lentimpra": [{}]}}}
    (tmp_path / "prior.json").write_text(json.dumps(prior))
    seed = runs / "regression" / "mt8000_default" / a / "deepstarr" / "seed0"
    seed.mkdir(parents=True)
    (seed / "result.json").write_text(json.dumps({"status": "ok", "metrics": {"test": {
        "pearson_r": 0.3, "pearson_r/Dev": 0.2, "pearson_r/Hk": 0.4}},
        "hparams": composed_hparams(regression.cell_overrides(args, a, "deepstarr", 0))}))
    out = regression.aggregate(args)
    table = out["per_dataset_test_pearson_mean_over_seeds"]
    assert table[a] == {"lentimpra": pytest.approx(0.3), "deepstarr": pytest.approx(0.3)}  # the run, not the prior
    assert table[b] == {"lentimpra": pytest.approx(0.1)}
    assert out["from_prior"]["cells"] == {a: ["lentimpra"], b: ["lentimpra"]}
    other = argparse.Namespace(**{**vars(args), "protocol": regression.PROTOCOLS["full"]})
    other.__dict__.pop("_prior", None)
    with pytest.raises(SystemExit, match="protocol 'mt8000_default', this run's is 'full'"):
        regression.aggregate(other)


def composed_hparams(overrides):
    """The flat hparams a run started with ``overrides`` writes into result.json."""
    import json

    from hydra import compose, initialize_config_module

    from genarch.training.runner import hparams_of

    with initialize_config_module("genarch.conf", version_base=None):
        cfg = compose("config", overrides=[o for o in overrides if not o.startswith("hydra.")])
    return json.loads(json.dumps(hparams_of(cfg), default=str))


def _run(folder, overrides, auroc=0.8, device=("NVIDIA H100 80GB HBM3", "bf16-mixed")):
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(json.dumps({
        "status": "ok", "seed": 0, "epochs": 5, "wall_time_s": 1.0, "hparams": composed_hparams(overrides),
        "extra": {"best_epoch": 2, "device_name": device[0], "precision": device[1]},
        "metrics": {"test": {"auroc": auroc}, "val": {"auroc": auroc}}}))


def test_a_grid_run_counts_only_when_its_config_hash_matches_todays_cell(tmp_path):
    import json

    from experiments.grid import CELL_FILE, read_current, record_cell

    today = ["+experiment=attentionnet_paper", "dataset=deepbind_encode", "dataset.experiment=ARID3A_K562", "seed=0",
             "trainer.max_epochs=10", "trainer.patience=3", f"hydra.run.dir={tmp_path}"]
    _run(tmp_path / "current", today)
    res = read_current(tmp_path / "current", today)
    assert res is not None
    record_cell(tmp_path / "current", today, res)
    cell = json.loads((tmp_path / "current" / CELL_FILE).read_text())
    assert cell["overrides"] == today and len(cell["config_hash"]) == 16
    # where it ran is not what it trained: a chunk on another machine, other threads, still counts
    assert read_current(tmp_path / "current", [*today, "trainer.accelerator=gpu", "trainer.threads=8"]) is not None
    # the old preset under the same row name (the small default network), or another recipe: missing
    _run(tmp_path / "old_preset", ["model=attentionnet_small", *today[1:]])
    assert read_current(tmp_path / "old_preset", today) is None
    assert read_current(tmp_path / "current", [*today, "trainer.batch_size=50"]) is None
    assert read_current(tmp_path / "nothing_here", today) is None


def test_head_to_head_leaves_out_runs_of_another_config_and_names_the_hardware(tmp_path, monkeypatch, fake_facts):
    from experiments import grid
    from experiments.tfbs import head_to_head as h2h

    monkeypatch.setattr(h2h, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(grid, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(h2h, "plot", lambda out, path: None)
    args = parse_grid_args(grid_parser(None, models=["attentionnet", "deepbind"], items_flag="--experiments",
                                       items=h2h.EXPERIMENTS, protocols=h2h.PROTOCOLS), ["--device", "cpu"])
    base = tmp_path / "runs" / "tfbs_h2h" / "full"
    e1, e2 = h2h.EXPERIMENTS[:2]
    _run(base / "attentionnet" / e1 / "seed0", h2h.cell_overrides(args, "attentionnet", e1, 0), 0.9)
    _run(base / "attentionnet" / e2 / "seed0", ["model=attentionnet_small", *h2h.cell_overrides(args, "x", e2, 0)[1:]],
         0.99)  # made with the old row's network: left out, not mixed into the row
    _run(base / "deepbind" / e1 / "seed0", h2h.cell_overrides(args, "deepbind", e1, 0), 0.7,
         ("AMD EPYC 7B13", "32-true"))
    data = h2h.collect(args)
    assert data["test"]["attentionnet"] == {e1: [0.9]} and data["stale"] == {"attentionnet": 1}
    out = h2h.aggregate(args)
    assert out["devices"] == {"attentionnet": ["NVIDIA H100 80GB HBM3, bf16-mixed"],
                              "deepbind": ["AMD EPYC 7B13, 32-true"]}
    assert out["protocol"]["device"] == "AMD EPYC 7B13, 32-true + NVIDIA H100 80GB HBM3, bf16-mixed"
    assert out["protocol"]["device_flag"] == "cpu"  # what the aggregating command was given, not the hardware
    assert out["runs_left_out_made_with_another_config"] == {"attentionnet": 1}
    md = (tmp_path / "results" / "tfbs_head_to_head_full.md").read_text()
    assert "device AMD EPYC 7B13, 32-true + NVIDIA H100 80GB HBM3, bf16-mixed" in md
    assert "Left out, made with another config (an older preset or contender): attentionnet 1 run(s)" in md


FAKE_FACTS = """
tfbs_results:
  n_datasets: 7
  mean_auc: {deepbind: 0.801, deepmotif: 0.802, attentionnet: 0.803}
  median_auc: {deepbind: 0.811, deepmotif: 0.812, attentionnet: 0.813}
  win_share: {deepmotif_over_deepbind: 0.111, attentionnet_over_deepbind: 0.222, attentionnet_over_deepmotif: 0.333}
  motifs_from_attention:
    method: 10 nt around the peak, queried against JASPAR at q < 0.25
    correct: 3
    any_tf: 4
    correct_with_top3_recurring_sequences: 5
    checkable: 6
ilsep_results:
  mean_pearson_r_11_lineages: {promoternet: 0.5, deepbind: 0.4, deepmotif: 0.3}
"""


@pytest.fixture
def fake_facts(tmp_path, monkeypatch):
    """A facts file with made-up figures beside a fake data root: every paper figure must come from it."""
    from experiments import paper_facts

    (tmp_path / "paper").mkdir()
    (tmp_path / "paper" / "genetic_architect_facts.yaml").write_text(FAKE_FACTS)
    monkeypatch.setenv("GENARCH_DATA", str(tmp_path / "data"))
    paper_facts.facts.cache_clear()
    yield paper_facts
    paper_facts.facts.cache_clear()


def test_paper_figures_are_read_from_the_facts_file(fake_facts):
    t = fake_facts.tfbs()
    assert t["win_share"] == {("deepmotif", "deepbind"): 0.111, ("attentionnet", "deepbind"): 0.222,
                              ("attentionnet", "deepmotif"): 0.333}
    assert t["n_datasets"] == 7 and t["mean_auc"]["attentionnet"] == 0.803
    m = fake_facts.motifs()
    assert m["q_threshold"] == 0.25 and m["correct"] == 3 and m["checkable"] == 6
    assert fake_facts.ilsep() == {"promoternet": 0.5, "deepbind": 0.4, "deepmotif": 0.3}


def test_the_real_facts_file_has_the_papers_win_shares():
    from experiments import paper_facts

    paper_facts.facts.cache_clear()
    if not paper_facts.facts_path().exists():
        pytest.skip(f"no facts file at {paper_facts.facts_path()}")
    shares = paper_facts.tfbs()["win_share"]
    assert shares[("attentionnet", "deepbind")] == 0.926 and shares[("attentionnet", "deepmotif")] == 0.676
    assert shares[("deepmotif", "deepbind")] == 0.852 and paper_facts.motifs()["q_threshold"] == 0.5


def test_head_to_head_table_counts_early_stops_and_sets_the_paper_beside(tmp_path, monkeypatch, fake_facts):
    import json

    from experiments import grid
    from experiments.tfbs import head_to_head as h2h

    monkeypatch.setattr(h2h, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(grid, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(h2h, "plot", lambda out, path: None)
    args = parse_grid_args(grid_parser(None, models=["attentionnet", "deepbind"], items_flag="--experiments",
                                       items=h2h.EXPERIMENTS, protocols=h2h.PROTOCOLS), [])
    auc = {"attentionnet": (0.9, 0.8), "deepbind": (0.7, 0.85)}  # per experiment: attentionnet wins 1 of 2
    for model, values in auc.items():
        for experiment, value, epochs in zip(h2h.EXPERIMENTS[:2], values, (12, 100)):
            run = tmp_path / "runs" / "tfbs_h2h" / "full" / model / experiment / "seed0"
            run.mkdir(parents=True)
            (run / "result.json").write_text(json.dumps({
                "status": "ok", "seed": 0, "epochs": epochs, "wall_time_s": 10.0,
                "hparams": composed_hparams(h2h.cell_overrides(args, model, experiment, 0)),
                "extra": {"best_epoch": epochs - 5},
                "metrics": {"test": {"auroc": value}, "val": {"auroc": value}}}))
    out = h2h.aggregate(args)
    assert out["early_stopping"]["attentionnet"] == {"runs": 2, "stopped_early": 1, "hit_cap": 1, "not_recorded": 0,
                                                     "epochs_max": 100, "epochs_mean": 56.0}
    assert out["win_shares_on_complete_experiments"]["attentionnet"]["deepbind"] == 0.5
    md = (tmp_path / "results" / "tfbs_head_to_head_full.md").read_text()
    assert "| attentionnet beats deepbind | 50.0% | 22.2% |" in md  # ours beside the facts file's (made-up) figure
    assert "| mean AUC, paper | 0.803 | 0.801 |" in md and "(7 experiments" in md
    assert "| stopped early / hit the epoch cap | 1 / 1 | 1 / 1 |" in md


@pytest.mark.parametrize("words, stages, overrides", [
    (["tfbs_mf_1"], ["tfbs_mf_1"], []),
    (["tfbs_mf_1", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], ["tfbs_mf_1"],
     ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]),
    (["tfbs_1", "trainer.max_epochs=2", "tfbs_2"], ["tfbs_1", "tfbs_2"], ["trainer.max_epochs=2"]),
])
def test_search_takes_key_value_words_as_hydra_overrides(words, stages, overrides):
    from experiments.tfbs.search import split_stages
    assert split_stages(words) == (stages, overrides)


def test_search_refuses_an_unknown_stage_before_sweeping():
    from experiments.tfbs.search import split_stages
    with pytest.raises(SystemExit, match=r"no stage file experiments/tfbs/conf/stage/tfbs_mf1\.yaml .*tfbs_mf_1"):
        split_stages(["tfbs_mf1", "hydra/launcher=joblib"])


def test_search_report_keeps_committed_stages_whose_sweeps_are_not_here(tmp_path, monkeypatch):
    import json
    from experiments.tfbs import search
    prior = {"stages": [{"stage": "tfbs_1", "stage_file": "s1", "sweep_dir": "d1", "n_trials": 20, "n_ok": 20,
                         "n_failed": 0, "values": [0.7, 0.8], "best_so_far": [0.7, 0.8],
                         "best": {"job": 1, "val_score": 0.8, "test_score": 0.79, "params": {"a": 1}},
                         "wall_time_s": 60.0, "suggestions": [], "importance": {}}]}
    (tmp_path / "tfbs_search.json").write_text(json.dumps(prior))
    monkeypatch.setattr(search, "RESULTS", tmp_path)
    monkeypatch.setattr(search, "SWEEPS", tmp_path / "no_sweeps_here")
    out = search.report(["tfbs_1", "tfbs_2"])
    assert [r["stage"] for r in out["stages"]] == ["tfbs_1"]  # kept from the report; tfbs_2 never reported
    assert "| tfbs_1 | 20/20 | 0.800 | 0.790 | 1 |" in (tmp_path / "tfbs_search.md").read_text()
    (tmp_path / "tfbs_search.json").write_text("[1, 2]")
    with pytest.raises(SystemExit, match="tfbs_search.json: not a search report"):
        search.report(["tfbs_1"])


def test_interpretation_table_adds_named_experiments_to_rows_made_with_the_same_settings(tmp_path):
    import json
    from argparse import Namespace
    from experiments.interpret_encode import ROW_SETTINGS, in_order, kept_rows
    args = Namespace(**{k: None for k in ROW_SETTINGS}, threads=1)
    args.releases, args.q = ["JASPAR2026"], 0.5
    settings = {**{k: getattr(args, k) for k in ROW_SETTINGS}, "threads": 2}  # threads: how, not what
    out = tmp_path / "interpret_encode_full"
    out.with_suffix(".json").write_text(json.dumps({"settings": settings, "rows": [
        {"experiment": "C_x"}, {"experiment": "A_x"}]}))
    kept = kept_rows(out, args, ["A_x"])
    assert kept == [{"experiment": "C_x"}]  # A_x is redone now; C_x stays
    assert [r["experiment"] for r in in_order(kept + [{"experiment": "A_x"}], ["A_x", "B_x", "C_x"])] == ["A_x", "C_x"]
    args.q = 0.05  # another threshold: another table, nothing kept
    assert kept_rows(out, args, ["A_x"]) == []
    out.with_suffix(".json").write_text("{}")
    with pytest.raises(SystemExit, match="interpret_encode_full.json: not an interpretation table"):
        kept_rows(out, args, ["A_x"])


def test_a_grid_cell_continues_only_its_own_configs_checkpoint(tmp_path):
    from experiments.grid import LAST_CKPT, STARTED_FILE, expected_hash, resume_overrides

    cell, other = ["model=deepbind", "trainer=smoke"], ["model=deepmotif", "trainer=smoke"]
    assert expected_hash([*cell, "++trainer.save_last=true", "trainer.threads=1"]) == expected_hash(cell)
    assert resume_overrides(tmp_path, cell) == []                        # a fresh cell: marked, trained from scratch
    assert (tmp_path / STARTED_FILE).exists()
    (tmp_path / LAST_CKPT).parent.mkdir()
    (tmp_path / LAST_CKPT).write_bytes(b"epoch 3")                        # killed after some epochs
    assert resume_overrides(tmp_path, cell) == [f"++trainer.resume_from='{(tmp_path / LAST_CKPT).resolve()}'"]
    assert resume_overrides(tmp_path, other) == []                       # another contender: never its checkpoint
    assert not (tmp_path / LAST_CKPT).exists()


# --- kept cell records: a grid's results outlive experiments/runs ------------------------------------------

@pytest.fixture
def kept_grid(tmp_path, monkeypatch, fake_facts):
    """The head-to-head with experiments/runs and experiments/results in tmp_path."""
    from experiments import grid
    from experiments.tfbs import head_to_head as h2h

    for module in (grid, h2h):
        monkeypatch.setattr(module, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(grid, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(h2h, "plot", lambda out, path: None)
    args = parse_grid_args(grid_parser(None, models=["attentionnet", "deepbind"], items_flag="--experiments",
                                       items=h2h.EXPERIMENTS, protocols=h2h.PROTOCOLS), [])
    return grid, h2h, args


def test_a_finished_cell_counts_by_its_record_once_its_run_folder_is_gone(kept_grid, tmp_path):
    """A new checkout has no experiments/runs: the table is the same, and the cell is not trained again."""
    import json
    import shutil

    grid, h2h, args = kept_grid
    e = h2h.EXPERIMENTS[0]
    out, overrides = h2h.run_dir(args, "attentionnet", e, 0), h2h.cell_overrides(args, "attentionnet", e, 0)
    _run(out, overrides, 0.91)
    grid.record_cell(out, overrides, grid.read_current(out, overrides))
    kept = tmp_path / "results" / "cells" / "tfbs_h2h" / "full" / "attentionnet" / e / "seed0.json"
    assert json.loads(kept.read_text())["cell"]["config_hash"] == grid.expected_hash(overrides)
    before = h2h.aggregate(args)
    shutil.rmtree(tmp_path / "runs")
    after = h2h.aggregate(args)
    assert after["per_experiment_test_auroc_per_seed"] == before["per_experiment_test_auroc_per_seed"] \
        == {"attentionnet": {e: [0.91]}}
    assert after["early_stopping"] == before["early_stopping"]
    assert h2h.run_one(args, "attentionnet", e, 0) is False  # counted, not retrained
    # a record made with another recipe is no current run: left out and counted as such
    assert grid.read_current(out, [*overrides, "trainer.batch_size=50"]) is None
    kept.write_text(json.dumps({**json.loads(kept.read_text()), "cell": {"config_hash": "another"}}))
    assert h2h.collect(argparse_with(args, models=["attentionnet"]))["stale"] == {"attentionnet": 1}


def argparse_with(args, **kw):
    import argparse

    return argparse.Namespace(**{**vars(args), **kw})


def test_a_run_from_before_records_gets_one_when_read_and_a_smoke_run_never(kept_grid, tmp_path):
    import json

    grid, h2h, args = kept_grid
    e = h2h.EXPERIMENTS[1]
    out, overrides = h2h.run_dir(args, "deepbind", e, 2), h2h.cell_overrides(args, "deepbind", e, 2)
    _run(out, overrides, 0.7)  # trained by a genarch that kept no records
    assert grid.read_current(out, overrides)["metrics"]["test"]["auroc"] == 0.7
    assert grid.record_path(out).is_file()
    assert [p.name for p in grid.seed_dirs(out.parent)] == ["seed2"]
    # a record recovered from a table (or of another config) gives way to the current run it is read with
    record = grid.record_path(out)
    record.write_text(json.dumps({"status": "ok", "metrics": {"test": {"auroc": 0.5}}, "recovered_from": "t",
                                  "cell": {"config_hash": grid.expected_hash(overrides)}}))
    assert grid.read_current(out, overrides)["metrics"]["test"]["auroc"] == 0.7
    kept = json.loads(record.read_text())
    assert "recovered_from" not in kept and kept["metrics"]["test"]["auroc"] == 0.7
    assert kept["cell"]["overrides"] == grid.portable(overrides)
    smoke = argparse_with(args, debug_max_train=200)
    out = h2h.run_dir(smoke, "deepbind", e, 0)
    assert grid.record_path(out) is None and grid.record_path(tmp_path / "elsewhere" / "seed0") is None


def test_a_record_names_its_run_folder_relative_to_the_repository():
    from experiments.grid import ROOT, portable

    assert portable([f"hydra.run.dir={ROOT}/experiments/runs/g/p/m/i/seed0", "seed=0", "hydra.run.dir=/elsewhere"]) \
        == ["hydra.run.dir=experiments/runs/g/p/m/i/seed0", "seed=0", "hydra.run.dir=/elsewhere"]


@pytest.mark.parametrize("kept, stop", [
    ({"epochs": 7, "hparams": {"trainer.max_epochs": 100}}, {"hit_cap": False, "epochs": 7}),
    ({"epochs": None, "recovered_from": "x", "stopped_early": True}, {"hit_cap": False, "epochs": None}),
    ({"epochs": None, "recovered_from": "x"}, {"hit_cap": None, "epochs": None}),
])
def test_stopping_of_a_recovered_record_says_only_what_its_table_proved(kept, stop):
    from experiments.grid import stopping_cell, stopping_summary

    got = stopping(kept)
    assert {k: got[k] for k in stop} == stop
    summary = stopping_summary({"m": [got]})["m"]
    assert summary["not_recorded"] == (stop["hit_cap"] is None)
    assert summary["stopped_early"] == (stop["hit_cap"] is False)
    assert stopping_cell(summary).endswith("(+1 not recorded)") == (stop["hit_cap"] is None)


def test_gue_keeps_a_runs_test_mcc_in_its_record(kept_grid, tmp_path):
    import json

    grid, _, _ = kept_grid
    from experiments.gue import gue

    out = tmp_path / "runs" / "gue" / "full" / "deepbind" / "tf_0" / "seed0"
    overrides = ["+experiment=deepbind_paper", "dataset=gue"]
    _run(out, overrides)
    grid.record_cell(out, overrides, json.loads((out / "result.json").read_text()))
    (out / gue.METRICS_FILE).write_text(json.dumps({"test_mcc": 0.42, "n_test": 10}))
    assert gue.test_mcc(out, overrides)["test_mcc"] == 0.42  # the computed one, copied into the record
    (out / gue.METRICS_FILE).unlink()
    assert gue.known_mcc(out, overrides) == {"test_mcc": 0.42, "n_test": 10}
    # the MCC of another config's run is not this cell's
    assert gue.known_mcc(out, ["+experiment=deepmotif_paper", "dataset=gue"]) is None


def test_a_gue_cell_kept_without_its_mcc_and_without_weights_is_trained_again(kept_grid, tmp_path, monkeypatch):
    import argparse
    import json
    import shutil

    grid, _, _ = kept_grid
    from experiments.gue import gue

    monkeypatch.setattr(gue, "RUNS", tmp_path / "runs")
    args = argparse.Namespace(protocol=gue.PROTOCOLS["full"], threads="1", device=None, debug_max_train=None)
    task = gue.TASKS[0]
    out, overrides = gue.run_dir(args, "deepbind", task, 0), gue.cell_overrides(args, "deepbind", task, 0)
    _run(out, overrides)
    grid.record_cell(out, overrides, json.loads((out / "result.json").read_text()))  # killed before its MCC
    shutil.rmtree(tmp_path / "runs")
    trained = []
    monkeypatch.setattr(gue, "train_cell", lambda *a, **k: trained.append(a[0]))
    assert gue.run_one(args, "deepbind", task, 0) is True and trained == [out]


@pytest.mark.parametrize("model, dataset, protocol, fixed", [
    ("deepmotif", "synthetic_ilsep", "full", True),    # its published 1e-2 left one constant prediction there
    ("deepmotif", "synthetic_ilsep", "small", False),  # the small-data table keeps the recipe it was made with
    ("deepmotif", "lentimpra", "full", False),
    ("deepbind", "synthetic_ilsep", "full", False),
])
def test_a_recipe_fix_reaches_only_its_cell(model, dataset, protocol, fixed):
    import argparse

    from experiments.regression import regression

    args = argparse.Namespace(protocol=regression.PROTOCOLS[protocol], threads="1", device=None, debug_max_train=None)
    overrides = regression.cell_overrides(args, model, dataset, 0)
    fixes, _ = regression.RECIPE_FIXES[("deepmotif", "synthetic_ilsep")]
    assert all((fix in overrides) is fixed for fix in fixes)
    assert overrides[: len(regression.contender(model))] == regression.contender(model)
    if fixed:  # after the preset, so Hydra applies the fix last
        assert min(map(overrides.index, fixes)) > overrides.index("+experiment=deepmotif_paper")
    note = regression.recipe_fix_note(args, [model])
    assert bool(note) is (model == "deepmotif" and protocol == "full")
