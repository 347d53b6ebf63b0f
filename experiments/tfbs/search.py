"""TFBS staged search: run stages (sweep + post-sweep analysis) and report every stage.

    python -m experiments.tfbs.search tfbs_1 tfbs_2      # run (or resume) these stages, analyse, report
    python -m experiments.tfbs.search --report-only      # rebuild the report from the sweeps that exist
    python -m experiments.tfbs.search tfbs_mf_1 hydra/launcher=joblib hydra.launcher.n_jobs=2   # + Hydra overrides

Each stage ``<name>`` is ``experiments/tfbs/conf/stage/<name>.yaml``, swept into
``experiments/runs/tfbs/stage_<name>/`` (git-ignored; its ledger and state are kept, committed, in
experiments/results/sweeps/ and restored in a new checkout: experiments/kept_sweeps.py) with the objective of
experiments/tfbs/multi.py (mean val AUROC over the stage's ``subset`` of experiments). Running a
stage again resumes its sweep (finished trials are replayed from the ledger, not retrained); a
finished sweep is not rerun. After each sweep ``python -m genarch.analyze <sweep_dir> --stage
<stage file>`` writes ``<sweep_dir>/analysis/`` (next_stage.yaml, next_stage.diff, summary.txt, ...);
the script runs it explicitly so it does not depend on the Hydra analysis callback.

What the analysis suggested and what was kept for the next stage is recorded by hand in
``experiments/tfbs/decisions.yaml``; the report puts both side by side.

Outputs: experiments/results/tfbs_search.{json,md,png}; each stage's suggestion is copied to
experiments/results/tfbs_search/<stage>_next_stage.{yaml,diff} and its summary to <stage>_summary.txt.
``--experiment regression`` does the same for experiments/regression/conf/stage/reg_*.yaml (plain
``python -m genarch`` trials, sweeps in experiments/runs/regression_search/, results regression_search.*).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from genarch.ledger import load_trials

from experiments.kept_sweeps import keeping, restore
from experiments.make_found import best_job
from experiments.tables import RESULTS, ROOT, RUNS, best_so_far, fmt, md_table, write_json

# --experiment tfbs (default) or regression: where the stage files, sweeps and decisions live
SETUPS = {
    "tfbs": {"dir": "tfbs", "app": ["-m", "experiments.tfbs.multi"], "results": "tfbs_search",
             "objective": "mean val AUROC over the stage subset (experiments/tfbs/multi.py)",
             "title": "TFBS staged search (DeepBind ENCODE)"},
    "regression": {"dir": "regression", "app": ["-m", "genarch"], "results": "regression_search",
                   "objective": "val Pearson r (mean over outputs)", "title": "Regression staged search"},
}
SETUP = SETUPS["tfbs"]
STAGES_DIR = ROOT / "experiments" / "tfbs" / "conf" / "stage"
DECISIONS = ROOT / "experiments" / "tfbs" / "decisions.yaml"
SWEEPS = RUNS / "tfbs"


def use(name: str) -> None:
    global SETUP, STAGES_DIR, DECISIONS, SWEEPS
    SETUP = SETUPS[name]
    STAGES_DIR = ROOT / "experiments" / SETUP["dir"] / "conf" / "stage"
    DECISIONS = ROOT / "experiments" / SETUP["dir"] / "decisions.yaml"
    SWEEPS = RUNS / ("tfbs" if name == "tfbs" else "regression_search")


def sweep_dir(stage: str) -> Path:
    return SWEEPS / f"stage_{stage}"


def ledger_trials(sdir: Path) -> list[dict]:
    """The finished trials' ledger records in job order (rejected candidates left out)."""
    return [t.record for t in load_trials(sdir) if t.status != "running" and not t.record.get("rejected")]


def run_stage(stage: str, extra: list[str]) -> None:
    sdir = sweep_dir(stage)
    cmd = [sys.executable, *SETUP["app"], f"hydra.searchpath=[file://experiments/{SETUP['dir']}/conf]",
           f"+stage={stage}", f"hydra.sweep.dir={sdir.relative_to(ROOT)}", *extra, "-m"]
    print("+", " ".join(cmd), flush=True)
    # a subprocess on purpose: a stage is a Hydra multirun (`-m`: sweeper, launcher, callbacks), started as a user would
    with keeping(sdir):
        subprocess.run(cmd, cwd=ROOT, check=True)
    analyse(stage)


def analyse(stage: str) -> None:
    sdir = sweep_dir(stage)
    argv = [str(sdir.relative_to(ROOT)), "--stage", str((STAGES_DIR / f"{stage}.yaml").relative_to(ROOT)), "--quiet"]
    print("+ python -m genarch.analyze", " ".join(argv), flush=True)
    from genarch.analyze import main as analyze  # genarch's analysis entry point, in-process

    analyze(argv)


def stage_report(stage: str) -> dict:
    sdir = sweep_dir(stage)
    trials = ledger_trials(sdir)
    ok = [t for t in trials if t.get("status") == "ok" and t["objective"].get("value") is not None]
    values = [t["objective"]["value"] if t.get("status") == "ok" else None for t in trials]
    # the trial make_found would freeze: the best by its direction (of the highest rung, in a multi-fidelity sweep)
    chosen = best_job(sdir)[0] if ok else None  # the ledger read once, not once per trial
    best = next(t for t in ok if t["job"] == chosen) if ok else None
    adir = sdir / "analysis"
    out_dir = RESULTS / SETUP["results"]
    out_dir.mkdir(parents=True, exist_ok=True)
    suggestion_files = sorted(p.name for p in adir.glob("next_stage*.yaml")) if adir.exists() else []
    for name in suggestion_files + ["next_stage.diff", "summary.txt", "tree_rules.txt"]:
        if (adir / name).exists():
            target = out_dir / f"{stage}_{name}"
            shutil.copyfile(adir / name, target)
    importance = {}
    if (adir / "analysis.json").exists():
        try:
            importance = json.loads((adir / "analysis.json").read_text()).get("importance", {})
        except ValueError:
            pass
    best_metrics = (best or {}).get("metrics") or {}
    return {
        "stage": stage,
        "stage_file": str((STAGES_DIR / f"{stage}.yaml").relative_to(ROOT)),
        "sweep_dir": str(sdir.relative_to(ROOT)),
        "n_trials": len(trials), "n_ok": len(ok), "n_failed": len(trials) - len(ok),
        "values": values, "best_so_far": best_so_far(values),
        "best": None if best is None else {
            "job": best["job"], "val_score": best["objective"]["value"],
            "test_score": best_metrics.get("test", {}).get("auroc", best_metrics.get("test", {}).get("pearson_r")),
            "params": best.get("params"), "n_params": best.get("n_params")},
        "wall_time_s": sum(float(t.get("wall_time_s") or 0) for t in trials),
        "suggestions": suggestion_files,
        "importance": importance,
    }


def prior_reports() -> dict[str, dict]:
    """The stages of the committed report: sweeps are git-ignored, so a stage swept on another machine (or
    in an earlier checkout) keeps its reported figures instead of dropping out of the rebuilt report."""
    path = RESULTS / f"{SETUP['results']}.json"
    if not path.exists():
        return {}
    try:
        return {r["stage"]: r for r in json.loads(path.read_text()).get("stages", [])}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise SystemExit(f"{path}: not a search report ({e}); move it away to rebuild from sweeps") from e


def report(stages: list[str]) -> dict:
    prior = prior_reports()
    decisions = yaml.safe_load(DECISIONS.read_text()) if DECISIONS.exists() else {}
    swept = {s for s in stages if (sweep_dir(s) / "ledger.jsonl").exists()}
    reports = [stage_report(s) if s in swept else prior[s] for s in stages if s in swept or s in prior]
    out = {"objective": SETUP["objective"],
           "stages": reports, "decisions": decisions or {}}
    write_json(RESULTS / f"{SETUP['results']}.json", out)
    flag = "" if SETUP is SETUPS["tfbs"] else " --experiment regression"
    lines = [f"# {SETUP['title']}", "",
             f"Objective: {SETUP['objective']}; the test split is reported for the best trial only and never "
             f"used to select. Command: `python -m experiments.tfbs.search{flag} <stage> ...`; "
             f"report only: `python -m experiments.tfbs.search{flag} --report-only`.", ""]
    rows = []
    for r in reports:
        b = r["best"] or {}
        rows.append([r["stage"], f"{r['n_ok']}/{r['n_trials']}", fmt(b.get("val_score")),
                     fmt(b.get("test_score")), b.get("job", "-"), f"{r['wall_time_s'] / 60:.1f}"])
    lines += [md_table(["stage", "ok / trials", "best val score", "its test score", "best job",
                        "train time (min)"], rows), ""]
    for r in reports:
        d = (decisions or {}).get(r["stage"], {})
        lines += [f"## Stage {r['stage']}", "", f"Stage file: `{r['stage_file']}`; sweep: `{r['sweep_dir']}`.", ""]
        if r["best"]:
            params = ", ".join(f"`{k}={v}`" for k, v in (r["best"]["params"] or {}).items())
            lines += [f"Best trial (job {r['best']['job']}, val score {fmt(r['best']['val_score'])}): {params}", ""]
        if d.get("suggested"):
            lines += ["**The analysis suggested:**", "", str(d["suggested"]).strip(), ""]
        if d.get("kept"):
            lines += ["**Kept for the next stage:**", "", str(d["kept"]).strip(), ""]
        if r["suggestions"]:
            lines += ["Suggestion files: " + ", ".join(f"`results/{SETUP['results']}/{r['stage']}_{s}`"
                                                       for s in r["suggestions"]) + ".", ""]
    lines += [f"![best so far per stage]({SETUP['results']}.png)", ""]
    (RESULTS / f"{SETUP['results']}.md").write_text("\n".join(lines))
    _plot(reports)
    return out


def _plot(reports: list[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not reports:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    offset = 0
    for r in reports:
        xs = list(range(offset + 1, offset + len(r["values"]) + 1))
        ax.scatter(xs, [v if v is not None else float("nan") for v in r["values"]], s=12)
        ax.plot(xs, [v if v is not None else float("nan") for v in r["best_so_far"]], label=f"stage {r['stage']}")
        offset += len(r["values"])
    ax.set_xlabel("trial (stages one after another)")
    ax.set_ylabel(SETUP["objective"][:40])
    ax.legend()
    ax.set_title(f"{SETUP['title']}: trials and best so far")
    fig.tight_layout()
    fig.savefig(RESULTS / f"{SETUP['results']}.png", dpi=110)
    plt.close(fig)


def split_stages(words: list[str]) -> tuple[list[str], list[str]]:
    """Positional words -> (stage names, Hydra overrides): a word with ``=`` is an override, as on Hydra's own
    command line. Every stage name must have its file: a typo fails here, before any sweep starts."""
    stages = [w for w in words if "=" not in w]
    missing = [s for s in stages if not (STAGES_DIR / f"{s}.yaml").is_file()]
    if missing:
        known = ", ".join(sorted(p.stem for p in STAGES_DIR.glob("*.yaml")))
        raise SystemExit(f"no stage file {STAGES_DIR.relative_to(ROOT)}/{missing[0]}.yaml (known stages: {known})")
    return stages, [w for w in words if "=" in w]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stages", nargs="*", help="stage names, and Hydra overrides for their sweeps (key=value, "
                    "e.g. hydra/launcher=joblib hydra.launcher.n_jobs=2)")
    ap.add_argument("--experiment", choices=sorted(SETUPS), default="tfbs")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--analyse-only", action="store_true", help="re-run the analysis of the named stages")
    ap.add_argument("--override", action="append", default=[], help="extra override for the sweep (repeatable)")
    args = ap.parse_args()
    use(args.experiment)
    stages, overrides = split_stages(args.stages)
    restore([SWEEPS])  # sweeps kept from an earlier checkout: resumed, warm-started from and reported
    for stage in sorted(p.stem for p in STAGES_DIR.glob("*.yaml")):
        sdir = sweep_dir(stage)
        if (sdir / "optimization_results.yaml").exists() and not (sdir / "analysis" / "analysis.json").exists():
            analyse(stage)  # a finished sweep restored from its kept state: its analysis rebuilt from its ledger
    if not args.report_only:
        for stage in stages:
            analyse(stage) if args.analyse_only else run_stage(stage, overrides + args.override)
    known = sorted(p.stem for p in STAGES_DIR.glob("*.yaml"))
    report(known)


if __name__ == "__main__":
    main()
