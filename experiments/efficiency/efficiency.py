"""Search efficiency: staged search (hook suggestions applied without hand edits) vs a flat Nevergrad
search vs random search, at equal total trial budgets, several seeds each.

    python -m experiments.efficiency.surrogate collect && python -m experiments.efficiency.surrogate fit
    python -m experiments.efficiency.efficiency                          # surrogate task, budget 150, seeds 0-4
    python -m experiments.efficiency.efficiency --task real --budget 60 --seeds 0 1 2
    python -m experiments.efficiency.efficiency --aggregate-only
    python -m experiments.efficiency.efficiency --task real --methods staged_random flat --seeds 0 ... 23 \
--prior experiments/results/efficiency_real.json

Task: the whole stage-1 space on one real DeepBind ENCODE experiment
(experiments/efficiency/conf/stage/eff_tfbs.yaml: ARID3A K562, 2,000 training sequences, 4 epochs).
``--task surrogate`` (default) scores each trial with a random forest fit on >= 300 real trials of
that task (experiments/efficiency/surrogate.py; its cross-validated quality is reported) through
experiments/efficiency/surrogate_app.py: the same sweeper, ledger and analysis, milliseconds a trial.
``--task real`` trains every trial (``python -m genarch``), affordable only for small budgets here.

Methods, each with ``--budget`` trials in total per seed:

* ``staged``: stage 1 = eff_tfbs.yaml; every stage has ``--stage-size`` trials (the last one what is
  left of the budget); after each stage ``python -m genarch.analyze`` runs on it and the next sweep
  runs its ``next_stage.yaml`` exactly as written (copied to .../conf/stage/; only the budget and the
  sweep seed are set on the command line). On a fork the first branch file is followed; with no
  suggestion the same stage runs again with another sweep seed.
* ``staged_random`` (``--methods``): the same, but every stage is swept by ``RandomSearch``
  (``hydra.sweeper.optimizer`` on the command line): each stage samples its space evenly, which is
  what the analysis of that stage assumes, instead of NGOpt's adaptive, clustered samples.
* ``staged_warm``: ``staged`` (NGOpt stages), and each stage's sweep is first told the earlier stages'
  trials that lie inside its space (``hydra.sweeper.warm_start``): NGOpt continues from what the
  earlier stages measured instead of exploring the narrowed space afresh.
* ``flat``: eff_tfbs.yaml's whole space with NGOpt and the full budget.
* ``random``: the same space with nevergrad's ``RandomSearch`` and the full budget.

Score = the trial's val AUROC; best-so-far is taken over the trials in run order (stages one after
another). Reported: best-so-far curves (mean over seeds), and for each method the number of trials it
needs to reach the flat search's final best (per seed, against the flat run of the same seed), and the
ratio of the staged search's median to the flat search's median.
Sweeps live in experiments/runs/efficiency/<task>_b<budget>_st<stage size>/<method>/seed<k>/
(git-ignored); re-running resumes them. Outputs: experiments/results/efficiency[_real].{json,md,png}.
A fresh checkout has no run folders: ``--prior <results JSON>`` reads the seeds it lacks from an
earlier results JSON of the same protocol (budget, stage sizes, space, task), so new seeds extend the
table instead of re-running the old ones; the table names the seeds read that way.
A (method, seed) whose finished curve ``--prior`` holds, and that has no run folder here, is not trained
again. ``--rerun TAG`` runs the methods on its command line again with today's code and machine (after an
analysis change, say) into ``..._rerun-TAG/`` folders; given the original run's results JSON as
``--prior``, it compares each re-run seed with the original's (``before_rerun``; the original's flat
seeds stand in for flat seeds not re-run), and keeps the original's curves in its own JSON
(``rerun_of``), which rebuilds the re-run's table as ``--prior`` on a machine without its folders.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from scipy.stats import binomtest, wilcoxon

from genarch.ledger import load_trials

from experiments.tables import RESULTS, ROOT, RUNS, best_so_far, fmt, md_table, trials_to_reach, write_json

BASE = RUNS / "efficiency"  # + /<task>_b<budget>_st<stage size> (set in main): budgets never share a sweep
STAGE = "eff_tfbs"
STAGE_CONF = ROOT / "experiments" / "efficiency" / "conf"
APPS = {"surrogate": ["-m", "experiments.efficiency.surrogate_app"], "real": ["-m", "genarch"]}
TASK = "surrogate"
NO_CALLBACK = "~hydra.callbacks.analysis"  # the staged method runs the analysis itself; flat/random need none
# method -> (staged?, optimizer set on the command line for every sweep (None = the stage file's own, NGOpt),
#            analysis pools the earlier stages' trials that lie inside the stage's space?,
#            each stage's sweep is told the earlier stages' trials inside its space (hydra.sweeper.warm_start)?)
METHODS = {"staged": (True, None, False, False), "staged_random": (True, "RandomSearch", False, False),
           "staged_pooled": (True, "RandomSearch", True, False), "staged_warm": (True, None, False, True),
           "flat": (False, None, False, False), "random": (False, "RandomSearch", False, False)}
COLORS = {"staged": "C0", "staged_random": "C3", "staged_pooled": "C4", "staged_warm": "C5", "flat": "C1",
          "random": "C2"}
FLAT_BASE = BASE  # + /<task>_b<budget>: flat and random do not depend on the stage size
SETS: list = []  # --set overrides, given to every sweep of every method (a protocol variant of the stage file)
RERUN: "str | None" = None  # --rerun TAG: the methods run again into their own folders (..._rerun-TAG)


def variant_suffix(sets: list) -> str:
    """The run-folder and results-name suffix of a protocol variant: '' for none, else its overrides
    made path-safe (``dataset.val_fraction=0.333`` -> ``_dataset.val_fraction-0.333``), so a variant's
    seeds never resume into, or share a table with, the plain protocol's."""
    return "".join("_" + re.sub(r"[^A-Za-z0-9._-]", "-", s) for s in sets)


def set_flags(sets: "list | None") -> str:
    """The ``--set`` options that reproduce a variant on a command line ('' for none; each with a leading space)."""
    return "".join(f" --set {s}" for s in sets or [])


def set_base(args) -> None:
    global BASE, FLAT_BASE, TASK, SETS, RERUN
    TASK = args.task
    SETS = list(args.set or [])
    RERUN = getattr(args, "rerun", None)
    if RERUN is not None and not re.fullmatch(r"[A-Za-z0-9._-]+", RERUN):
        raise SystemExit(f"--rerun {RERUN!r}: a tag of letters, digits, '.', '_' or '-' (it names run folders)")
    for item in SETS:
        if "=" not in item or item.startswith(("hydra.", "+stage", "stage")):
            raise SystemExit(f"--set {item!r}: give KEY=VALUE of the trial config (dataset.*, trainer.*, ...); "
                             "hydra.* and the stage are set by this script")
    # a re-run (--rerun TAG), e.g. after an analysis change or on another machine, never resumes into the
    # folders of the run it re-runs
    suffix = variant_suffix(SETS) + (f"_rerun-{RERUN}" if RERUN else "")
    BASE = RUNS / "efficiency" / f"{args.task}_b{args.budget}_st{args.stage_size}{suffix}"
    FLAT_BASE = RUNS / "efficiency" / f"{args.task}_b{args.budget}{suffix}"


def method_root(method: str) -> Path:
    return (BASE if METHODS[method][0] else FLAT_BASE) / method


def ledger_trials(sdir: Path) -> list:
    """Each finished trial of a sweep in job order (failed ones included; rejected candidates left out)."""
    return [t for t in load_trials(sdir) if t.status != "running" and not t.record.get("rejected")]


def analyse_stage(argv: list[str]) -> int:
    """The post-sweep analysis of one stage, in-process through genarch's analysis entry point (quiet, no HTML or
    plots: only the suggested next stage is read). Its exit status is not checked: a stage with nothing to
    analyse writes no suggestion, and the experiment repeats the stage."""
    import contextlib
    import io

    from genarch.analyze import main as analyze

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return analyze([*argv, "--quiet", "--no-html", "--no-plots"])


def sweep(sdir: Path, stage: str, budget: int, seed: int, extra: list[str], searchpath: list[Path]) -> None:
    if len(ledger_trials(sdir)) >= budget and (sdir / "optimization_results.yaml").exists():
        return
    paths = ",".join(f"file://{p}" for p in [*searchpath, STAGE_CONF])
    cmd = [sys.executable, *APPS[TASK], f"hydra.searchpath=[{paths}]", f"+stage={stage}", f"hydra.sweep.dir={sdir}",
           f"hydra.sweeper.budget={budget}", f"hydra.sweeper.seed={seed}", "++summary=false", NO_CALLBACK, *SETS,
           *extra, "-m"]
    log_path = sdir.parent / f"{sdir.name}.log"
    # a subprocess on purpose: a sweep is a Hydra multirun (`-m`) with its own sweeper, launcher and callbacks,
    # started exactly as a user starts one; its process state and a crash stay out of the experiment's loop
    with open(log_path, "a") as log:
        done = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        # a sweep that could not run (a missing package, a bad stage file) must not read as a stage of failed trials
        raise SystemExit(f"the sweep of stage {stage!r} into {sdir} exited with {done.returncode}; see {log_path}")


def stage_budgets(budget: int, size: int) -> list[int]:
    """``size`` trials a stage, the last stage what is left (at least ``size``)."""
    n = max(1, budget // size)
    return [size] * (n - 1) + [budget - size * (n - 1)]


def stage_name(seed: int, number: int) -> str:
    """The name under which stage ``number`` (>= 2) of a staged run of ``seed`` is written to its conf/stage/."""
    return f"eff_s{seed}_{number}"


def followed_suggestion(analysis_dir: Path) -> "Path | None":
    """The suggestion a staged run follows: next_stage.yaml, else the first fork branch; None if neither."""
    suggestion = analysis_dir / "next_stage.yaml"
    if suggestion.exists():
        return suggestion
    return next(iter(sorted(analysis_dir.glob("next_stage_*.yaml"))), None)


def seed_dirs(root: Path) -> list[tuple[int, Path]]:
    """(seed, folder) of every seed<k>/ folder under a method's root, by seed."""
    return sorted((int(p.name[4:]), p) for p in root.glob("seed*") if p.is_dir() and p.name[4:].isdigit())


def applied_suggestions(seed_dir: Path) -> list[tuple[int, Path]]:
    """(stage number, copy of the suggestion applied after it) of one staged run, in stage order."""
    found = [(int(p.stem.rsplit("stage", 1)[1]), p) for p in seed_dir.glob("suggestion_after_stage*.yaml")]
    return sorted(found)


def run_staged(args, seed: int, method: str = "staged") -> None:
    root = method_root(method) / f"seed{seed}"
    _, optimizer, pool, warm_start = METHODS[method]
    extra = [f"hydra.sweeper.optimizer={optimizer}"] if optimizer else []
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "conf" / "stage"
    conf.mkdir(parents=True, exist_ok=True)
    stage, searchpath = STAGE, []
    budgets = stage_budgets(args.budget, args.stage_size)
    for i, budget in enumerate(budgets):
        sdir = root / f"stage{i + 1}"
        # stage i sweeps with seed 1000 * i + seed: a repeated stage (no suggestion) does not replay its candidates
        warm = [f"hydra.sweeper.warm_start=[{','.join(repr(str(root / f'stage{j + 1}')) for j in range(i))}]"] \
            if warm_start and i else []
        sweep(sdir, stage, budget, 1000 * i + seed, extra + warm, searchpath)
        if i + 1 == len(budgets):
            break
        pooled = [f"--pool={root / f'stage{j + 1}'}" for j in range(i)] if pool else []
        analyse_stage([str(sdir), *pooled])
        suggestion = followed_suggestion(sdir / "analysis")
        if suggestion is None:
            print(f"{method} seed {seed}: no suggestion after stage {i + 1}; repeating the same stage", flush=True)
            continue
        name = stage_name(seed, i + 2)
        text = suggestion.read_text()
        # the suggestion is used as written; only its stage name is made unique for Hydra's search path
        data = yaml.safe_load(text) or {}
        if "stage" in data:
            text = "\n".join(f'stage: "{name}"' if line.startswith("stage:") else line
                             for line in text.splitlines()) + "\n"
        else:
            text += f'stage: "{name}"\n'
        (conf / f"{name}.yaml").write_text(text)
        shutil.copyfile(suggestion, root / f"suggestion_after_stage{i + 1}.yaml")
        stage, searchpath = name, [root / "conf"]


def run_flat(args, seed: int, method: str) -> None:
    root = method_root(method)
    root.mkdir(parents=True, exist_ok=True)
    optimizer = METHODS[method][1]
    extra = [f"hydra.sweeper.optimizer={optimizer}"] if optimizer else []
    sweep(root / f"seed{seed}", STAGE, args.budget, seed, extra, [])


def trials_of(method: str, seed: int) -> list:
    """One run's finished trials in run order (a staged run's stages one after another)."""
    if METHODS[method][0]:
        root = method_root(method) / f"seed{seed}"
        out: list = []
        for sdir in sorted(root.glob("stage*"), key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else 0):
            if sdir.is_dir():
                out += ledger_trials(sdir)
        return out
    return ledger_trials(method_root(method) / f"seed{seed}")


def values_of(method: str, seed: int) -> list:
    """One run's objective values in run order (None for a failed trial)."""
    return [t.value if t.status == "ok" else None for t in trials_of(method, seed)]


def bootstrap_median_ratio(method_reach: dict, flat_reach: dict, censored: int, resamples: int = 10000,
                           rng_seed: int = 0) -> "dict | None":
    """How far the staged/flat ratio of medians could move with other seeds: resample the seeds both
    methods finished (with replacement, the same seeds for both) and recompute
    median(method) / median(flat). Unreached seeds count as ``censored`` (budget + 1), as in the table.
    Returns the 5th and 95th percentiles and the share of resamples at or below the 1/3 target."""
    seeds = sorted(sd for sd in method_reach if flat_reach.get(sd))
    if len(seeds) < 2:
        return None
    ours = np.array([censored if method_reach[sd] is None else method_reach[sd] for sd in seeds], dtype=float)
    theirs = np.array([flat_reach[sd] for sd in seeds], dtype=float)
    picks = np.random.default_rng(rng_seed).integers(0, len(seeds), size=(resamples, len(seeds)))
    ratios = np.median(ours[picks], axis=1) / np.median(theirs[picks], axis=1)
    return {"seeds": len(seeds), "resamples": resamples, "p05": float(np.percentile(ratios, 5)),
            "p95": float(np.percentile(ratios, 95)), "share_at_most_a_third": float(np.mean(ratios <= 1 / 3))}


def final_best(curve: list, budget: int) -> "float | None":
    """The best score of a run within its first ``budget`` trials (failed trials, None, are not scores)."""
    return max((v for v in curve[:budget] if v is not None), default=None)


def final_best_vs_flat(method_curves: dict, flat_curves: dict, budget: int) -> "dict | None":
    """Paired comparison of the best score each run ends with (within ``budget`` trials), over the seeds
    both the method and flat finished: how often the method ends higher / lower / level, the mean
    difference, a two-sided sign test (ties dropped) and a two-sided Wilcoxon signed-rank test."""
    def final(c):
        return final_best(c, budget) if len(c) >= budget else None

    return paired_comparison([(final(method_curves[sd]), final(flat_curves[sd]))
                              for sd in method_curves if sd in flat_curves])


def paired_comparison(pairs: list) -> "dict | None":
    """(ours, theirs) pairs, one per seed (pairs with a None left out): how often ours is higher / lower /
    level, the mean difference, a two-sided sign test (ties dropped), a two-sided Wilcoxon signed-rank test."""
    diffs = np.array([a - b for a, b in pairs if a is not None and b is not None], dtype=float)
    if len(diffs) < 2:
        return None
    higher, lower = int((diffs > 0).sum()), int((diffs < 0).sum())
    untied = diffs[diffs != 0]
    return {"seeds": len(diffs), "higher": higher, "lower": lower, "level": len(diffs) - higher - lower,
            "mean_difference": float(diffs.mean()),
            "sign_test_p": float(binomtest(higher, higher + lower).pvalue) if higher + lower else 1.0,
            "wilcoxon_p": float(wilcoxon(untied).pvalue) if len(untied) else 1.0}


def between_methods(curves: dict, reach: dict, a: str, b: str, budget: int) -> "dict | None":
    """Method ``b`` against method ``a`` on the seeds both finished: their final bests paired by seed
    (:func:`paired_comparison`, b minus a), and on how many seeds b reached the flat search's final best
    in fewer / more / as many trials as a (unreached counts as budget + 1), and on how many neither
    reached it (``neither_reached``: not counted as "as many trials")."""
    seeds = [sd for sd in reach.get(a, {}) if sd in reach.get(b, {})]
    if len(seeds) < 2:
        return None
    censored = budget + 1
    steps = {sd: (censored if reach[b][sd] is None else reach[b][sd])
             - (censored if reach[a][sd] is None else reach[a][sd])
             for sd in seeds}
    return {"seeds": len(seeds),
            "final_best": paired_comparison([(final_best(curves[b][sd], budget), final_best(curves[a][sd], budget))
                                             for sd in seeds]),
            "reached_sooner": sum(d < 0 for d in steps.values()), "reached_later": sum(d > 0 for d in steps.values()),
            "reached_same": sum(d == 0 and reach[b][sd] is not None for sd, d in steps.items()),
            "neither_reached": sum(reach[a][sd] is None and reach[b][sd] is None for sd in seeds)}


def paired_median_ratio(method: dict, flat: dict, censored: int) -> "float | None":
    """Median trials-to-reach of ``method`` over flat's median, both over the seeds both have complete
    (the seeds the bootstrap resamples), unreached counted as ``censored``."""
    seeds = [sd for sd in method if flat.get(sd)]
    if not seeds:
        return None
    top = statistics.median(censored if method[sd] is None else method[sd] for sd in seeds)
    return top / statistics.median(flat[sd] for sd in seeds)


def mean_by_stage(curves: dict, budgets: list, seeds: list) -> list:
    """The mean score of the trials in each stage's window of trials (failed trials left out), over
    ``seeds``: for a staged run what each stage sampled, for flat / random the same trial windows."""
    out, start = [], 0
    for size in budgets:
        window = [v for sd in seeds for v in curves[sd][start:start + size] if v is not None]
        out.append(statistics.fmean(window) if window else None)
        start += size
    return out


def protocol(args) -> dict:
    """What two runs must share for their seeds to share a table (written into every results JSON)."""
    out = {"stage_file": str((STAGE_CONF / "stage" / f"{STAGE}.yaml").relative_to(ROOT)), "budget": args.budget,
           "stage_budgets": stage_budgets(args.budget, args.stage_size)}
    if getattr(args, "set", None):  # only a variant carries the key: plain-protocol JSONs stay comparable
        out["overrides"] = list(args.set)
    if getattr(args, "rerun", None):  # the same protocol; the staged runs are a re-run with later code
        out["rerun"] = args.rerun
    return out


PROTOCOL_KEYS = ("stage_file", "budget", "stage_budgets", "overrides")


def load_prior(path: "str | None", args) -> dict:
    """An earlier results JSON of this experiment (``--prior``), checked to be the same protocol."""
    if not path:
        return {}
    try:
        prior = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise SystemExit(f"--prior {path}: cannot read it as a results JSON ({err})") from None
    mine = protocol(args)
    for key in PROTOCOL_KEYS:  # both ways: a plain run refuses a variant's JSON as the variant refuses a plain one
        want = mine.get(key)
        if prior.get(key) != want:
            raise SystemExit(f"--prior {path}: its {key!r} is {prior.get(key)!r}, this run's is {want!r}; "
                             "seeds of another protocol cannot share a table")
    if ("surrogate" in prior.get("task", "")) != (TASK == "surrogate"):
        raise SystemExit(f"--prior {path}: its task is {prior.get('task')!r}, this run's task is {TASK!r}")
    tag = prior.get("rerun")
    if tag and tag != getattr(args, "rerun", None):  # its flat seeds may be re-trained ones: never mix them in
        raise SystemExit(f"--prior {path} holds the results of re-run {tag!r}: give it with --rerun {tag}, or give "
                         "the original run's results JSON")
    return prior


def same_run(prior: dict, args) -> bool:
    """Whether the prior's staged runs are the ones this command runs (neither, or both, the same --rerun)."""
    return prior.get("rerun") == getattr(args, "rerun", None)


def usable_prior_curves(prior: dict, args) -> dict:
    """The prior's curves that may stand in for seeds with no run folder here. From a prior of the same
    run, all of its curves, and (a re-run's own JSON) the original's flat and random curves it keeps
    (``rerun_of``) for seeds it does not hold. From the original run's JSON given to a re-run, only flat
    and random: its staged seeds are what the re-run is compared with (``before_rerun``), never stand-ins."""
    if not same_run(prior, args):
        return {m: c for m, c in prior.get("curves", {}).items() if not METHODS[m][0]}
    own = prior.get("curves", {})
    kept = {m: c for m, c in prior.get("rerun_of", {}).get("curves", {}).items() if not METHODS[m][0]}
    return {m: {**kept.get(m, {}), **own.get(m, {})} for m in {*own, *kept}}


def original_run(prior: dict, args) -> dict:
    """What a re-run is compared with: the prior itself when it is the original run's results JSON, or
    the ``rerun_of`` record a re-run's own JSON carries (so its table rebuilds on a fresh checkout)."""
    if not getattr(args, "rerun", None):
        return {}
    if not same_run(prior, args):
        return {**prior, "file": args.prior} if prior else {}
    return prior.get("rerun_of", {})


def aggregate(args) -> dict:
    prior = load_prior(args.prior, args)
    prior_curves = usable_prior_curves(prior, args)
    # the methods on the command line (flat always: it sets the target), in METHODS' order
    methods = [m for m in METHODS
               if (m in args.methods or m == "flat") and (method_root(m).is_dir() or m in prior_curves)]
    if "flat" not in methods:
        print(f"no flat search under {method_root('flat')} nor in --prior: nothing to compare yet", flush=True)
        return {}
    curves = {m: {} for m in methods}
    from_prior: dict = {}
    for m in methods:
        for seed, _ in seed_dirs(method_root(m)):
            if seed not in args.seeds:
                continue  # the table covers exactly the seeds on its command line
            vals = values_of(m, seed)
            if vals:
                curves[m][seed] = vals
        # a seed with no run folder here (run folders are git-ignored) is read from the prior results JSON
        for seed in args.seeds:
            vals = prior_curves.get(m, {}).get(str(seed))
            if seed not in curves[m] and vals:
                curves[m][seed] = vals
                from_prior.setdefault(m, []).append(seed)
        curves[m] = dict(sorted(curves[m].items()))
    staged = [m for m in args.methods if METHODS[m][0]]
    if getattr(args, "rerun", None) and staged and not any(curves.get(m) for m in staged):
        # a table without them would overwrite the re-run's results with flat alone
        raise SystemExit(f"--rerun {args.rerun}: no seeds of {', '.join(staged)} under {BASE} nor in --prior; to "
                         "rebuild a re-run's table without its run folders, give its own results JSON as --prior")
    reach = {m: {} for m in methods}
    for seed, flat_vals in curves["flat"].items():
        if len(flat_vals) < args.budget:
            continue  # the flat search of this seed is not finished: its final best is not known yet
        target = final_best(flat_vals, args.budget)
        for m in methods:
            if seed in curves[m] and len(curves[m][seed]) >= args.budget:
                reach[m][seed] = trials_to_reach(curves[m][seed][:args.budget], target)
    summary = {}
    censored = args.budget + 1  # a seed that never reached the flat best counts as "more than the budget"
    for m in methods:
        got = [r for r in reach[m].values()]
        finished = [r for r in got if r is not None]
        paired = [(r if r is not None else censored) / reach["flat"][sd] for sd, r in reach[m].items()
                  if reach.get("flat", {}).get(sd)]
        summary[m] = {"seeds_complete": len(got), "reached": len(finished),
                      # median over every complete seed, unreached seeds counted as budget + 1
                      "median_trials_to_reach_flat_best": statistics.median([censored if r is None else r for r in got])
                      if got else None,
                      "mean_trials_to_reach_flat_best_reached_only": statistics.fmean(finished) if finished else None,
                      "median_paired_ratio_to_flat": statistics.median(paired) if paired else None,
                      "seeds_within_a_third_of_flat": sum(p <= 1 / 3 for p in paired),
                      # over the complete seeds, as every other column (a run still going has no final best)
                      "final_best_mean": statistics.fmean(b for sd in reach[m]
                                                          if (b := final_best(curves[m][sd], args.budget)) is not None)
                      if reach[m] else None}
    ratios = {m: r for m in methods
              if m != "flat" and (r := paired_median_ratio(reach[m], reach.get("flat", {}), censored))}
    intervals = {m: bootstrap_median_ratio(reach[m], reach["flat"], censored)
                 for m in methods if m != "flat"}
    final_vs_flat = {m: final_best_vs_flat(curves[m], curves["flat"], args.budget) for m in methods if m != "flat"}
    original = original_run(prior, args)
    # the seeds this re-run trained: those read from run folders here (and, rebuilding from the re-run's
    # own JSON, the ones it records); a seed that came from the original's JSON is not a re-run
    rerun_seeds: dict = {}
    if original:
        recorded = prior.get("rerun_seeds", {}) if same_run(prior, args) else {}
        rerun_seeds = {m: sorted({sd for sd in curves[m] if sd not in from_prior.get(m, [])}
                                 | {int(sd) for sd in recorded.get(m, []) if int(sd) in curves[m]}) for m in methods}
    suggestions = _suggestion_log(args, prior)
    before = before_rerun(original, curves, reach, rerun_seeds, suggestions, args) if original else {}
    others = [m for m in methods if m != "flat"]
    # the seeds every method finished: stage windows compared on the same seeds
    common = sorted(set.intersection(*(set(reach[m]) for m in methods))) if methods else []
    budgets = stage_budgets(args.budget, args.stage_size)
    by_stage = {m: mean_by_stage(curves[m], budgets, common) for m in methods} \
        if common else {}
    between = {f"{b} vs {a}": c for i, a in enumerate(others) for b in others[i + 1:]
               if (c := between_methods(curves, reach, a, b, args.budget))}
    task = ("surrogate of ARID3A K562 trials (random forest fit on real trials, experiments/efficiency/surrogate.py)"
            if TASK == "surrogate" else "real trials: ARID3A K562, 2,000 training sequences, 4 epochs")
    task += f"; on every trial {', '.join(SETS)}" if SETS else ""
    out = {"task": task, **protocol(args), "curves": curves,
           "trials_to_reach_flat_best": reach, "summary": summary, "over_flat_median_ratios": ratios,
           "over_flat_median_ratio_bootstrap": intervals, "final_best_vs_flat": final_vs_flat,
           **({"between_methods": between} if between else {}),
           **({"before_rerun": before} if before else {}),
           **({"rerun_of": _rerun_of(original, args), "rerun_seeds": rerun_seeds} if original else {}),
           **({"mean_score_by_stage": {"seeds": common, **by_stage}} if by_stage and len(others) > 1 else {}),
           "target": "<= 1/3", "runs": str(BASE.relative_to(ROOT) if BASE.is_relative_to(ROOT) else BASE),
           "staged_suggestions": suggestions, "command": _command(args)}
    if from_prior:
        out["from_prior"] = {"file": args.prior, "seeds": from_prior}
    surrogate_fit = RESULTS / "efficiency_surrogate.json"
    if TASK == "surrogate" and surrogate_fit.exists():
        out["surrogate_fit"] = json.loads(surrogate_fit.read_text())
    name = args.out or (("efficiency" if TASK == "surrogate" else "efficiency_real")
                        + (f"_st{args.stage_size}" if args.stage_size != 25 else "") + variant_suffix(SETS)
                        + (f"_rerun-{args.rerun}" if getattr(args, "rerun", None) else ""))
    write_json(RESULTS / f"{name}.json", out)
    def med(v):
        return "-" if v is None else (f"> {args.budget}" if v > args.budget else fmt(v, 1))

    rows = [[m, s["seeds_complete"], f"{s['reached']}/{s['seeds_complete']}",
             med(s["median_trials_to_reach_flat_best"]),
             fmt(s["median_paired_ratio_to_flat"], 2), f"{s['seeds_within_a_third_of_flat']}/{s['seeds_complete']}",
             fmt(s["final_best_mean"])] for m, s in summary.items()]
    lines = ["# Search efficiency: staged vs flat NGOpt vs random search", "",
             f"Task: {task}; space: `{out['stage_file']}`. Budget {args.budget} trials per method and seed; staged = "
             f"stages of {out['stage_budgets']} trials, each next stage the analysis' next_stage.yaml as written. "
             f"Command: `{out['command']}` (`--aggregate-only` to rebuild).", ""]
    if "surrogate_fit" in out:
        q = out["surrogate_fit"]
        lines += [f"Surrogate: {q['model']} on {q['trials']} real trials "
                  f"({q['failed_trials_scored_0.5']} failed, scored "
                  f"0.5); 5-fold out-of-fold R^2 {fmt(q['cv5_r2'])}, Spearman {fmt(q['cv5_spearman'])}, "
                  f"MAE {fmt(q['cv5_mae'])}; real val AUROC range "
                  f"{fmt(q['score_range'][0])}-{fmt(q['score_range'][1])}.", ""]
    lines += [md_table(["method", "seeds complete", "reached flat best",
                        "median trials to reach (unreached = budget + 1)",
                        "median per-seed ratio to flat", "seeds within 1/3 of flat", "mean final best val AUROC"],
                       rows), "",
              "Median trials-to-reach over the flat search's median (target for staged: <= 0.33): "
              + ", ".join(f"{m} **{fmt(r, 2)}**" + _interval_text(intervals.get(m)) for m, r in ratios.items())
              + ". A seed counts once the flat run and the method's run of that seed both have the full budget.", ""]
    for m, c in final_vs_flat.items():
        if c:
            lines += [paired_text(f"Final best, {m} vs flat, paired by seed", c, " val AUROC"), ""]
    for label, c in between.items():
        neither = c.get("neither_reached")
        lines += [f"{label}, the same seeds: reached flat's final best sooner on {c['reached_sooner']} of {c['seeds']} "
                  f"seeds, later on {c['reached_later']}, in as many trials on {c['reached_same']}"
                  + (f", neither reached it on {neither}" if neither is not None else "") + ". "
                  + (paired_text("Final best", c["final_best"], " val AUROC") if c["final_best"] else ""), ""]
    for m, c in before.items():
        lines += [_before_rerun_text(m, c, args, original.get("file")), ""]
    if by_stage and len(others) > 1:
        head = ["method"] + [f"trials {end - size + 1}-{end}" for size, end in zip(budgets, np.cumsum(budgets))]
        lines += [f"Mean val AUROC of the trials in each stage's window (failed trials left out), over the "
                  f"{len(common)} seeds every method finished:", "",
                  md_table(head, [[m] + [fmt(v) for v in vals] for m, vals in by_stage.items()]), ""]
    if from_prior:
        lines += [f"Read from `{args.prior}` (run folders not on this machine): "
                  + "; ".join(f"{m} seeds {', '.join(map(str, s))}" for m, s in from_prior.items()) + ".", ""]
    for method, per_seed in out["staged_suggestions"].items():
        lines += [f"## What the analysis changed, stage by stage ({method})", ""]
        for seed, changes in per_seed.items():
            lines.append(f"* seed {seed}: " + ("; ".join(changes) if changes else "no suggestion yet"))
        lines.append("")
    lines += ["", f"![best so far]({name}.png)", ""]
    (RESULTS / f"{name}.md").write_text("\n".join(lines))
    _plot(curves, args.budget, RESULTS / f"{name}.png")
    return out


def paired_text(label: str, c: dict, unit: str = "") -> str:
    """One sentence for a :func:`paired_comparison` result, after ``label``."""
    return (f"{label}: higher on {c['higher']} of {c['seeds']} seeds, lower on "
            f"{c['lower']}, level on {c['level']}; mean difference {c['mean_difference']:+.4f}{unit}; two-sided "
            f"sign test p = {c['sign_test_p']:.3g}, Wilcoxon signed-rank p = {c['wilcoxon_p']:.3g}.")


def _interval_text(iv: "dict | None") -> str:
    if not iv:
        return ""
    return (f" (seed bootstrap, {iv['resamples']} resamples of {iv['seeds']} seeds: 90% interval "
            f"{fmt(iv['p05'], 2)}-{fmt(iv['p95'], 2)}; {100 * iv['share_at_most_a_third']:.1f}% "
            "of resamples at or below 1/3)")


def _command(args) -> str:
    parts = ["python -m experiments.efficiency.efficiency"]
    if args.task != "surrogate":
        parts.append(f"--task {args.task}")
    parts += [f"--budget {args.budget}", f"--stage-size {args.stage_size}", "--methods " + " ".join(args.methods),
              "--seeds " + " ".join(map(str, args.seeds))] + ([f"--out {args.out}"] if args.out else [])
    return (" ".join(parts) + set_flags(getattr(args, "set", None))
            + (f" --rerun {args.rerun}" if getattr(args, "rerun", None) else "")
            + (f" --prior {args.prior}" if args.prior else ""))


def _suggestion_log(args, prior: dict) -> dict:
    """Per staged method and seed: the changes each applied suggestion made (its ``# Changes:`` header line);
    a seed with no run folder here takes its entry from the prior results JSON."""
    log = {}
    for m, (staged, *_) in METHODS.items():
        before = prior.get("staged_suggestions", {}).get(m, {}) if same_run(prior, args) else {}
        if not (staged and m in args.methods and (method_root(m).is_dir() or before)):
            continue
        merged = {**{s: c for s, c in before.items() if int(s) in args.seeds}, **_suggestions_of(m, args.seeds)}
        log[m] = dict(sorted(merged.items(), key=lambda kv: int(kv[0])))
    return log


def _suggestions_of(method: str, seeds) -> dict:
    out = {}
    for seed, sd in seed_dirs(method_root(method)):
        if seed not in seeds:
            continue
        changes = []
        for number, path in applied_suggestions(sd):
            head = [line for line in path.read_text().splitlines() if line.startswith("# Changes:")]
            changes.append(f"after stage {number}: "
                           + (head[0][len("# Changes:"):].strip().rstrip(".") if head else "(see file)"))
        out[str(seed)] = changes
    return out


def before_rerun(original: dict, curves: dict, reach: dict, rerun_seeds: dict, suggestions: dict, args) -> dict:
    """Each re-run method against the run it re-runs (``original``'s curves of the same method), over
    the seeds re-run (``rerun_seeds``) that both finished: how many first-stage trials scored the same
    (the candidates are the same; equal scores say training still computes as it did) and the final
    best paired by seed (re-run minus original). For a staged method also the trials to reach the flat
    search's final best before (the original against the original flat) and after (against the flat
    of this table), the two staged/flat median ratios over those seeds, and on how many seeds the
    analysis applied the same changes (the ``# Changes:`` lines) after every stage."""
    out = {}
    censored = args.budget + 1
    first = stage_budgets(args.budget, args.stage_size)[0]
    old_flat = original.get("curves", {}).get("flat", {})
    for m in curves:
        old_curves = original.get("curves", {}).get(m, {})
        seeds = sorted(sd for sd in rerun_seeds.get(m, [])
                       if sd in reach[m] and len(old_curves.get(str(sd), [])) >= args.budget
                       and (m == "flat" or len(old_flat.get(str(sd), [])) >= args.budget))
        if not seeds:
            continue
        old = {sd: old_curves[str(sd)][:args.budget] for sd in seeds}
        row = {"seeds": seeds,
               **first_stage_agreement([(a, b) for sd in seeds
                                        for a, b in zip(old[sd][:first], curves[m][sd][:first])]),
               "final_best": paired_comparison([(final_best(curves[m][sd], args.budget),
                                                 final_best(old[sd], args.budget))
                                                for sd in seeds])}
        if METHODS[m][0]:
            before = {sd: trials_to_reach(old[sd], final_best(old_flat[str(sd)], args.budget)) for sd in seeds}
            before_flat = {sd: trials_to_reach(old_flat[str(sd)][:args.budget],
                                               final_best(old_flat[str(sd)], args.budget))
                           for sd in seeds}
            after = {sd: reach[m][sd] for sd in seeds}
            old_log = original.get("staged_suggestions", {}).get(m, {})
            new_log = suggestions.get(m, {})
            row.update({"trials_to_reach_before": before, "trials_to_reach_after": after,
                        "over_flat_median_ratio_before": paired_median_ratio(before, before_flat, censored),
                        "over_flat_median_ratio_after": paired_median_ratio(after,
                                                                            {sd: reach["flat"][sd] for sd in seeds},
                                                                            censored),
                        "same_changes_every_stage": sum(str(sd) in old_log and old_log[str(sd)] == new_log.get(str(sd))
                                                        for sd in seeds)})
        out[m] = row
    return out


def first_stage_agreement(pairs: list) -> dict:
    """(original, re-run) scores of the first-stage trials: the same candidates, so how many scores are
    equal says whether training computes as it did (another CPU or thread count changes float sums)."""
    diffs = [abs(a - b) for a, b in pairs if a is not None and b is not None]
    return {"first_stage_trials": len(pairs), "first_stage_trials_equal": sum(a == b for a, b in pairs),
            "first_stage_median_abs_difference": statistics.median(diffs) if diffs else None,
            "first_stage_max_abs_difference": max(diffs) if diffs else None}


def _rerun_of(original: dict, args) -> dict:
    """The original run's curves and suggestions (every seed), kept in the re-run's results JSON so that
    the JSON alone rebuilds ``before_rerun``, and continues the re-run with more seeds, without the
    original's JSON."""
    return {"file": original.get("file"), "curves": original.get("curves", {}),
            "staged_suggestions": original.get("staged_suggestions", {})}


def _before_rerun_text(m: str, c: dict, args, source: "str | None") -> str:
    n = len(c["seeds"])
    text = (f"**{m}, re-run `{args.rerun}` against the run it re-runs** (seeds {', '.join(map(str, c['seeds']))}, from "
            f"`{source}`): {c['first_stage_trials_equal']} of the {c['first_stage_trials']} first-stage trials scored "
            f"the same (median absolute difference {fmt(c['first_stage_median_abs_difference'], 4)}, largest "
            f"{fmt(c['first_stage_max_abs_difference'], 4)}).")
    if "same_changes_every_stage" in c:
        text += (f" The analysis applied the same changes after every stage on {c['same_changes_every_stage']} of {n} "
                 f"seeds. Staged/flat median ratio over these seeds: {fmt(c['over_flat_median_ratio_before'], 2)} "
                 f"before, {fmt(c['over_flat_median_ratio_after'], 2)} after.")
    if c["final_best"]:
        text += " " + paired_text("Final best, re-run vs original", c["final_best"], " val AUROC")
    return text


def _plot(curves, budget, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for m, per in curves.items():
        for vals in per.values():
            b = [np.nan if v is None else v for v in best_so_far(vals[:budget])]
            ax.plot(range(1, len(b) + 1), b, alpha=0.25, color=COLORS[m])
        full = [best_so_far(v[:budget]) for v in per.values() if len(v) >= budget]
        if full:
            mean = np.nanmean(np.array([[np.nan if x is None else x for x in f] for f in full]), axis=0)
            ax.plot(range(1, budget + 1), mean, lw=2.5, color=COLORS[m],
                    label=f"{m} (mean of {len(full)} seeds)")
    ax.set_xlabel("trials")
    ax.set_ylabel("best val AUROC so far")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=sorted(APPS), default="surrogate")
    ap.add_argument("--budget", type=int, default=150)
    ap.add_argument("--stage-size", type=int, default=25)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--methods", nargs="+", choices=list(METHODS), default=["staged", "flat", "random"])
    ap.add_argument("--aggregate-only", action="store_true")
    ap.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="a trial-config override given to every sweep (repeatable), e.g. dataset.val_fraction=0.333: "
                         "a protocol variant with its own run folders, results name and table")
    ap.add_argument("--out", help="name of the result files in experiments/results/ "
                                  "(default: efficiency[_real][_st<size>])")
    ap.add_argument("--prior", help="an earlier results JSON of the same protocol: seeds with no run folder here "
                                    "(run folders are git-ignored) take their curves from it")
    ap.add_argument("--rerun", metavar="TAG",
                    help="run the methods on the command line again with today's code and machine (e.g. after an "
                         "analysis change) into their own run folders (..._rerun-TAG). With --prior the original "
                         "run's results JSON: its flat/random seeds stand in for those not re-run, and every seed "
                         "re-run is compared with the original's (``before_rerun``); the re-run's JSON keeps the "
                         "original's curves, so it can later be the --prior that rebuilds the re-run's table")
    args = ap.parse_args()
    set_base(args)
    if not args.aggregate_only:
        stand_ins = trained_before(load_prior(args.prior, args), args)
        # staged methods first in each seed: a re-run's table is refused while it has no staged seed yet
        order = sorted(args.methods, key=lambda m: not METHODS[m][0])
        for seed in args.seeds:
            for m in order:
                if in_prior_only(stand_ins, m, seed, args.budget):
                    continue  # the committed results hold this run: it is not trained again
                run_staged(args, seed, m) if METHODS[m][0] else run_flat(args, seed, m)
                aggregate(args)
    aggregate(args)


def trained_before(prior: dict, args) -> dict:
    """The prior's curves that are not trained again: without --rerun every one that may stand in; for a
    re-run only the seeds its own earlier results JSON re-ran (``rerun_seeds``), never the original's."""
    if not getattr(args, "rerun", None):
        return usable_prior_curves(prior, args)
    own = prior.get("rerun_seeds", {}) if same_run(prior, args) else {}
    curves = prior.get("curves", {})
    return {m: {str(sd): curves[m][str(sd)] for sd in seeds if str(sd) in curves.get(m, {})}
            for m, seeds in own.items()}


def in_prior_only(stand_ins: dict, method: str, seed: int, budget: int) -> bool:
    """Whether a (method, seed) has no run folder here and a finished curve in the prior that may stand in."""
    return (not (method_root(method) / f"seed{seed}").exists()
            and len(stand_ins.get(method, {}).get(str(seed), [])) >= budget)


if __name__ == "__main__":
    main()
