"""The terminal summary at the end of a sweep (rich): top trials, importance bars, the tree's
rules, the suggested next stage as a diff, and where the files are. ``summary.txt`` is the same
summary rendered as plain text."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from rich.console import Console

    from genarch.analysis.findings import Analysis


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def render(analysis: "Analysis", console: "Console", top_k: int = 10) -> None:
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.syntax import Syntax
    from rich.table import Table
    from rich.text import Text

    t = analysis.table
    console.print(Rule(f"genarch analysis: {t.source}"))
    head = (f"{t.n} usable trials of {t.n_total} ({t.n_failed} failed); metric [bold]{t.metric}[/] ({t.direction}); "
            f"top {analysis.tree.q:.0%} = {analysis.tree.n_top} trials")
    console.print(head)
    for note in t.notes + analysis.warnings:
        console.print(f"  [yellow]note:[/] {note}", markup=True, highlight=False)

    table = Table(title=f"Top {min(top_k, t.n)} trials", show_lines=False, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("job", justify="right")
    table.add_column(t.metric, justify="right", no_wrap=True)
    shown = analysis.ranking()
    for p in shown[:6]:
        table.add_column(p, overflow="fold")
    for rank, (_, row) in enumerate(analysis.top_trials(top_k).iterrows(), start=1):
        table.add_row(str(rank), str(row["job"]), _fmt(float(row["value"])), *[_fmt(row[p]) for p in shown[:6]])
    console.print(table)

    imp = Table(title="Importance (share, mean ± sd over seeds)", header_style="bold")
    imp.add_column("hyperparameter")
    for i in analysis.importances:
        imp.add_column(i.method, justify="right")
    imp.add_column("", no_wrap=True)
    width = 30
    for p in shown:
        bar = "█" * int(round(analysis.combined[p] * width))
        mark = " *" if p in analysis.important else ""
        imp.add_row(p + mark, *[f"{i.mean[p]:.2f} ± {i.sd[p]:.2f}" for i in analysis.importances],
                    Text(bar, style="green" if p in analysis.important else "dim"))
    console.print(imp)
    console.print("  * important: combined share >= max(5%, half an equal share); only these are pruned", style="dim")

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
