"""The search-efficiency experiment (experiments/efficiency/efficiency.py): compute read from the ledgers,
best-so-far over full-fidelity results only, compute to reach flat's final best, equal planned budgets."""

import json

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from experiments.efficiency import efficiency
from genarch.ledger import EndRecord, RungRecord, StartRecord, write_record
from genarch.sweeper import fidelity


def flat_sweep(sdir, trials, n_train=2000):
    """A single-fidelity sweep: ``trials`` = [(value or None, epochs)], each with its result.json."""
    for job, (value, epochs) in enumerate(trials):
        (sdir / str(job)).mkdir(parents=True)
        (sdir / str(job) / "result.json").write_text(json.dumps({"extra": {"n_train": n_train}}))
        write_record(sdir, StartRecord(job, {"x": job}, [f"x={job}"]))
        write_record(sdir, EndRecord(job, "ok" if value is not None else "failed", {"x": job}, "val_auroc",
                                     "maximize", value, epochs=epochs, dir=str(job)))
    (sdir / "optimization_results.yaml").write_text("done\n")


def mf_sweep(sdir, jobs):
    """A multi-fidelity sweep: ``jobs`` = [(rung epochs, epochs added, value)], one rung job each."""
    for job, (epochs, added, value) in enumerate(jobs):
        write_record(sdir, StartRecord(job, {"x": job}, [f"x={job}"], None, 0, {"trainer.max_epochs": epochs}))
        write_record(sdir, EndRecord(job, "ok", {"x": job}, "val_auroc", "maximize", value, epochs=epochs))
        write_record(sdir, RungRecord(job, job, 0, {"trainer.max_epochs": epochs}, "ok", value, "maximize",
                                      epochs=added, sequences=2000))
    (sdir / "optimization_results.yaml").write_text("done\n")


@pytest.fixture
def base(tmp_path, monkeypatch):
    monkeypatch.setattr(efficiency, "BASE", tmp_path)
    return tmp_path


def test_a_flat_curve_counts_every_job_and_skips_failed_ones(base):
    flat_sweep(base / "flat" / "seed0", [(0.6, 9), (None, 2), (0.7, 5), (0.65, 9)])
    assert efficiency.curve("flat", 0) == [(18000, 0.6), (18000 + 4000 + 10000, 0.7)]
    assert efficiency.spent("flat", 0) == 2000 * (9 + 2 + 5 + 9)


def test_a_multi_fidelity_curve_scores_only_the_top_rung_but_pays_for_every_rung(base):
    # a 1-epoch score above every 9-epoch one is not a result: scores of different rungs are not comparable
    mf_sweep(base / "flat_mf" / "seed0", [(1, 1, 0.9), (1, 1, 0.55), (3, 2, 0.6), (9, 6, 0.7), (9, 6, 0.68)])
    assert efficiency.curve("flat_mf", 0) == [(2000 * 10, 0.7)]
    assert efficiency.spent("flat_mf", 0) == 2000 * 16


def test_a_staged_run_is_read_stage_after_stage(base):
    mf_sweep(base / "staged_mf" / "seed0" / "stage1", [(1, 1, 0.5), (9, 8, 0.6)])
    mf_sweep(base / "staged_mf" / "seed0" / "stage2", [(9, 9, 0.8)])
    assert efficiency.curve("staged_mf", 0) == [(18000, 0.6), (36000, 0.8)]


@pytest.mark.parametrize("points, target, reach", [
    ([(18000, 0.6), (54000, 0.7)], 0.7, 54000),
    ([(18000, 0.6), (54000, 0.7)], 0.65, 54000),
    ([(18000, 0.6), (54000, 0.7)], 0.6, 18000),
    ([(18000, 0.6)], 0.7, None),
    ([(efficiency.BUDGET + 1, 0.9)], 0.7, None),   # past the equal budget counts as never
])
def test_compute_to_reach_a_target(points, target, reach):
    assert efficiency.to_reach(points, target) == reach


def test_the_table_compares_each_method_with_flats_own_compute_to_its_final_best(base, monkeypatch):
    monkeypatch.setattr(efficiency, "BUDGET", 54000)  # what the flat sweeps below spend
    monkeypatch.setattr(efficiency, "mf_candidates", lambda budget: 3)  # and the plan of the mf sweeps below
    monkeypatch.setattr(efficiency, "n_stages", lambda budget: 2)
    for seed, flat_best in ((0, 0.70), (1, 0.72)):
        flat_sweep(base / "flat" / f"seed{seed}", [(0.6, 9), (flat_best, 9), (0.65, 9)])      # best at 36,000
        flat_sweep(base / "random" / f"seed{seed}", [(0.5, 9), (0.55, 9), (0.6, 9)])           # never
        mf_sweep(base / "flat_mf" / f"seed{seed}", [(1, 1, 0.5), (3, 2, 0.6), (9, 6, 0.71 + seed)])  # 18,000
        mf_sweep(base / "staged_mf" / f"seed{seed}" / "stage1", [(9, 9, 0.8)])                 # 18,000
        mf_sweep(base / "staged_mf" / f"seed{seed}" / "stage2", [(9, 9, 0.6)])
    out = efficiency.aggregate([0, 1, 2])  # seed 2 has no runs: left out
    assert out["seeds"] == [0, 1]
    s = out["summary"]
    assert s["flat"]["ratio_to_flat"] == 1.0
    assert s["staged_mf"]["ratio_to_flat"] == pytest.approx(0.5)
    assert s["flat_mf"]["compute_to_reach_flat_best"] == {0: 18000, 1: 18000}
    assert s["random"]["compute_to_reach_flat_best"] == {0: None, 1: None}
    assert "never" in next(line for line in out["table"].splitlines() if line.startswith("| random"))
    assert s["staged_mf"]["final_best"] == {0: 0.8, 1: 0.8}
    vs = s["staged_mf"]["final_best_vs_flat"]
    assert (vs["higher"], vs["lower"]) == (2, 0) and vs["mean_difference"] == pytest.approx(0.09)
    assert s["flat"]["final_best_vs_flat"] is None  # flat against itself: nothing to compare


def test_flat_is_unfinished_until_it_has_spent_the_budget_and_is_cut_there(base, monkeypatch):
    monkeypatch.setattr(efficiency, "BUDGET", 40000)
    flat_sweep(base / "flat" / "seed0", [(0.6, 9)])  # 18,000 spent
    assert not efficiency.finished("flat", 0)
    flat_sweep(base / "flat" / "seed1", [(0.6, 9), (0.7, 9), (0.9, 9)])  # the 0.9 comes at 54,000: past the budget
    assert efficiency.finished("flat", 1) and efficiency.final_best(efficiency.curve("flat", 1)) == 0.7


def test_the_fidelity_override_is_what_the_sweeper_reads_and_the_budgets_are_equal():
    parsed = OverridesParser.create().parse_overrides([efficiency.fidelity_override()])[0].value()
    schedule = fidelity.parse(dict(parsed))
    assert schedule.rungs() == [1, 3, efficiency.FULL_EPOCHS]
    # planned compute (no early stopping): successive halving continues promoted trials from their checkpoint
    levels = schedule.rungs()
    per_bracket, n = 0, schedule.eta ** (len(levels) - 1)
    for i, epochs in enumerate(levels):
        per_bracket += n * (epochs - (levels[i - 1] if i else 0))
        n //= schedule.eta
    mf = efficiency.MF_CANDIDATES // schedule.eta ** (len(levels) - 1) * per_bracket * efficiency.TRAIN
    flat = efficiency.FLAT_TRIALS * efficiency.FULL_EPOCHS * efficiency.TRAIN
    assert mf == efficiency.BUDGET and abs(mf - flat) / flat < 0.05
    assert efficiency.MF_CANDIDATES % (2 * schedule.eta ** (len(levels) - 1)) == 0  # two stages of whole brackets


def test_a_staged_run_follows_the_suggestion_or_the_first_fork_branch(tmp_path):
    analysis = tmp_path / "analysis"
    analysis.mkdir()
    assert efficiency.followed_suggestion(analysis) is None
    (analysis / "next_stage_b.yaml").write_text("stage: b\n")
    (analysis / "next_stage_a.yaml").write_text("stage: a\n")
    assert efficiency.followed_suggestion(analysis).name == "next_stage_a.yaml"
    (analysis / "next_stage.yaml").write_text('# why\nhydra:\n  sweeper:\n    budget: 3\nstage: "2"\n')
    chosen = efficiency.followed_suggestion(analysis)
    assert chosen.name == "next_stage.yaml"
    assert efficiency.as_stage(chosen, "eff_s0_2") == '# why\nhydra:\n  sweeper:\n    budget: 3\nstage: "eff_s0_2"\n'


@pytest.mark.parametrize("budget, candidates, stages", [(168_000, 36, 2), (252_000, 54, 3), (504_000, 108, 6)])
def test_a_larger_budget_plans_more_brackets_and_more_stages(budget, candidates, stages):
    assert (efficiency.mf_candidates(budget), efficiency.n_stages(budget)) == (candidates, stages)


@pytest.mark.parametrize("budget", [84_000, 100_000, 200_000])
def test_a_budget_that_is_not_whole_stages_is_refused(budget):
    with pytest.raises(SystemExit, match=f"--budget {budget}: give a multiple of one stage"):
        efficiency.set_budget(budget)


def test_a_larger_budget_extends_the_runs_of_a_smaller_one_and_a_smaller_reads_only_its_plan(base, monkeypatch):
    """Made for 168,000, a run is finished there and unfinished at 252,000 (one stage more for staged_mf, more
    candidates for flat_mf); each budget reads the stages and candidates it planned, none that a larger one
    added, so the smaller budget's table does not change when the runs are extended."""
    monkeypatch.setattr(efficiency, "BUDGET", 168_000)
    root = base / "staged_mf" / "seed0"
    mf_sweep(root / "stage1", [(9, 9, 0.6)])
    mf_sweep(root / "stage2", [(9, 9, 0.7)])
    mf_sweep(base / "flat_mf" / "seed0", [(1, 1, 0.5)] * 36)
    assert efficiency.finished("staged_mf", 0) and efficiency.finished("flat_mf", 0)
    monkeypatch.setattr(efficiency, "BUDGET", 252_000)
    assert not efficiency.finished("staged_mf", 0) and not efficiency.finished("flat_mf", 0)
    mf_sweep(root / "stage3", [(9, 9, 0.8)])
    mf_sweep(base / "flat_mf" / "seed1", [(1, 1, 0.5)] * 36 + [(9, 8, 0.9)] * 18)  # extended by 18 candidates
    assert efficiency.finished("staged_mf", 0) and efficiency.finished("flat_mf", 1)
    assert efficiency.curve("staged_mf", 0) == [(18000, 0.6), (36000, 0.7), (54000, 0.8)]
    assert efficiency.spent("flat_mf", 1) == (36 + 18 * 8) * 2000
    monkeypatch.setattr(efficiency, "BUDGET", 168_000)
    assert efficiency.curve("staged_mf", 0) == [(18000, 0.6), (36000, 0.7)]
    assert efficiency.spent("flat_mf", 1) == 36 * 2000 and efficiency.curve("flat_mf", 1) == []


def test_a_flat_mf_sweep_ended_by_a_stop_rule_is_finished_and_not_run_again(base, monkeypatch):
    monkeypatch.setattr(efficiency, "BUDGET", 168_000)
    sdir = base / "flat_mf" / "seed0"
    mf_sweep(sdir, [(1, 1, 0.5)] * 20)
    assert not efficiency.finished("flat_mf", 0)
    (sdir / "optimization_results.yaml").write_text("stopped: the space is exhausted\n")
    assert efficiency.finished("flat_mf", 0)
    calls = []
    monkeypatch.setattr(efficiency, "sweep", lambda sweep_dir, *a: calls.append(
        (sweep_dir / "optimization_results.yaml").exists()))  # the real sweep() returns at once when it exists
    efficiency.run_one("flat_mf", 0)
    assert calls == [True]


@pytest.mark.parametrize("committed_seeds, committed_budget, new_seeds, kept", [
    ([0, 1, 2], 168_000, [0], True), ([0], 168_000, [0, 1], False), (None, None, [], False),
    ([0, 1], 504_000, [0, 1], True),    # a complete larger budget is not replaced by a smaller one
    ([0, 1], 84_000, [0, 1], False)])
def test_a_table_of_fewer_complete_seeds_never_replaces_the_committed_one(base, tmp_path, monkeypatch, committed_seeds,
                                                                          committed_budget, new_seeds, kept):
    """A checkout that lost the runs, or a larger budget part-run, writes beside the runs instead."""
    results = tmp_path / "results"
    monkeypatch.setattr(efficiency, "RESULTS", results)
    monkeypatch.setattr(efficiency, "plot", lambda out, path: None)
    if committed_seeds is not None:
        results.mkdir()
        (results / "efficiency.json").write_text(json.dumps({"seeds": committed_seeds, "table": "committed",
                                                             "protocol": {"budget": committed_budget}}))
    per_seed = {"final_best": {s: 0.7 for s in new_seeds}, "compute_to_reach_flat_best": {s: 1000 for s in new_seeds}}
    out = {"seeds": new_seeds, "table": "new", "command": "c", "summary": {m: per_seed for m in efficiency.METHODS},
           "stage_changes": {}, "protocol": {"budget": 168_000}}
    folder = efficiency.write(out)
    assert (folder == base / "partial") is kept
    assert json.loads((results / "efficiency.json").read_text())["table"] == ("committed" if kept else "new")
