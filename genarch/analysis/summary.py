"""The terminal summary at the end of a sweep (rich): top trials, importance bars, the tree's
rules, the suggested next stage as a diff, and where the files are. ``summary.txt`` is the same
summary rendered as plain text."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Optional, Sequence

if TYPE_CHECKING:
    from rich.console import Console

    from genarch.analysis.findings import Analysis


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def short_names(params: Sequence[str]) -> dict[str, str]:
    """Column headers for hyperparameter keys: ``model.`` / ``model/`` dropped, then the shortest
    unique tail of at least two parts (``model.stem.filter_size`` -> ``stem.filter_size``,
    ``model/rnn`` -> ``rnn``, ``trainer.batch_size`` stays)."""
    def parts(p: str) -> list[str]:
        body = p[len("model."):] if p.startswith(("model.", "model/")) else p
        return [x for x in re.split(r"[./]", body) if x]

    out = {}
    for p in params:
        tokens = parts(p)
        for k in range(min(2, len(tokens)), len(tokens) + 1):
            tail = ".".join(tokens[-k:])
            if sum(".".join(parts(q)[-k:]) == tail for q in params) == 1:
                out[p] = tail
                break
        else:
            out[p] = p
    return out


def _cell_width(texts: Sequence[str]) -> int:
    return max((len(t) for t in texts), default=0) + 3  # padding both sides + one border


def render(analysis: "Analysis", console: "Console", top_k: int = 10) -> None:
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.syntax import Syntax
    from rich.table import Table
    from rich.text import Text

    t = analysis.table
    width = console.width
    console.print(Rule(f"genarch analysis: {t.source}"))
    head = (f"{t.n} usable trials of {t.n_total} ({t.n_failed} failed); metric [bold]{t.metric}[/] ({t.direction}); "
            f"top {analysis.tree.q:.0%} = {analysis.tree.n_top} trials")
    console.print(head)
    for note in t.notes + analysis.warnings:
        console.print(f"  [yellow]note:[/] {note}", markup=True, highlight=False)
    if t.rungs:  # a multi-fidelity sweep: candidates, promotions, best score and compute per rung
        from genarch.analysis.rungs import table_lines

        console.print("rungs:", highlight=False)
        for line in table_lines(t.rungs):
            console.print("  " + line, highlight=False, markup=False)

    # top trials: as many of the most important hyperparameters as fit the width, whole cells only
    shown = analysis.ranking()
    top = list(analysis.top_trials(top_k).iterrows())
    short = short_names(shown)
    rows = [(str(rank), str(row["job"]), _fmt(float(row["value"]))) for rank, (_, row) in enumerate(top, start=1)]
    used = 1 + sum(_cell_width([h, *(r[i] for r in rows)]) for i, h in enumerate(("#", "job", t.metric)))
    columns = []
    for p in shown:
        cells = [_fmt(row[p]) for _, row in top]
        need = _cell_width([short[p], *cells])
        if used + need > width:
            break
        used += need
        columns.append((p, cells))
    table = Table(title=f"Top {len(top)} trials", header_style="bold", title_justify="left")
    for header, justify in (("#", "right"), ("job", "right"), (t.metric, "right")):
        table.add_column(header, justify=justify, no_wrap=True)
    for p, _ in columns:
        table.add_column(short[p], no_wrap=True)
    for i, row in enumerate(rows):
        table.add_row(*row, *(cells[i] for _, cells in columns))
    console.print(table)
    if len(columns) < len(shown):
        console.print(f"  {len(shown) - len(columns)} less important hyperparameters left out at {width} columns "
                      "(all in report.html)", style="dim", highlight=False)

    names = dict(zip(shown, shown))
    methods = sum(_cell_width(["0.00 ± 0.00", i.method]) for i in analysis.importances)
    fixed = 1 + _cell_width([p + " *" for p in shown]) + methods + 3
    if width - fixed < 8:  # the full keys leave no room for the bars: the short ones
        names = short
        fixed = 1 + _cell_width([short[p] + " *" for p in shown]) + methods + 3
    bar_width = max(4, min(30, width - fixed))
    imp = Table(title="Importance (share, mean ± sd over seeds)", header_style="bold", title_justify="left")
    imp.add_column("hyperparameter", no_wrap=True)
    for i in analysis.importances:
        imp.add_column(i.method, justify="right", no_wrap=True)
    imp.add_column("", no_wrap=True, width=bar_width)
    scale = max([analysis.combined[p] for p in shown] + [1e-12])
    for p in shown:
        bar = "█" * int(round(analysis.combined[p] / scale * bar_width))
        mark = " *" if p in analysis.important else ""
        imp.add_row(names[p] + mark, *[f"{i.mean[p]:.2f} ± {i.sd[p]:.2f}" for i in analysis.importances],
                    Text(bar, style="green" if p in analysis.important else "dim"))
    console.print(imp)
    console.print("  * important: share >= max(5%, half an equal share); only these get pruned", style="dim")

    from genarch.analysis.top_tree import rules_text

    console.print(Panel(Text(rules_text(analysis.tree).rstrip()), title="Top-quantile tree: rules", expand=False))
    if analysis.fork:
        branches = ", ".join(" AND ".join(f"{k}={v}" for k, v in b.conditions.items()) + f" ({b.n_top} top)"
                             for b in analysis.fork.branches)
        console.print(f"[bold magenta]Fork[/] on {analysis.fork.param}: {branches}", highlight=False)
    for proposal in analysis.proposals:
        title = f"Suggested {proposal.name}.yaml" + (f" (branch {proposal.branch})" if proposal.branch else "")
        if proposal.diff:
            console.print(Panel(Syntax(proposal.diff, "diff", word_wrap=True, theme="ansi_dark"), title=title))
        else:
            console.print(f"{title}: no change is supported by the evidence (keep the stage as it is)")
    out = analysis.out_dir
    files = ", ".join(sorted(set(analysis.files.values())))
    console.print(f"Files in [bold]{out}[/]: {files}", highlight=False)


def render_text(analysis: "Analysis", width: int = 140) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, record=True, width=width, color_system=None, force_terminal=False)
    render(analysis, console)
    return console.export_text()


def print_summary(analysis: "Analysis", console: Optional["Console"] = None) -> None:
    from rich.console import Console

    render(analysis, console or Console())
