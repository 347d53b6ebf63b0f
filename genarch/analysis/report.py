"""One self-contained HTML report per stage and a stage index (``index.html`` in the experiment's
sweeps root) linking the stages in order.

The report works offline: images are base64 data URIs and the interactive plots (best-so-far
history, parallel coordinates of the most important hyperparameters, slice plots; see
:mod:`genarch.analysis.plots_interactive`) carry plotly.js inline, once; nothing is fetched from a
network. ``experiments/check_report_browser.py`` opens a report in headless Chromium to check it."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from genarch.io import atomic_write_text

if TYPE_CHECKING:
    from genarch.analysis.findings import Analysis

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1150px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f4f6fb}pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.82em}
.add{color:#070}.del{color:#a00}.hunk{color:#55a}.note{color:#8a6d3b}img{max-width:100%}
.bar{background:#4c9;height:.8em;display:inline-block}.imp{font-weight:bold}.scroll{overflow-x:auto}
"""


def data_uri(path: Path) -> str:
    mime = {".png": "image/png", ".svg": "image/svg+xml"}[path.suffix]
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _img(analysis: "Analysis", key: str, alt: str) -> str:
    name = analysis.files.get(key)
    if not name or not (analysis.out_dir / name).exists():
        return f"<p class=note>({alt}: not available)</p>"
    return f'<img alt="{html.escape(alt)}" src="{data_uri(analysis.out_dir / name)}">'


def _diff_html(diff: str) -> str:
    rows = []
    for line in diff.splitlines():
        cls = ("hunk" if line.startswith("@@") else "add" if line.startswith("+")
               else "del" if line.startswith("-") else "")
        rows.append(f'<span class="{cls}">{html.escape(line)}</span>' if cls else html.escape(line))
    return "<pre>" + "\n".join(rows) + "</pre>"


def _interactive(analysis: "Analysis") -> dict[str, str]:
    """The plotly figures as HTML fragments by section (plotly.js inline in the first); empty, with a
    warning in the analysis, where they cannot be made."""
    try:
        from genarch.analysis import plots_interactive

        figs = plots_interactive.figures(analysis)
        return dict(zip(figs, plots_interactive.figure_html(list(figs.values()), [f"plot-{k}" for k in figs])))
    except Exception as exc:  # noqa: BLE001 - the rest of the report is still worth writing
        analysis.warnings.append(f"interactive plots not made ({type(exc).__name__}: {exc})")
        return {}


def render_html(analysis: "Analysis") -> str:
    t = analysis.table
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset=utf-8><title>genarch analysis: {e(t.source)}</title>",
             f"<style>{CSS}</style></head><body>",
             f"<h1>Stage analysis: {e(Path(t.source).name)}</h1>",
             f"<p>{e(t.source)}<br>{t.n} usable trials of {t.n_total} ({t.n_failed} failed); "
             f"metric <b>{e(t.metric)}</b> "
             f"({e(t.direction)}); top {analysis.tree.q:.0%} = {analysis.tree.n_top} trials.</p>"]
    for note in t.notes + analysis.warnings:
        parts.append(f"<p class=note>note: {e(note)}</p>")
    if t.rungs:  # a multi-fidelity sweep: candidates, promotions, best score and compute per rung
        parts.append("<h2>Rungs</h2><table><tr><th>rung</th><th>fidelity</th><th>entered</th><th>promoted</th>"
                     "<th>best</th><th>epochs &times; sequences</th><th>seconds</th></tr>")
        for row in t.rungs:
            best = "-" if row.best is None else f"{row.best:.4g}"
            parts.append(f"<tr><td>{row.rung}</td><td>{e(row.fidelity_text())}</td><td>{row.entered}</td>"
                         f"<td>{row.promoted}</td><td>{best}</td><td>{row.epoch_sequences}</td>"
                         f"<td>{row.seconds:.1f}</td></tr>")
        parts.append("</table>")
    shown = analysis.ranking()
    parts.append("<h2>Top trials</h2><div class=scroll><table><tr><th>#</th><th>job</th>"
                 f"<th>{e(t.metric)}</th>" + "".join(f"<th>{e(p)}</th>" for p in shown) + "</tr>")
    for rank, (_, row) in enumerate(analysis.top_trials(10).iterrows(), start=1):
        cells = "".join(f"<td>{e(f'{row[p]:.4g}' if isinstance(row[p], float) else str(row[p]))}</td>" for p in shown)
        parts.append(f"<tr><td>{rank}</td><td>{e(str(row['job']))}</td><td>{row['value']:.4g}</td>{cells}</tr>")
    parts.append("</table></div>")
    interactive = _interactive(analysis)
    parts.append("<h2>Best so far (history)</h2>")
    parts.append(interactive.get("history", "<p class=note>(interactive plots not available)</p>"))
    parts.append("<h2>All trials (parallel coordinates)</h2>")
    if "parallel" in interactive:
        parts.append(interactive["parallel"])
        parts.append("<details><summary>static image</summary>" + _img(analysis, "parallel_png", "parallel coordinates")
                     + "</details>")
    else:
        parts.append(_img(analysis, "parallel_png", "parallel coordinates"))
    if "slices" in interactive:
        parts.append("<h2>Slice plots</h2>")
        parts.append(interactive["slices"])
    parts.append("<h2>Importance</h2><table><tr><th>hyperparameter</th>"
                 + "".join(f"<th>{e(i.method)} (mean ± sd, {len(i.seeds)} seeds)</th>" for i in analysis.importances)
                 + "<th>combined</th></tr>")
    for p in shown:
        cls = ' class="imp"' if p in analysis.important else ""
        cells = "".join(f"<td>{i.mean[p]:.3f} ± {i.sd[p]:.3f}</td>" for i in analysis.importances)
        parts.append(f"<tr><td{cls}>{e(p)}</td>" + cells
                     + f'<td><span class="bar" style="width:{int(200 * analysis.combined[p])}px"></span> '
                     f"{analysis.combined[p]:.2f}</td></tr>")
    parts.append("</table><p>Bold: important (combined share >= max(5%, half an equal share)); only important "
                 "hyperparameters are pruned in the suggested next stage.</p>")
    parts.append(_img(analysis, "importance_png", "importance bars"))
    parts.append("<h2>Top-quantile decision tree</h2>")
    parts.append(_img(analysis, "tree_svg", "decision tree"))
    from genarch.analysis.top_tree import rules_text

    parts.append(f"<pre>{e(rules_text(analysis.tree))}</pre>")
    if analysis.fork:
        parts.append(f"<p><b>Fork</b> on {e(analysis.fork.param)}: " + "; ".join(
            e(" AND ".join(f"{k}={v}" for k, v in b.conditions.items())) + f" ({b.n_top} top)"
            for b in analysis.fork.branches) + "</p>")
    parts.append("<h2>Interactions of the most important hyperparameters</h2>")
    inter = [k for k in analysis.files if k.startswith("interactions_")]
    parts += [_img(analysis, k, k) for k in sorted(inter)] or ["<p class=note>(fewer than two hyperparameters)</p>"]
    parts.append("<h2>Suggested next stage</h2>")
    for proposal in analysis.proposals:
        parts.append(f"<h3>{e(proposal.name)}.yaml</h3>")
        parts.append("<ul>" + "".join(f"<li>{e(c.evidence)}</li>" for c in proposal.changes) + "</ul>"
                     if proposal.changes else "<p>No change is supported by the evidence.</p>")
        parts.append(_diff_html(proposal.diff) if proposal.diff else "")
    files = "".join(f"<li>{e(n)}</li>" for n in sorted(set(analysis.files.values())))
    parts.append("<h2>Files</h2><ul>" + files + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(analysis: "Analysis", path: Path) -> Path:
    return atomic_write_text(path, render_html(analysis))


def _natural(text: str) -> list:
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", text)]


def write_index(root: "str | Path") -> Path:
    """``<root>/index.html``: every ``<root>/**/analysis/report.html`` (one per stage), in natural order
    of their paths (stage 2 before stage 10), with each stage's best value and suggestion."""
    root = Path(root)
    rows = []
    for report in sorted(root.glob("**/analysis/report.html"), key=lambda p: _natural(str(p.relative_to(root)))):
        info = {}
        try:
            info = json.loads((report.parent / "analysis.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        stage_dir = report.parent.parent.relative_to(root)
        best = info.get("top_trials", [{}])[0].get("value") if info.get("top_trials") else None
        fork = info.get("fork")
        suggestion = ", ".join(n["file"] for n in info.get("next_stage", []))
        rows.append(
            f"<tr><td><a href=\"{html.escape(str(report.relative_to(root)))}\">{html.escape(str(stage_dir))}</a></td>"
            f"<td>{info.get('n_used', '')}/{info.get('n_total', '')}</td>"
            f"<td>{html.escape(str(info.get('metric', '')))}</td>"
            f"<td>{'' if best is None else f'{best:.4g}'}</td>"
            f"<td>{html.escape(', '.join(info.get('important', [])))}</td>"
            f"<td>{'fork on ' + html.escape(fork['param']) if fork else ''}</td>"
            f"<td>{html.escape(suggestion)}</td></tr>")
    text = (f"<!doctype html><html><head><meta charset=utf-8><title>Stages of {html.escape(root.name)}</title>"
            f"<style>{CSS}</style></head><body><h1>Stages of {html.escape(str(root))}</h1>"
            "<table><tr><th>stage</th><th>trials used/total</th><th>metric</th><th>best</th><th>important</th>"
            "<th>fork</th><th>suggested next</th></tr>" + "\n".join(rows) + "</table></body></html>\n")
    return atomic_write_text(root / "index.html", text)
