"""The analysis, end to end: trials table -> tree, importance, fork, next stage, plots -> files.

Data flows one way: :func:`load_sweep` (ledger + the stage that was run) -> :func:`analyze`
(compute everything, then write ``<out_dir>/*``). Nothing here reads a file another step wrote.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


from genarch.analysis.findings import Analysis
from genarch.analysis.forks import detect_fork
from genarch.analysis.importance import combined, default_evaluators
from genarch.analysis.next_stage import Rules, propose
from genarch.analysis.space import Stage, load_stage, stage_from_params
from genarch.analysis.top_tree import fit_top_tree, render, rules_text, to_dot
from genarch.analysis.trials import AnalysisInputError, TrialTable, from_ledger
from genarch.io import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)


@dataclass
class Options:
    q: float = 0.2
    seeds: int = 5
    n_estimators: int = 100
    max_depth: int = 3
    ccp_alpha: float = 0.01
    top_k: int = 3  # parameters whose pairwise interactions are plotted
    rules: Rules = field(default_factory=Rules)
    plots: bool = True
    html: bool = True
    index: bool = True


def important_set(scores: dict[str, float]) -> set[str]:
    """Parameters that explain a real share of the score: >= max(5%, half an equal share)."""
    threshold = max(0.05, 0.5 / max(len(scores), 1))
    return {p for p, v in scores.items() if v >= threshold}


def compute(table: TrialTable, stage: Optional[Stage], out_dir: Path, options: Options) -> Analysis:
    tree = fit_top_tree(table, q=options.q, max_depth=options.max_depth, ccp_alpha=options.ccp_alpha)
    seeds = list(range(options.seeds))
    importances = [ev.evaluate(table, seeds) for ev in default_evaluators(options.n_estimators)]
    scores = combined(importances)
    important = important_set(scores)
    skills = [imp.held_out_r2 for imp in importances if imp.held_out_r2 is not None]
    if skills and max(skills) <= 0:
        table.notes.append(
            f"the importance forest predicts held-out trials no better than their mean (R² {max(skills):.2f}): "
            "the importance shares are weak evidence here; a next-stage change still needs its own test on "
            "the top trials (binomial, chance or KS p < alpha)")
    fork = detect_fork(tree, table, important)
    analysis = Analysis(table=table, stage=stage, tree=tree, importances=importances, combined=scores,
                        important=important, fork=fork, proposals=[], out_dir=out_dir)
    stage_for_next = stage or stage_from_params({}, name=None)
    try:
        analysis.proposals = propose(
            table, tree.mask, stage_for_next, {p: analysis.importance_text(p) for p in table.params}, important,
            fork=fork, rules=options.rules, source=f"({table.source})", carry_source=table.source)
    except ValueError as exc:  # the stage file could not be rewritten: keep the tree, importances and plots
        where = stage.path if stage is not None and stage.path else "the stage"
        analysis.proposal_error = f"no next-stage YAML written: {where}: {exc}"
        analysis.warnings.append(analysis.proposal_error)
    return analysis


def write(analysis: Analysis, options: Options) -> None:
    """Write the analysis into a fresh folder beside ``analysis.out_dir`` and move it into place at the end:
    an analysis cut off by a kill leaves the previous complete one (and a ``.<name>.partial-*`` folder that
    the next analysis removes), never a mix of new and old files."""
    final = analysis.out_dir
    final.parent.mkdir(parents=True, exist_ok=True)
    for leftover in final.parent.glob(f".{final.name}.partial-*"):  # an earlier analysis cut off
        shutil.rmtree(leftover, ignore_errors=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        _write_files(analysis, options, partial)
        _move_into_place(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    # the stage index lists every stage of a sweeps root; written only where the output is the
    # default <sweep>/analysis, so a custom --out never indexes (or writes into) an unrelated folder
    if options.html and options.index and final.name == "analysis" and (final.parent / "ledger.jsonl").exists():
        from genarch.analysis import report

        try:
            report.write_index(final.parent.parent)
        except Exception as exc:  # noqa: BLE001
            analysis.warnings.append(f"stage index not written: {exc}")


def _move_into_place(new: Path, final: Path) -> None:
    """``new`` becomes ``final``; files of an earlier ``final`` that the new analysis did not write (a
    user's notes) are carried over, the earlier analysis's own files are replaced."""
    os.chmod(new, 0o777 & ~_umask())
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        for path in final.iterdir():
            if not (new / path.name).exists() and path.name not in _ANALYSIS_OUTPUTS and not _is_output(path.name):
                os.replace(path, new / path.name)
        os.replace(final, old)
        os.replace(new, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, final)


def _write_files(analysis: Analysis, options: Options, out: Path) -> None:
    """Every file of the analysis into ``out`` (the summary names ``analysis.out_dir``, where they end up)."""
    files = analysis.files

    def put(key: str, path: Path) -> None:
        files[key] = path.name

    put("tree_rules", atomic_write_text(out / "tree_rules.txt", rules_text(analysis.tree)))
    try:
        for path in render(to_dot(analysis.tree), str(out / "tree")):
            put("tree_" + Path(path).suffix[1:], Path(path))
    except Exception as exc:  # noqa: BLE001 - a missing `dot` binary must not lose the rest
        analysis.warnings.append(f"tree not rendered with graphviz ({type(exc).__name__}: {exc}); see tree.dot")
    files["tree_dot"] = "tree.dot"
    put("importance_json", atomic_write_json(out / "importance.json", {
        "combined": analysis.combined, "important": sorted(analysis.important),
        **{imp.method: imp.to_dict() for imp in analysis.importances}}))
    for proposal in analysis.proposals:
        put(proposal.name, atomic_write_text(out / f"{proposal.name}.yaml", proposal.text))
    put("next_stage_diff", atomic_write_text(out / "next_stage.diff", "".join(p.diff for p in analysis.proposals)
                                             or (f"# {analysis.proposal_error}\n" if analysis.proposal_error
                                                 else "# no change suggested\n")))
    if options.plots:
        from genarch.analysis import interactions, plots

        try:
            put("importance_png", plots.importance_bars(analysis.importances, out / "importance.png"))
            put("parallel_png", plots.parallel_coordinates(analysis.table, analysis.tree.mask, out / "parallel.png",
                                                           analysis.ranking()))
            for path in interactions.plot_interactions(analysis.table, analysis.ranking()[: options.top_k],
                                                       analysis.tree.mask, out, n_estimators=options.n_estimators):
                files[path.stem] = path.name
        except Exception as exc:  # noqa: BLE001
            log.exception("plots failed")
            analysis.warnings.append(f"plots failed: {type(exc).__name__}: {exc}")
    from genarch.analysis import summary

    # the summary lists every file, including the ones written after it
    files.update({"summary": "summary.txt", "analysis": "analysis.json",
                  **({"report": "report.html"} if options.html else {})})
    put("summary", atomic_write_text(out / "summary.txt", summary.render_text(analysis)))
    if options.html:
        from genarch.analysis import report

        final, analysis.out_dir = analysis.out_dir, out  # the report embeds the pictures written to `out`
        try:
            put("report", report.write_report(analysis, out / "report.html"))
        finally:
            analysis.out_dir = final
    atomic_write_json(out / "analysis.json", analysis.to_dict())
    files["analysis"] = "analysis.json"


# what an analysis writes (an earlier analysis's files of these names are not carried over)
_ANALYSIS_OUTPUTS = {"tree_rules.txt", "tree.dot", "tree.svg", "tree.png", "tree.pdf", "importance.json",
                     "next_stage.diff", "importance.png", "parallel.png", "summary.txt", "report.html",
                     "analysis.json", "tree"}


def _is_output(name: str) -> bool:
    return name.startswith(("next_stage", "interactions_", "tree.", "."))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def analyze(table: TrialTable, stage: Optional[Stage], out_dir: "str | Path",
            options: Optional[Options] = None) -> Analysis:
    options = options or Options()
    analysis = compute(table, stage, Path(out_dir), options)
    write(analysis, options)
    return analysis


# ---------------------------------------------------------------- finding the stage that was run


def _candidates(name: str, multirun: dict, sweep_dir: Path) -> list[Path]:
    roots = []
    for source in ((multirun.get("hydra") or {}).get("runtime") or {}).get("config_sources") or []:
        path = str(source.get("path", ""))
        if source.get("schema") == "file" or path.startswith("/"):
            roots.append(Path(re.sub(r"^file://", "", path)))
    roots += [Path.cwd() / "conf", Path(__file__).resolve().parents[2] / "conf", sweep_dir]
    stem = name[:-5] if name.endswith(".yaml") else name
    return [root / "stage" / f"{stem}.yaml" for root in roots] + [root / f"{stem}.yaml" for root in roots]


def _as_run(stage: Stage, sweep_dir: Path, notes: list[str]) -> Stage:
    """The stage as the sweep ran it: when its file was edited since, the copy the sweeper saved
    (``<sweep_dir>/stage.yaml``), under the file's own name and path."""
    copy = sweep_dir / "stage.yaml"
    if stage.path is None or not copy.is_file() or copy.resolve() == Path(stage.path).resolve():
        return stage
    saved = load_stage(copy)
    if saved.text == stage.text:
        return stage
    notes.append(f"{stage.path} was edited after this sweep ran: the analysis reads the copy the sweep saved ({copy})")
    return dataclasses.replace(saved, path=stage.path, name=stage.name)


def resolve_stage(sweep_dir: "str | Path", stage_path: "str | Path | None" = None) -> tuple[Optional[Stage], list[str]]:
    """The stage that was run: ``--stage``, else the stage config-group choice / ``multirun.yaml``'s
    ``stage`` key (as the sweep saved it when the file was edited since), else the ``hydra.sweeper.params``
    the sweep recorded (no file text: a fresh one is written)."""
    import yaml

    notes: list[str] = []
    if stage_path:
        return load_stage(stage_path), notes
    sweep_dir = Path(sweep_dir)
    multirun_file = sweep_dir / "multirun.yaml"
    if not multirun_file.exists():
        notes.append("no multirun.yaml and no --stage: the declared space is inferred from the trials")
        return None, notes
    multirun = yaml.safe_load(multirun_file.read_text(encoding="utf-8")) or {}
    hydra_cfg = multirun.get("hydra") or {}
    # the stage config-group choice (+stage=3a: the file that was composed) first; a file's own `stage:`
    # key may still name the file it was copied from (a fork made by hand, a suggestion saved as s2.yaml)
    choice = ((hydra_cfg.get("runtime") or {}).get("choices") or {}).get("stage")
    copy = sweep_dir / "stage.yaml"
    for name in dict.fromkeys(str(n) for n in (choice, multirun.get("stage")) if n):
        direct = Path(name)
        for path in ([direct] if direct.suffix == ".yaml" else []) + _candidates(name, multirun, sweep_dir):
            if path.is_file():
                return _as_run(load_stage(path), sweep_dir, notes), notes
        if name == str(choice) and copy.is_file():  # a pkg:// source, a relative searchpath from elsewhere
            notes.append(f"stage '{name}' is not a file on the search path here: the analysis reads the copy the "
                         f"sweep saved ({copy})")
            return dataclasses.replace(load_stage(copy), name=direct.stem), notes
        notes.append(f"stage '{name}' named in multirun.yaml was not found as a file")
    params = (hydra_cfg.get("sweeper") or {}).get("params")
    if params:
        notes.append("stage file not found: the next stage is written from the params the sweep recorded")
        sweeper = {k: v for k, v in (hydra_cfg.get("sweeper") or {}).items() if k != "params"}
        name = str(choice or multirun.get("stage") or "") or None
        return stage_from_params(params, name=name, sweeper=sweeper), notes
    notes.append("multirun.yaml records no sweeper params: the declared space is inferred from the trials")
    return None, notes


def load_sweep(sweep_dir: "str | Path", stage_path: "str | Path | None" = None,
               direction: Optional[str] = None, pool: "tuple[str | Path, ...]" = (),
               rungs: str = "rank") -> tuple[TrialTable, Optional[Stage]]:
    """The sweep's trials and the stage that was run; ``pool``: earlier sweeps whose trials inside this
    stage's space are analysed with it (the evidence of stage 1 still counts in stage 3); ``rungs``: how a
    multi-fidelity sweep's rungs are compared (:mod:`genarch.analysis.rungs`)."""
    stage, notes = resolve_stage(sweep_dir, stage_path)
    declared = {k: d.values for k, d in stage.domains.items() if d.kind == "choice"} if stage else None
    table = from_ledger(sweep_dir, direction=direction, declared_order=declared, pool=pool,
                        domains=stage.domains if stage else None, rungs=rungs)
    table.notes.extend(notes)
    return table, stage


def analyze_sweep(sweep_dir: "str | Path", stage_path: "str | Path | None" = None, out_dir: "str | Path | None" = None,
                  options: Optional[Options] = None, pool: "tuple[str | Path, ...]" = (),
                  rungs: str = "rank") -> Analysis:
    table, stage = load_sweep(sweep_dir, stage_path, pool=pool, rungs=rungs)
    return analyze(table, stage, Path(out_dir) if out_dir else Path(sweep_dir) / "analysis", options)


def write_failure(out_dir: "str | Path", message: str) -> None:
    """What a degenerate sweep leaves behind: the message, where the outputs would have been."""
    final = Path(out_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        atomic_write_text(partial / "summary.txt", f"genarch analysis: nothing to analyse\n{message}\n")
        atomic_write_json(partial / "analysis.json", {"error": message})
        _move_into_place(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


__all__ = ["Analysis", "AnalysisInputError", "Options", "analyze", "analyze_sweep", "compute", "load_sweep",
           "resolve_stage", "write_failure"]
