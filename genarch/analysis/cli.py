"""``python -m genarch.analyze``: analyse a finished sweep, or a CSV of trials from another tool.

    python -m genarch.analyze multirun/2024-05-01/12-00-00
    python -m genarch.analyze multirun/... --stage conf/stage/2.yaml
    python -m genarch.analyze multirun/stage3 --pool multirun/stage1 --pool multirun/stage2
    python -m genarch.analyze --csv optuna_trials.csv --metric value --direction maximize --out analysis/
    python -m genarch.analyze --demo /tmp/demo            # a known-answer synthetic sweep, analysed
    python -m genarch.analyze multirun/... --export-optuna sqlite:///sweep.db   # an Optuna study (no analysis)
    python -m genarch.analyze multirun/... --export-optuna journal:sweep.log    # the same, as a journal file

``python -m genarch.analysis`` is the same command. Outputs go to ``<sweep_dir>/analysis/`` (or
``--out``). Exit status: 0 analysed, 2 nothing to analyse (the message says why), 1 an unexpected error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m genarch.analyze", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sweep_dir", nargs="?", help="a finished sweep directory (holds ledger.jsonl)")
    p.add_argument("--csv", help="a CSV of trials instead: hyperparameter columns + a metric column")
    p.add_argument("--metric", help="CSV: the metric column (required with --csv)")
    p.add_argument("--direction", choices=["maximize", "minimize"],
                   help="CSV: default maximize; sweep: overrides the ledger's direction")
    p.add_argument("--params", help="CSV: comma-separated hyperparameter columns (default: all but metric/bookkeeping)")
    p.add_argument("--ignore", default="", help="CSV: comma-separated columns that are not hyperparameters")
    p.add_argument("--stage", help="the stage file that was run (default: from <sweep_dir>/multirun.yaml)")
    p.add_argument("--pool", action="append", default=[], metavar="SWEEP_DIR",
                   help="an earlier sweep whose trials inside this stage's space are analysed too (repeatable)")
    p.add_argument("--rungs", choices=["rank", "top"], default="rank",
                   help="a multi-fidelity sweep: rank every candidate by the rung it reached and its rank there "
                        "(default), or read one rung, the highest with enough trials (top)")
    p.add_argument("--out", help="output directory (default: <sweep_dir>/analysis, or ./analysis for --csv)")
    p.add_argument("--q", type=float, default=0.2, help="top quantile (default 0.2)")
    p.add_argument("--seeds", type=int, default=5, help="importance seeds (default 5)")
    p.add_argument("--trees", type=int, default=100, help="random-forest size (default 100)")
    p.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    p.add_argument("--no-html", action="store_true", help="skip report.html and the stage index")
    p.add_argument("--quiet", action="store_true", help="do not print the summary")
    p.add_argument("--demo", metavar="DIR", help="write a known-answer synthetic sweep into DIR and analyse it")
    p.add_argument("--demo-kind", choices=["single", "fork"], default="single")
    p.add_argument("--export-optuna", metavar="STORAGE",
                   help="write the sweep as an Optuna study instead of analysing it: a database URL "
                        "(sqlite:///sweep.db) or a journal file (journal:sweep.log, or a path ending in .log); "
                        "open it with optuna-dashboard URL (for a journal: its bare path, without journal:)")
    p.add_argument("--study-name", help="--export-optuna: the study's name (default genarch:<parent>/<sweep dir>)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from genarch.analysis.pipeline import AnalysisInputError, Options, analyze, load_sweep, write_failure
    from genarch.analysis.space import load_stage
    from genarch.analysis.trials import from_csv

    bad = [text for text, wrong in (("--q must be in (0, 1)", not 0 < args.q < 1),
                                    ("--seeds must be >= 1", args.seeds < 1),
                                    ("--trees must be >= 1", args.trees < 1)) if wrong]
    if bad:
        print("error: " + "; ".join(bad), file=sys.stderr)
        return 2
    options = Options(q=args.q, seeds=args.seeds, n_estimators=args.trees, plots=not args.no_plots,
                      html=not args.no_html)
    if args.export_optuna:
        return _export_optuna(args)
    if args.demo:
        from genarch.analysis.synthetic import write_sweep

        args.sweep_dir = str(write_sweep(Path(args.demo), kind=args.demo_kind))
    if bool(args.csv) == bool(args.sweep_dir):
        print("error: give a sweep directory or --csv FILE (one of them)", file=sys.stderr)
        return 2
    out: Path
    try:
        if args.csv:
            if not args.metric:
                print("error: --csv needs --metric COLUMN", file=sys.stderr)
                return 2
            out = Path(args.out or "analysis")
            stage = load_stage(args.stage) if args.stage else None
            declared = {k: d.values for k, d in stage.domains.items() if d.kind == "choice"} if stage else None
            table = from_csv(args.csv, metric=args.metric, direction=args.direction or "maximize",
                             params=[s.strip() for s in args.params.split(",") if s.strip()] if args.params else None,
                             ignore=[s.strip() for s in args.ignore.split(",") if s.strip()], declared_order=declared)
            options.index = False
        else:
            out = Path(args.out) if args.out else Path(args.sweep_dir) / "analysis"
            table, stage = load_sweep(args.sweep_dir, args.stage, direction=args.direction, pool=tuple(args.pool),
                                      rungs=args.rungs)
        analysis = analyze(table, stage, out, options)
    except AnalysisInputError as exc:
        print(f"genarch analyze: nothing to analyse: {exc}", file=sys.stderr)
        # the failure is written where an analysis was asked for: --out, --csv's analysis folder, or a sweep
        # directory (one with a ledger); a mistyped path or a single run's directory is left as it was
        is_sweep = bool(args.sweep_dir) and (Path(args.sweep_dir) / "ledger.jsonl").is_file()
        if args.out or args.csv or is_sweep:
            try:
                write_failure(out if "out" in locals() else Path(args.out or "analysis"), str(exc))
            except OSError:
                pass
        return 2
    except (FileNotFoundError, ValueError) as exc:
        print(f"genarch analyze: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        from genarch.analysis.summary import print_summary

        print_summary(analysis)
    if analysis.proposal_error:  # everything else was written; say so in the exit status too
        print(f"genarch analyze: {analysis.proposal_error}", file=sys.stderr)
        return 1
    return 0


def _export_optuna(args: argparse.Namespace) -> int:
    if not args.sweep_dir or args.csv:
        print("error: --export-optuna needs a sweep directory (not --csv)", file=sys.stderr)
        return 2
    try:  # optuna is an optional extra (explore), not a dependency: a plain `pip install genarch` lacks it
        import optuna  # noqa: F401 - export_optuna imports it only inside its functions
        from genarch.analysis.export_optuna import ExportError, export_study
    except ImportError as exc:
        print(f"genarch analyze: --export-optuna needs optuna, which is not installed ({exc}); "
              "pip install 'genarch[explore]'", file=sys.stderr)
        return 1
    try:
        study = export_study(args.sweep_dir, args.export_optuna, args.study_name, args.stage)
    except (ExportError, FileNotFoundError, ValueError) as exc:
        print(f"genarch analyze: {exc}", file=sys.stderr)
        return 2
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    print(f"exported {len(states)} trials ({states.count('COMPLETE')} complete, {states.count('FAIL')} failed) of "
          f"{args.sweep_dir} as study '{study.study_name}' to {args.export_optuna}\n"
          f"open it with: optuna-dashboard {args.export_optuna.removeprefix('journal:')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
