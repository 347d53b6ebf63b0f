"""Search efficiency: staged search (hook suggestions applied without hand edits) vs a flat Nevergrad
search vs random search, at equal total trial budgets, several seeds each, on real trials.

    python experiments/efficiency/efficiency.py                          # budget 40, 3 stages, seeds 0 1 2
    python experiments/efficiency/efficiency.py --budget 40 --seeds 0 1 2 3
    python experiments/efficiency/efficiency.py --aggregate-only

Task: the embedded synthetic TFBS default with the built-in broad stage (genarch/conf/stage/1.yaml:
2,000 sequences, 4 epochs, one thread; most trials take 1-10 s on this machine) - real training
runs, no surrogate. Methods, each with ``--budget`` trials in total per seed:

* ``staged``: stage 1 = conf/stage/1.yaml with budget/``--stages`` trials; then, ``--stages - 1`` times,
  ``python -m genarch.analyze`` on the last sweep and the next sweep runs its ``next_stage.yaml``
  exactly as written (copied to experiments/runs/efficiency/.../conf/stage/; only the budget and the
  sweep seed are set on the command line). On a fork the first branch file (``next_stage.yaml``) is
  followed.
* ``flat``: conf/stage/1.yaml's whole space with NGOpt and the full budget.
* ``random``: the same space with nevergrad's ``RandomSearch`` and the full budget.

Score = the trial's val AUROC; best-so-far is taken over the trials in run order (stages one after
another). Reported: best-so-far curves (mean over seeds), and for each method the number of trials it
needs to reach the flat search's final best (per seed, against the flat run of the same seed).
Sweeps live in experiments/runs/efficiency/b<budget>_s<stages>/<method>/seed<k>/ (git-ignored); re-running resumes them.
Outputs: experiments/results/efficiency.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import yaml

from genarch.ledger import load_trials

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tables import RESULTS, ROOT, RUNS, best_so_far, fmt, md_table, trials_to_reach, write_json  # noqa: E402

BASE = RUNS / "efficiency"  # + /b<budget>_s<stages> (set in main), so different budgets never share a sweep


def set_base(args) -> None:
    global BASE
    BASE = RUNS / "efficiency" / f"b{args.budget}_s{args.stages}"


def ledger_values(sdir: Path) -> list:
    """Each finished trial's objective in job order (None for a failed one; rejected candidates left out)."""
    return [t.value if t.status == "ok" else None for t in load_trials(sdir)
            if t.status != "running" and not t.record.get("rejected")]


def sweep(sdir: Path, stage: str, budget: int, seed: int, extra: list[str], searchpath: Path | None = None) -> None:
    if len(ledger_values(sdir)) >= budget and (sdir / "optimization_results.yaml").exists():
        return
    cmd = [sys.executable, "-m", "genarch", f"+stage={stage}", f"hydra.sweep.dir={sdir}",
           f"hydra.sweeper.budget={budget}", f"hydra.sweeper.seed={seed}", "++summary=false", *extra, "-m"]
    if searchpath:
        cmd.insert(3, f"hydra.searchpath=[file://{searchpath}]")
    with open(sdir.parent / f"{sdir.name}.log", "a") as log:
        subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False)


def run_staged(args, seed: int) -> None:
    root = BASE / "staged" / f"seed{seed}"
    root.mkdir(parents=True, exist_ok=True)
    per_stage = [args.budget // args.stages + (1 if i < args.budget % args.stages else 0) for i in range(args.stages)]
    conf = root / "conf" / "stage"
    conf.mkdir(parents=True, exist_ok=True)
    stage, searchpath = "1", None
    for i, budget in enumerate(per_stage):
        sdir = root / f"stage{i + 1}"
        # stage i sweeps with seed 1000 * i + seed: a repeated stage (no suggestion) does not replay its candidates
        sweep(sdir, stage, budget, 1000 * i + seed, [], searchpath)
        if i + 1 == len(per_stage):
            break
        subprocess.run([sys.executable, "-m", "genarch.analyze", str(sdir), "--quiet", "--no-html"],
                       cwd=ROOT, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        suggestion = sdir / "analysis" / "next_stage.yaml"
        if not suggestion.exists():
            forks = sorted((sdir / "analysis").glob("next_stage_*.yaml"))
            if not forks:
                print(f"staged seed {seed}: no suggestion after stage {i + 1}; repeating the same stage", flush=True)
                continue
            suggestion = forks[0]
        name = f"eff_s{seed}_{i + 2}"
        text = suggestion.read_text()
        # the suggestion is used as written; only its stage name is made unique for Hydra's search path
        data = yaml.safe_load(text) or {}
        if "stage" in data:
            text = "\n".join(f'stage: "{name}"' if line.startswith("stage:") else line for line in text.splitlines()) + "\n"
        else:
            text += f'stage: "{name}"\n'
        (conf / f"{name}.yaml").write_text(text)
        shutil.copyfile(suggestion, root / f"suggestion_after_stage{i + 1}.yaml")
        stage, searchpath = name, root / "conf"


def run_flat(args, seed: int, method: str) -> None:
    root = BASE / method
    root.mkdir(parents=True, exist_ok=True)
    extra = [] if method == "flat" else ["hydra.sweeper.optimizer=RandomSearch"]
    sweep(root / f"seed{seed}", "1", args.budget, seed, extra)


def values_of(method: str, seed: int) -> list:
    if method == "staged":
        root = BASE / "staged" / f"seed{seed}"
        out: list = []
        for sdir in sorted(root.glob("stage*"), key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else 0):
            if sdir.is_dir():
                out += ledger_values(sdir)
        return out
    return ledger_values(BASE / method / f"seed{seed}")


def aggregate(args) -> dict:
    methods = ["staged", "flat", "random"]
    curves = {m: {} for m in methods}
    for m in methods:
        for sd in sorted(p for p in (BASE / m).glob("seed*") if p.is_dir()):
            seed = int(sd.name[4:])
            vals = values_of(m, seed)
            if vals:
                curves[m][seed] = vals
    reach = {m: {} for m in methods}
    for seed, flat_vals in curves["flat"].items():
        if len(flat_vals) < args.budget:
            continue  # the flat search of this seed is not finished: its final best is not known yet
        target = max(v for v in flat_vals if v is not None)
        for m in methods:
            if seed in curves[m] and len(curves[m][seed]) >= args.budget:
                reach[m][seed] = trials_to_reach(curves[m][seed][:args.budget], target)
    summary = {}
    for m in methods:
        got = [r for r in reach[m].values()]
        finished = [r for r in got if r is not None]
        summary[m] = {"seeds_complete": len(got), "reached": len(finished),
                      "median_trials_to_reach_flat_best": statistics.median(finished) if finished else None,
                      "mean_trials_to_reach_flat_best": statistics.fmean(finished) if finished else None,
                      "final_best_mean": statistics.fmean(max(v for v in c[:args.budget] if v is not None)
                                                          for c in curves[m].values() if any(v is not None for v in c))
                      if curves[m] else None}
    ratio = None
    if summary["staged"]["median_trials_to_reach_flat_best"] and summary["flat"]["median_trials_to_reach_flat_best"]:
        ratio = summary["staged"]["median_trials_to_reach_flat_best"] / summary["flat"]["median_trials_to_reach_flat_best"]
    out = {"task": "synthetic_tfbs (embedded default), genarch/conf/stage/1.yaml space, real trials (no surrogate)",
           "budget": args.budget, "stages": args.stages, "curves": curves, "trials_to_reach_flat_best": reach,
           "summary": summary, "staged_over_flat_median_ratio": ratio, "target": "<= 1/3"}
    out["runs"] = str(BASE.relative_to(ROOT))
    write_json(RESULTS / "efficiency.json", out)
    rows = [[m, s["seeds_complete"], f"{s['reached']}/{s['seeds_complete']}", fmt(s["median_trials_to_reach_flat_best"], 1),
             fmt(s["mean_trials_to_reach_flat_best"], 1), fmt(s["final_best_mean"])] for m, s in summary.items()]
    lines = ["# Search efficiency: staged vs flat NGOpt vs random search", "",
             f"Task: {out['task']}. Budget {args.budget} trials per method and seed; staged = {args.stages} stages, "
             "each next stage the analysis' next_stage.yaml as written. Command: "
             "`python experiments/efficiency/efficiency.py` (`--aggregate-only` to rebuild).", "",
             md_table(["method", "seeds complete", "reached flat best", "median trials to reach",
                       "mean trials to reach", "mean final best val AUROC"], rows), "",
             f"Staged / flat median trials-to-reach ratio: **{fmt(ratio, 2)}** (target <= 0.33). A seed counts once "
             "the flat run and the method's run of that seed both have the full budget.", "",
             "![best so far](efficiency.png)", ""]
    (RESULTS / "efficiency.md").write_text("\n".join(lines))
    _plot(curves, args.budget)
    return out


def _plot(curves, budget) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4))
    for m, per in curves.items():
        for seed, vals in per.items():
            b = [np.nan if v is None else v for v in best_so_far(vals[:budget])]
            ax.plot(range(1, len(b) + 1), b, alpha=0.25, color={"staged": "C0", "flat": "C1", "random": "C2"}[m])
        full = [best_so_far(v[:budget]) for v in per.values() if len(v) >= budget]
        if full:
            mean = np.nanmean(np.array([[np.nan if x is None else x for x in f] for f in full]), axis=0)
            ax.plot(range(1, budget + 1), mean, lw=2.5, color={"staged": "C0", "flat": "C1", "random": "C2"}[m],
                    label=f"{m} (mean of {len(full)} seeds)")
    ax.set_xlabel("trials")
    ax.set_ylabel("best val AUROC so far")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "efficiency.png", dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--stages", type=int, default=3)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--methods", nargs="+", default=["staged", "flat", "random"])
    ap.add_argument("--aggregate-only", action="store_true")
    args = ap.parse_args()
    set_base(args)
    if not args.aggregate_only:
        for seed in args.seeds:
            for m in args.methods:
                run_staged(args, seed) if m == "staged" else run_flat(args, seed, m)
                aggregate(args)
    aggregate(args)


if __name__ == "__main__":
    main()
