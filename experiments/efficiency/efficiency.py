"""Search efficiency in compute, on real trials: staged + multi-fidelity search against flat NGOpt at full
fidelity, flat NGOpt + multi-fidelity (to separate the two effects) and random search, at equal total compute.

    python -m experiments.efficiency.efficiency                      # 4 methods x seeds 0-9, 2 runs at a time
    python -m experiments.efficiency.efficiency --seeds 10 11 --jobs 1
    python -m experiments.efficiency.efficiency --aggregate-only     # tables + plot from the run folders
    python -m experiments.efficiency.efficiency --budget 504000      # 3x the compute: the same runs, extended

Task: experiments/efficiency/conf/stage/eff_tfbs.yaml, the whole stage-1 space (26 hyperparameters) on the
DeepBind ENCODE experiment ARID3A K562, 2,000 training and 1,000 validation sequences, objective val AUROC.
Full fidelity is 9 epochs (early stopping patience 2). Compute is epochs trained x training sequences
("epoch-sequences"), read from the ledger of every job each method ran (failed and low-rung jobs included).

Methods (each sweep a real ``python -m genarch ... -m`` multirun, every trial trained):

* ``flat``: NGOpt over the whole space, every trial at full fidelity, trials until ``BUDGET`` is spent (the
  sweep starts with ``FLAT_TRIALS`` trials and is extended, as a resumed sweep with a larger budget, by as
  many trials as the compute left needs at its mean cost so far: early stopping makes trials cheaper than
  planned).
* ``random``: the same with nevergrad's RandomSearch.
* ``flat_mf``: NGOpt with ``hydra.sweeper.fidelity`` ``MF`` (rungs of 1, 3 and 9 epochs, eta 3: of every 9
  candidates 3 go on to 3 epochs and 1 to 9, continuing from its checkpoint), ``MF_CANDIDATES`` candidates.
* ``staged_mf``: the same schedule in stages of ``STAGE_CANDIDATES`` candidates (two at the default
  budget). Stage 1 is swept by RandomSearch (an even sample for the analysis to read, as docs/stages.md
  advises for exploratory stages); then ``python -m genarch.analyze`` runs on it and stage 2 is its
  ``next_stage.yaml`` exactly as written (its optimizer, its pruned space, its ``warm_start`` from stage 1:
  carried-over trials are not retrained), stage 3 the suggestion after stage 2, and so on. A fork follows
  its first branch; no suggestion repeats the previous stage's space with another seed.

Equal compute: ``BUDGET`` = 168,000 epoch-sequences by default, what 36 multi-fidelity candidates plan (4
brackets of 9 at (9 x 1 + 3 x 2 + 1 x 6) x 2,000 = 42,000 each; early stopping makes them spend a little
less). Flat and random run until they have spent it; every curve, final best and compute-to-reach is cut at
``BUDGET``; each table says what was spent. ``--budget`` (a multiple of one stage, 84,000) runs the same
runs further: flat and random extend their sweeps, flat_mf its brackets, staged_mf adds stages; what ran
for a smaller budget is kept (every sweep replays deterministically), and each budget reads the stages and
candidates it planned (none a larger one added), so the smaller budget's table stays what it was.

Measure: best-so-far val AUROC over the *full-fidelity* results only (a 1-epoch score is not comparable
with a 9-epoch one), against the compute spent so far. Per seed, the compute each method needs to reach
the flat search's final best (unreached within ``BUDGET`` = never); the ratio of its median to the median
compute flat needs to reach its own final best, with a seed bootstrap 90% interval. Target: staged + MF
needs at most a third. Sweeps: experiments/runs/efficiency/<method>/seed<k>/ (git-ignored; the same command
resumes them; their ledgers, states and stage files are kept, committed, in experiments/results/sweeps/ and
restored in a new checkout: experiments/kept_sweeps.py). Outputs: experiments/results/efficiency.{json,md,png}.
"""

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import numpy as np
import yaml

from genarch.analysis.carry_over import set_warm_start, warm_start_entries
from genarch.ledger import finished_trials, rung_records

from experiments.kept_sweeps import keeping, restore
from experiments.tables import RESULTS, ROOT, RUNS, fmt, md_table, write_json

BASE = RUNS / "efficiency"
STAGE = "eff_tfbs"
STAGE_CONF = ROOT / "experiments" / "efficiency" / "conf"
FULL_EPOCHS, TRAIN = 9, 2000
MF = {"key": "trainer.max_epochs", "min": 1, "max": FULL_EPOCHS, "eta": 3}
FLAT_TRIALS, MF_CANDIDATES = 9, 36
BUDGET = 168_000  # epoch-sequences: what the multi-fidelity methods plan to spend (flat plans 162,000); --budget
STAGE_CANDIDATES = MF_CANDIDATES // 2  # a staged run's stage: 2 brackets of 9, 84,000 epoch-sequences planned
METHODS = ("staged_mf", "flat", "flat_mf", "random")
COLORS = {"staged_mf": "C0", "flat": "C1", "flat_mf": "C3", "random": "C2"}
RANDOM = "hydra.sweeper.optimizer=RandomSearch"


# --- running --------------------------------------------------------------------------------------------

def fidelity_override() -> str:
    return "hydra.sweeper.fidelity={" + ",".join(f"{k}:{v}" for k, v in MF.items()) + "}"


def sweep(sdir: Path, stage: str, budget: int, seed: int, extra: list[str], searchpath: list[Path]) -> None:
    """One stage swept as a user sweeps it (a subprocess: its own sweeper, launcher and crash); a finished sweep
    is left as it is, an unfinished one resumes from its ledger."""
    if (sdir / "optimization_results.yaml").exists():
        return
    paths = ",".join(f"file://{p}" for p in [*searchpath, STAGE_CONF])
    cmd = [sys.executable, "-m", "genarch", f"hydra.searchpath=[{paths}]", f"+stage={stage}",
           f"hydra.sweep.dir={sdir}", f"hydra.sweeper.budget={budget}", f"hydra.sweeper.seed={seed}",
           "++summary=false", "~hydra.callbacks.analysis", *extra, "-m"]
    sdir.parent.mkdir(parents=True, exist_ok=True)
    log_path = sdir.parent / f"{sdir.name}.log"
    with open(log_path, "a") as log:
        done = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the sweep of stage {stage!r} into {sdir} exited with {done.returncode}; see {log_path}")


def followed_suggestion(analysis_dir: Path) -> Optional[Path]:
    """The suggestion a staged run follows: next_stage.yaml, else the first fork branch; None if neither."""
    suggestion = analysis_dir / "next_stage.yaml"
    if suggestion.exists():
        return suggestion
    return next(iter(sorted(analysis_dir.glob("next_stage_*.yaml"))), None)


def as_stage(suggestion: Path, name: str) -> str:
    """The suggestion's text, unchanged but for its stage name (unique on Hydra's search path)."""
    text = suggestion.read_text()
    if "stage" in (yaml.safe_load(text) or {}):
        return "\n".join(f'stage: "{name}"' if line.startswith("stage:") else line for line in text.splitlines()) + "\n"
    return text + f'stage: "{name}"\n'


def mf_candidates(budget: int) -> int:
    """Candidates the multi-fidelity methods plan for ``budget`` (36 per 168,000 epoch-sequences)."""
    return MF_CANDIDATES * budget // 168_000


def n_stages(budget: int) -> int:
    return mf_candidates(budget) // STAGE_CANDIDATES


def run_staged(root: Path, seed: int) -> None:
    """Stage 1 (RandomSearch), then each next stage the analysis's suggestion after the one before, run as
    written: its optimizer, space and warm start; only budget, seed and the fidelity schedule are given."""
    fidelity = [fidelity_override()]
    sweep(root / "stage1", STAGE, STAGE_CANDIDATES, seed, [*fidelity, RANDOM], [])
    conf = root / "conf" / "stage"
    for k in range(2, n_stages(BUDGET) + 1):
        name, before = f"eff_s{seed}_{k}", root / f"stage{k - 1}"
        if not (conf / f"{name}.yaml").exists():
            done = subprocess.run([sys.executable, "-m", "genarch.analyze", str(before), "--quiet", "--no-html",
                                   "--no-plots"], cwd=ROOT, capture_output=True, text=True, check=False)
            if not (before / "analysis" / "analysis.json").exists():  # a crash must not pass for "no change"
                raise SystemExit(f"the analysis of {before} wrote nothing (exit {done.returncode}):\n"
                                 + (done.stderr or done.stdout)[-2000:])
            suggestion = followed_suggestion(before / "analysis")
            conf.mkdir(parents=True, exist_ok=True)
            if suggestion is None:  # nothing supported a change: the previous stage's space, another sweep seed,
                # told what the stages so far measured (the carry-over the analysis writes into a suggestion)
                previous = conf / f"eff_s{seed}_{k - 1}.yaml" if k > 2 else STAGE_CONF / "stage" / f"{STAGE}.yaml"
                text = as_stage(previous, name) if k > 2 else previous.read_text()
                (conf / f"{name}.yaml").write_text(set_warm_start(text, warm_start_entries(before, ROOT)))
            else:
                (conf / f"{name}.yaml").write_text(as_stage(suggestion, name))
                shutil.copyfile(suggestion, root / f"suggestion_after_stage{k - 1}.yaml")
        sweep(root / f"stage{k}", name, STAGE_CANDIDATES, 1000 * (k - 1) + seed, fidelity, [root / "conf"])


def run_one(method: str, seed: int) -> None:
    root = BASE / method / f"seed{seed}"
    with keeping(root):
        run_method(root, method, seed)


def run_method(root: Path, method: str, seed: int) -> None:
    if method == "staged_mf":
        run_staged(root, seed)
    elif method == "flat_mf":
        if (root / "optimization_results.yaml").exists() and not stopped(root) \
                and entered(root) < mf_candidates(BUDGET):
            (root / "optimization_results.yaml").unlink()  # a larger budget: the sweep resumes with more brackets
        sweep(root, STAGE, mf_candidates(BUDGET), seed, [fidelity_override()], [])
    else:
        extra = [RANDOM] if method == "random" else []
        budget = FLAT_TRIALS
        sweep(root, STAGE, budget, seed, extra, [])
        while spent(method, seed) < BUDGET:  # extend the sweep until it has spent the equal budget
            costs = [cost for cost, _, _ in jobs_of(root)]
            budget = len(costs) + max(1, math.ceil((BUDGET - sum(costs)) / (sum(costs) / len(costs))))
            (root / "optimization_results.yaml").unlink()
            sweep(root, STAGE, budget, seed, extra, [])


# --- reading --------------------------------------------------------------------------------------------

def sweep_dirs(method: str, seed: int) -> list[Path]:
    """The run's sweeps the budget plans, in run order (a staged run: its first ``n_stages`` stages; one
    that a larger budget added is not read, so a smaller budget reads what it planned)."""
    root = BASE / method / f"seed{seed}"
    return [root / f"stage{k}" for k in range(1, n_stages(BUDGET) + 1)] if method == "staged_mf" else [root]


def candidates_of(rungs: dict) -> list[int]:
    """A multi-fidelity sweep's candidates (each by its first rung job), in the order they entered, from its
    rung records (:func:`genarch.ledger.rung_records`)."""
    return sorted({int(r.get("trial", job)) for job, r in rungs.items()})


def entered(sdir: Path) -> int:
    return len(candidates_of(rung_records(sdir)))


def stopped(sdir: Path) -> bool:
    """The sweep ended by a stop rule (space exhausted, illegal models), not its budget: more budget would
    not run more of it."""
    try:
        return bool((yaml.safe_load((sdir / "optimization_results.yaml").read_text()) or {}).get("stopped"))
    except (OSError, yaml.YAMLError, AttributeError):
        return False


def finished(method: str, seed: int, jobs: Optional[list] = None) -> bool:
    """Every sweep the budget plans for the run ended (flat_mf: with the candidates it plans, unless a stop
    rule ended it), and flat / random have spent the budget (``jobs``: the run's, if read)."""
    dirs = sweep_dirs(method, seed)
    done = all((d / "optimization_results.yaml").exists() for d in dirs)
    if done and method == "flat_mf":
        return stopped(dirs[0]) or entered(dirs[0]) >= mf_candidates(BUDGET)
    if not done or method not in ("flat", "random"):
        return done
    return cost_of(run_jobs(method, seed) if jobs is None else jobs) >= BUDGET


def jobs_of(sdir: Path, max_candidates: Optional[int] = None) -> list[tuple[int, Optional[float], bool]]:
    """(epoch-sequences spent, val AUROC or None, full fidelity?) of each job of a sweep, in job order; a
    multi-fidelity sweep's jobs of its first ``max_candidates`` candidates only (what a budget planned)."""
    rungs = rung_records(sdir)
    planned = None if max_candidates is None else set(candidates_of(rungs)[:max_candidates])
    out = []
    for t in finished_trials(sdir):
        if t.rejected:
            continue
        if rungs:
            r = rungs.get(t.job, {})
            if planned is not None and int(r.get("trial", t.job)) not in planned:
                continue
            cost = (r.get("cost") or {}).get("epoch_sequences") or 0
            top = (r.get("fidelity") or {}).get(MF["key"]) == MF["max"]
        else:
            try:
                n_train = json.loads((sdir / t.dir / "result.json").read_text())["extra"]["n_train"]
            except (OSError, KeyError, TypeError, ValueError):
                n_train = TRAIN
            cost, top = int(t.record.get("epochs") or 0) * int(n_train), True
        out.append((int(cost), t.value if t.ok else None, top))
    return out


def run_jobs(method: str, seed: int) -> list[tuple[int, Optional[float], bool]]:
    """:func:`jobs_of` over a run's sweeps, in run order (a staged run's stages one after another)."""
    limit = mf_candidates(BUDGET) if method == "flat_mf" else None
    return [job for sdir in sweep_dirs(method, seed) for job in jobs_of(sdir, limit)]


def points_of(jobs: list) -> list[tuple[int, float]]:
    """(compute so far, best full-fidelity val AUROC so far) at every job that improved it."""
    spent_so_far, best, points = 0, None, []
    for cost, value, top in jobs:
        spent_so_far += cost
        if top and value is not None and (best is None or value > best):
            best = value
            points.append((spent_so_far, best))
    return points


def curve(method: str, seed: int) -> list[tuple[int, float]]:
    return points_of(run_jobs(method, seed))


def cost_of(jobs: list) -> int:
    """Compute (epoch-sequences) spent by ``jobs`` (:func:`run_jobs`)."""
    return sum(cost for cost, _, _ in jobs)


def spent(method: str, seed: int) -> int:
    return cost_of(run_jobs(method, seed))


def final_best(points: list) -> Optional[float]:
    """The best full-fidelity score within BUDGET (None: none yet)."""
    return max((b for c, b in points if c <= BUDGET), default=None)


def to_reach(points: list, target: float) -> Optional[int]:
    """The compute after which ``points``' best first reaches ``target`` within BUDGET (None: never)."""
    return next((c for c, b in points if b >= target and c <= BUDGET), None)


def paired_with_flat(finals: list, flats: list) -> Optional[dict]:
    """Final best against flat's, seed by seed: higher / lower / level, mean difference, Wilcoxon p."""
    diffs = np.array([a - b for a, b in zip(finals, flats) if a is not None and b is not None], dtype=float)
    if len(diffs) < 2 or not diffs.any():
        return None
    from scipy.stats import wilcoxon

    return {"higher": int((diffs > 0).sum()), "lower": int((diffs < 0).sum()), "level": int((diffs == 0).sum()),
            "mean_difference": float(diffs.mean()), "wilcoxon_p": float(wilcoxon(diffs[diffs != 0]).pvalue)}


def stage_change(seed: int, k: int = 1) -> str:
    """What the analysis of a staged run's stage ``k`` changed for the next (its suggestion's ``# Changes:``
    line)."""
    suggestion = BASE / "staged_mf" / f"seed{seed}" / f"suggestion_after_stage{k}.yaml"
    if not suggestion.exists():
        return f"no suggestion: stage {k}'s space again"
    line = next((x for x in suggestion.read_text().splitlines() if x.startswith("# Changes:")), "# Changes: ?")
    return line[len("# Changes:"):].strip()


def bootstrap(ours: list, flats: list, resamples: int = 10000) -> Optional[dict]:
    """5th/95th percentiles of median(ours) / median(flat) over seeds resampled together (never = inf)."""
    if len(ours) < 2:
        return None
    a = np.array([math.inf if v is None else v for v in ours], dtype=float)
    b = np.array(flats, dtype=float)
    picks = np.random.default_rng(0).integers(0, len(a), size=(resamples, len(a)))
    ratios = np.median(a[picks], axis=1) / np.median(b[picks], axis=1)
    return {"p05": float(np.percentile(ratios, 5, method="nearest")),
            "p95": float(np.percentile(ratios, 95, method="nearest")),
            "share_at_most_a_third": float(np.mean(ratios <= 1 / 3))}


def aggregate(seeds: list[int]) -> dict:
    jobs = {m: {s: run_jobs(m, s) for s in seeds} for m in METHODS}  # each ledger read once
    done = [s for s in seeds if all(finished(m, s, jobs[m][s]) for m in METHODS)]
    curves = {m: {s: points_of(jobs[m][s]) for s in done} for m in METHODS}
    flat_final = {s: final_best(curves["flat"][s]) for s in done if final_best(curves["flat"][s]) is not None}
    seeds_ok = sorted(flat_final)
    flat_own = [to_reach(curves["flat"][s], flat_final[s]) for s in seeds_ok]
    rows, summary = [], {}
    for m in METHODS:
        reach = [to_reach(curves[m][s], flat_final[s]) for s in seeds_ok]
        finals = [final_best(curves[m][s]) for s in seeds_ok]
        total = [min(cost_of(jobs[m][s]), BUDGET) for s in seeds_ok]
        med = statistics.median([math.inf if r is None else r for r in reach]) if reach else None
        ratio = med / statistics.median(flat_own) if reach else None
        summary[m] = {"compute_to_reach_flat_best": dict(zip(seeds_ok, reach)),
                      "final_best": dict(zip(seeds_ok, finals)),
                      "compute_spent": dict(zip(seeds_ok, total)), "median_to_reach": med, "ratio_to_flat": ratio,
                      "bootstrap": bootstrap(reach, flat_own)}
        summary[m]["final_best_vs_flat"] = paired_with_flat(finals, [flat_final[s] for s in seeds_ok])
        iv = summary[m]["bootstrap"]
        ok_finals = [f for f in finals if f is not None]
        vs = summary[m]["final_best_vs_flat"]
        rows.append([m, f"{sum(r is not None for r in reach)}/{len(reach)}",
                     "never" if med is None or math.isinf(med) else f"{med:,.0f}",
                     "-" if ratio is None or math.isinf(ratio) else f"{ratio:.2f}",
                     f"{iv['p05']:.2f}-{iv['p95']:.2f}" if iv else "-",
                     fmt(statistics.fmean(ok_finals) if ok_finals else None),
                     "-" if vs is None else f"{vs['higher']}/{vs['lower']} (p {vs['wilcoxon_p']:.3f})",
                     f"{statistics.fmean(total):,.0f}" if total else "-"])
    table = md_table(["method", "seeds reaching flat's best", "median compute to reach it", "ratio to flat",
                      "seed bootstrap 90%", "mean final best val AUROC", "final best above / below flat's",
                      "mean compute counted"], rows)
    out = {"protocol": {"stage_file": f"experiments/efficiency/conf/stage/{STAGE}.yaml", "full_epochs": FULL_EPOCHS,
                        "fidelity": fidelity_override(), "flat_trials": FLAT_TRIALS, "mf_candidates": MF_CANDIDATES,
                        "budget": BUDGET},
           "seeds": seeds_ok,
           "curves": {m: {str(s): c for s, c in curves[m].items()} for m in METHODS},
           "summary": summary, "table": table,
           "stage_changes": {s: {k: stage_change(s, k) for k in range(1, n_stages(BUDGET))} for s in seeds_ok},
           "command": "python -m experiments.efficiency.efficiency --seeds " + " ".join(map(str, seeds))
           + ("" if BUDGET == 168_000 else f" --budget {BUDGET}")}
    return out


def plot(out: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(0, BUDGET, 200)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for m in METHODS:
        rows = []
        for pts in out["curves"][m].values():
            rows.append([max((b for c, b in pts if c <= x), default=np.nan) for x in grid])
        if rows:  # drawn from the compute at which every seed has a full-fidelity result (no early flattery)
            ax.plot(grid / 1000, np.mean(np.array(rows, dtype=float), axis=0), color=COLORS[m], label=m)
    ax.set_xlabel("compute spent (thousand epoch x sequences)")
    ax.set_ylabel("best full-fidelity val AUROC (mean over seeds)")
    ax.set_title(f"Search efficiency on ARID3A K562, {len(out['seeds'])} seeds")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def destination(out: dict) -> Path:
    """experiments/results, unless the table there holds more complete seeds than ``out`` (runs lost with a
    checkout, or a larger budget part-run) or a larger budget: then ``out`` goes beside the runs, as
    ``partial/``, and the committed table stays."""
    try:
        committed = json.loads((RESULTS / "efficiency.json").read_text())
        more = len(committed.get("seeds") or []) > len(out["seeds"]) \
            or int((committed.get("protocol") or {}).get("budget") or 0) > int(out["protocol"]["budget"])
    except (OSError, ValueError, TypeError, AttributeError):
        more = False
    return BASE / "partial" if more else RESULTS


def write(out: dict) -> Path:
    folder = destination(out)
    if folder != RESULTS:
        print(f"{len(out['seeds'])} complete seed(s), fewer than the {RESULTS / 'efficiency.json'} committed: "
              f"that table stays; this one goes to {folder}/", flush=True)
    write_json(folder / "efficiency.json", out)
    lines = ["# Search efficiency in compute (real trials)", "", f"Command: `{out['command']}`", "",
             f"Seeds: {', '.join(map(str, out['seeds']))}; budget {BUDGET:,} epoch-sequences per method and seed.", "",
             out["table"], ""]
    per_seed = [[s] + [fmt(out["summary"][m]["final_best"][s]) + " / "
                       + (lambda r: "never" if r is None else f"{r / 1000:.0f}k")(out["summary"][m]
                                                                                 ["compute_to_reach_flat_best"][s])
                       for m in METHODS] for s in out["seeds"]]
    lines += ["Per seed: final best val AUROC / compute to reach flat's final best", "",
              md_table(["seed", *METHODS], per_seed), ""]
    lines += ["What the analysis of each stage changed for the next (staged_mf), per seed:", ""]
    lines += [f"* seed {s}: " + "; ".join(f"after stage {k}: {text}" for k, text in changes.items())
              for s, changes in out["stage_changes"].items()]
    (folder / "efficiency.md").write_text("\n".join(lines) + "\n")
    if out["seeds"]:
        plot(out, folder / "efficiency.png")
    return folder


def set_budget(budget: int) -> None:
    """The budget every run is planned for and every curve is cut at (``--budget``), refused unless it is a
    whole number of staged stages."""
    global BUDGET
    stage = 168_000 * STAGE_CANDIDATES // MF_CANDIDATES
    if budget < 2 * stage or budget % stage:
        raise SystemExit(f"--budget {budget}: give a multiple of one stage ({stage:,} epoch-sequences), at least "
                         f"two stages ({2 * stage:,})")
    BUDGET = budget


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    ap.add_argument("--jobs", type=int, default=2, help="runs (method, seed) at a time, one core each")
    ap.add_argument("--budget", type=int, default=BUDGET,
                    help=f"epoch-sequences per method and seed, a multiple of one stage ({BUDGET // 2:,}); "
                         "a larger one extends the runs made for a smaller one")
    ap.add_argument("--aggregate-only", action="store_true")
    ap.add_argument("--run", nargs=2, metavar=("METHOD", "SEED"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    set_budget(args.budget)
    if args.run:  # one (method, seed) in its own process, started below after the restore
        run_one(args.run[0], int(args.run[1]))
        return 0
    restore([BASE])  # runs kept from an earlier checkout: resumed and read, not run again
    if not args.aggregate_only:
        todo = [(m, s) for s in args.seeds for m in args.methods if not finished(m, s)]

        def one(item):
            m, s = item
            cmd = [sys.executable, "-m", "experiments.efficiency.efficiency", "--budget", str(BUDGET), "--run", m,
                   str(s)]
            rc = subprocess.run(cmd, cwd=ROOT, check=False).returncode
            print(f"{m} seed {s}: {'done' if rc == 0 else f'exit {rc}'}", flush=True)

        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            list(pool.map(one, todo))
    out = aggregate(args.seeds)
    write(out)
    print(out["table"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
