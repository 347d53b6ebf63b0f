"""Real-trial search efficiency: how much of the staged-vs-flat comparison the validation set can resolve.

    python -m experiments.efficiency.selection_noise                 # every seed whose run folders are here
    python -m experiments.efficiency.selection_noise --seeds 18 19 20
    python -m experiments.efficiency.selection_noise --set dataset.val_fraction=0.333   # the 1,000-sequence-val variant
    python -m experiments.efficiency.selection_noise --method staged_warm --set dataset.val_fraction=0.333

Reads the run folders of ``efficiency.py --task real`` (budget 150, stages of 25; git-ignored, so only
the seeds run on this machine). Every real trial there was scored on two held-out sets:

* the validation set the searches maximise: 224 sequences carved from the ARID3A K562 training file
  (112 bound + their dinucleotide shuffles); 1,000 (500 + 500) in the ``--set dataset.val_fraction=0.333``
  variant (the size is read from the trials' result.json);
* the B test file: 1,000 sequences (500 + 500), which no search and no analysis reads.

Per seed and method it takes the model the search hands over (the trial with the best val AUROC
within the budget) and reports its test AUROC, then compares staged and flat paired by seed. It
also reports how well val AUROC ranks trials (Spearman against test AUROC, over all trials and over
each run's top tenth) and the Hanley-McNeil standard error of one AUROC on each set. The trials-to-
reach measure of efficiency.py is repeated with test AUROC as the score: does a run *sample* a
model as good as the best one flat NGOpt sampled, measured on the larger set? This is a check of
the measurement, not a replacement for it: the searches themselves only ever see val AUROC.

Outputs: experiments/results/efficiency_real_selection[<variant>].{json,md}.
"""

from __future__ import annotations

import argparse
import math
import statistics

from scipy.stats import spearmanr

from genarch.result import RESULT_FILE, read_result

from experiments.efficiency import efficiency as eff
from experiments.tables import RESULTS, fmt, md_table, trials_to_reach, write_json

STAGED, FLAT = "staged_random", "flat"


def hanley_mcneil_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUROC ``auc`` measured on ``n_pos`` positives and ``n_neg`` negatives
    (Hanley & McNeil 1982)."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return math.sqrt(var)


def scores(trials: list, budget: int) -> list:
    """(val AUROC, test AUROC) of a run's first ``budget`` trials in run order; (None, None) for a failed
    one. A finished trial whose test AUROC is undefined keeps its val AUROC, so the handed-over model is
    the run's best val trial exactly as the efficiency tables take it; its test is None."""
    out = []
    for t in trials[:budget]:
        test = (t.metrics.get("test") or {}).get("auroc") if t.status == "ok" else None
        out.append((t.value, test) if t.status == "ok" and t.value is not None else (None, None))
    return out


def handed_over(run: list) -> "tuple[int, float, float] | None":
    """(1-based trial, val, test) of the trial with the best val AUROC (the first one on a tie)."""
    ok = [(i, v, t) for i, (v, t) in enumerate(run, start=1) if v is not None]
    return max(ok, key=lambda x: (x[1], -x[0])) if ok else None


def seed_row(staged: list, flat: list) -> dict:
    """Everything this experiment reports of one seed, from the two runs' (val, test) score lists."""
    s_sel, f_sel = handed_over(staged), handed_over(flat)
    flat_test = [t for _, t in flat]
    test_target = max(t for t in flat_test if t is not None)
    return {"staged_handed_over": {"trial": s_sel[0], "val": s_sel[1], "test": s_sel[2]},
            "flat_handed_over": {"trial": f_sel[0], "val": f_sel[1], "test": f_sel[2]},
            "flat_best_test_sampled": test_target,
            "by_test_trials_to_reach": {STAGED: trials_to_reach([t for _, t in staged], test_target),
                                        FLAT: trials_to_reach(flat_test, test_target)}}


def ranking_quality(runs: list[list]) -> dict:
    """Spearman of val against test AUROC over all finished trials, and over each run's top tenth by val."""
    every = [(v, t) for run in runs for v, t in run if v is not None and t is not None]
    top = []
    for run in runs:
        ok = sorted(((v, t) for v, t in run if v is not None and t is not None), reverse=True)
        top += ok[:max(2, len(ok) // 10)]

    def rho(pairs):
        return float(spearmanr([v for v, _ in pairs], [t for _, t in pairs]).statistic) if len(pairs) > 2 else None

    return {"trials": len(every), "spearman_all": rho(every), "top_tenth_trials": len(top),
            "spearman_top_tenth": rho(top)}


def val_size(seeds: list[int]) -> int:
    """The number of val sequences of these runs, from the first flat trial's result.json that has it."""
    for seed in seeds:
        sdir = eff.method_root(FLAT) / f"seed{seed}"
        for t in eff.ledger_trials(sdir):
            if (sdir / str(t.dir) / RESULT_FILE).is_file():
                n = (read_result(sdir / str(t.dir)).get("extra") or {}).get("n_val")
                if n:
                    return int(n)
    raise SystemExit(f"no result.json with extra.n_val under {eff.method_root(FLAT)}: cannot size the val set")


def analyse(seeds: list[int], budget: int, n_val: int = 224) -> dict:
    runs, rows = {}, {}
    for seed in seeds:
        staged = scores(eff.trials_of(STAGED, seed), budget)
        flat = scores(eff.trials_of(FLAT, seed), budget)
        if len(staged) < budget or len(flat) < budget:
            continue  # unfinished: its handed-over model is not known yet
        runs[seed] = (staged, flat)
        rows[seed] = seed_row(staged, flat)
    if len(rows) < 2:
        raise SystemExit(f"fewer than two seeds with both real runs finished under {eff.BASE.parent}; "
                         "run experiments/efficiency/efficiency.py --task real first")
    censored = budget + 1
    reach = {m: {sd: r["by_test_trials_to_reach"][m] for sd, r in rows.items()} for m in (STAGED, FLAT)}

    def med(m):
        return statistics.median(censored if v is None else v for v in reach[m].values())

    val_mean = statistics.fmean(r[k]["val"] for r in rows.values() for k in ("staged_handed_over", "flat_handed_over"))
    test_mean = statistics.fmean(t for r in rows.values() for k in ("staged_handed_over", "flat_handed_over")
                                 if (t := r[k]["test"]) is not None)
    final_gap = [abs(r["staged_handed_over"]["val"] - r["flat_handed_over"]["val"]) for r in rows.values()]
    return {
        "task": "real trials: ARID3A K562, 2,000 training sequences, 4 epochs (efficiency.py --task real"
                + eff.set_flags(eff.SETS) + ")",
        "budget": budget, "seeds": sorted(rows), "per_seed": rows,
        "handed_over_test_vs_flat": eff.paired_comparison(
            [(r["staged_handed_over"]["test"], r["flat_handed_over"]["test"]) for r in rows.values()]),
        "handed_over_val_vs_flat": eff.paired_comparison(
            [(r["staged_handed_over"]["val"], r["flat_handed_over"]["val"]) for r in rows.values()]),
        "mean_handed_over": {m: {"val": statistics.fmean(r[f"{k}_handed_over"]["val"] for r in rows.values()),
                                 "test": statistics.fmean(t for r in rows.values()
                                                          if (t := r[f"{k}_handed_over"]["test"]) is not None)}
                             for m, k in ((STAGED, "staged"), (FLAT, "flat"))},
        "ranking": ranking_quality([run for pair in runs.values() for run in pair]),
        # label counts of the two sets (the val set is balanced by construction: each positive with its shuffle)
        "auroc_standard_error": {f"val ({n_val // 2} + {n_val // 2})": hanley_mcneil_se(val_mean, n_val // 2,
                                                                                         n_val // 2),
                                 "test (500 + 500)": hanley_mcneil_se(test_mean, 500, 500),
                                 "at_auroc": {"val": val_mean, "test": test_mean}},
        "median_abs_final_best_val_difference": statistics.median(final_gap),
        "by_test": {"median_trials_to_reach": {m: med(m) for m in (STAGED, FLAT)},
                    "reached": {m: sum(v is not None for v in reach[m].values()) for m in (STAGED, FLAT)},
                    "ratio": med(STAGED) / med(FLAT),
                    "bootstrap": eff.bootstrap_median_ratio(reach[STAGED], reach[FLAT], censored)},
    }


def markdown(out: dict, command: str) -> str:
    rows = []
    for sd, r in out["per_seed"].items():
        s, f, rt = r["staged_handed_over"], r["flat_handed_over"], r["by_test_trials_to_reach"]
        rows.append([sd, f"{fmt(s['val'])} / {fmt(s['test'])}", f"{fmt(f['val'])} / {fmt(f['test'])}",
                     fmt(r["flat_best_test_sampled"]),
                     "not reached" if rt[STAGED] is None else rt[STAGED], rt[FLAT]])
    se, rk, bt = out["auroc_standard_error"], out["ranking"], out["by_test"]
    iv = bt["bootstrap"]
    lines = [
        "# Real-trial search efficiency: what the validation set can resolve", "",
        f"{out['task']}; budget {out['budget']}; seeds {', '.join(map(str, out['seeds']))} (those with run folders "
        f"here). Command: `{command}`.", "",
        md_table(["seed", f"{STAGED} handed over: val / test AUROC", "flat NGOpt handed over: val / test AUROC",
                  "best test AUROC flat sampled", f"{STAGED} trials to sample it", "flat trials to sample it"], rows),
        "",
        "Standard error of one AUROC (Hanley-McNeil, at the handed-over models' mean): "
        + ", ".join(f"{k} {v:.4f}" for k, v in se.items() if k != "at_auroc")
        + ". Median |staged - flat| final best val AUROC over these seeds: "
        f"{out['median_abs_final_best_val_difference']:.4f}.",
        "",
        f"Val AUROC against test AUROC, Spearman: {fmt(rk['spearman_all'])} over all {rk['trials']} finished trials, "
        f"{fmt(rk['spearman_top_tenth'])} over each run's top tenth by val ({rk['top_tenth_trials']} trials).", "",
        eff.paired_text(f"Handed-over model, {STAGED} vs flat, val AUROC (what the searches maximise)",
                        out["handed_over_val_vs_flat"]), "",
        eff.paired_text(f"Handed-over model, {STAGED} vs flat, test AUROC (never read by a search)",
                        out["handed_over_test_vs_flat"]), "",
        f"Trials to sample a model with flat's best test AUROC: median {bt['median_trials_to_reach'][STAGED]} "
        f"({STAGED}, reached on {bt['reached'][STAGED]}/{len(out['seeds'])}) vs "
        f"{bt['median_trials_to_reach'][FLAT]} (flat), ratio **{bt['ratio']:.2f}**"
        + (f" (seed bootstrap 90% interval {iv['p05']:.2f}-{iv['p95']:.2f}; "
           f"{100 * iv['share_at_most_a_third']:.1f}% of resamples at or below 1/3)" if iv else "") + ".", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", nargs="+", type=int, help="default: every seed with both run folders here")
    ap.add_argument("--budget", type=int, default=150)
    ap.add_argument("--stage-size", type=int, default=25)
    ap.add_argument("--out", help="default: efficiency_real_selection + the variant's suffix")
    ap.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="the variant's overrides, as given to efficiency.py")
    ap.add_argument("--method", default="staged_random",
                    choices=[m for m, (staged, *_) in eff.METHODS.items() if staged],
                    help="the staged method compared with flat (default staged_random)")
    args = ap.parse_args()
    global STAGED
    STAGED = args.method
    eff.set_base(argparse.Namespace(task="real", budget=args.budget, stage_size=args.stage_size, set=args.set))
    args.out = args.out or ("efficiency_real_selection" + ("" if STAGED == "staged_random" else f"_{STAGED}")
                            + eff.variant_suffix(eff.SETS))
    seeds = args.seeds or sorted({sd for sd, _ in eff.seed_dirs(eff.method_root(STAGED))}
                                 & {sd for sd, _ in eff.seed_dirs(eff.method_root(FLAT))})
    out = analyse(seeds, args.budget, val_size(seeds))
    command = ("python -m experiments.efficiency.selection_noise --seeds " + " ".join(map(str, out["seeds"]))
               + ("" if STAGED == "staged_random" else f" --method {STAGED}") + eff.set_flags(eff.SETS))
    out["command"] = command
    write_json(RESULTS / f"{args.out}.json", out)
    (RESULTS / f"{args.out}.md").write_text(markdown(out, command))
    print(markdown(out, command))


if __name__ == "__main__":
    main()
