"""Report files and the rich summary table.

``<out_dir>/``
  motifs.json   every output's PFM and k-mers (counts, PFM, consensus, windows used), their top-3 JASPAR
                matches, known-answer recovery where the dataset has ground truth, the settings
  matches.tsv   one row per (motif, rank <= 3 match): p, q, strand, offset, overlap, TF match level
  summary.txt   the summary table as plain text
  index.json    every output file with its kind, for the HTML stage report to link

Every file is written whole, then renamed into place (:mod:`genarch.io`), and ``index.json`` last: a
reader never sees a torn file, and an ``index.json`` means the report beside it is complete.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from genarch.io import atomic_write_text

INDEX_VERSION = 1


def motifs_document(report) -> dict:
    outputs = []
    for r in report.outputs:
        ms = r.motif_set
        matches = [m.to_dict() for m in r.matches]
        outputs.append({
            "output": r.output, "tf": r.tf, "n_candidates": r.n_candidates, "n_top": len(r.chosen),
            "planted": [{"jaspar_id": a, "name": b, "n_sequences": n} for a, b, n in r.planted],
            "pfm": ms.pfm.to_dict(), "kmers": [m.to_dict() for m in ms.kmers],
            "top_sequences": [{"id": i, "window_start": s, "window": w}
                              for i, s, w in zip(ms.sequences, ms.window_starts, ms.windows)],
            "matches": matches, "recovery": r.recovery,
            "mean_profile": np.round(r.mean_profile, 6).tolist(),
        })
    return {"run_dir": report.run_dir, "method": report.method, "split": report.split, "dataset": report.dataset,
            "task": report.task, "n_sequences": report.n_sequences, "jaspar": report.jaspar,
            "settings": report.config, "outputs": outputs, "seconds": report.seconds}


MATCH_COLUMNS = ("output", "query", "source", "consensus", "rank", "target_id", "target_name", "p_value", "q_value",
                 "score", "strand", "offset", "overlap", "tf_family", "chipped_tf", "level")


def write_matches(report, path: Path) -> None:
    handle = io.StringIO(newline="")
    writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
    writer.writerow(MATCH_COLUMNS)
    for r in report.outputs:
        motifs = {m.name: m for m in r.motif_set.motifs()}
        for m in r.matches:
            q = motifs[m.query]
            writer.writerow([r.output, m.query, q.source, q.meta.get("kmer", q.consensus), m.rank, m.target_id,
                             m.target_name, f"{m.p_value:.4g}", f"{m.q_value:.4g}", f"{m.score:.4g}", m.strand,
                             m.offset, m.overlap, m.tf_family, r.tf or "", m.level])
    atomic_write_text(path, handle.getvalue())


def summary_table(report):
    from rich.table import Table

    table = Table(title=f"{report.dataset} - {report.method} ({report.split}, {report.n_sequences} sequences) "
                        f"vs JASPAR {report.jaspar['release']} CORE {report.jaspar['tax_group'] or 'all'}")
    for col in ("output", "motif", "consensus", "best match", "q", "strand/offset", "ChIP'd TF", "level"):
        table.add_column(col)
    for r in report.outputs:
        motifs = {m.name: m for m in r.motif_set.motifs()}
        for m in (x for x in r.matches if x.rank == 1):
            q = motifs[m.query]
            level = m.level if m.q_value < 0.05 else f"{m.level} (q>=0.05)"
            style = "green" if m.level == "tf" and m.q_value < 0.05 else ("yellow" if m.level == "family" else None)
            table.add_row(r.output, m.query.split(":")[-1], q.meta.get("kmer", q.consensus),
                          f"{m.target_id} {m.target_name}", f"{m.q_value:.2g}", f"{m.strand}/{m.offset}",
                          r.tf or "-", level, style=style)
    return table


def recovery_verdict(check: dict, planted: list) -> str:
    """What a motif's best JASPAR match says about the planted motif(s) ``planted`` ((matrix, TF name, ...)):
    the planted matrix, or another JASPAR matrix of the planted TF, at q < 0.05 is a recovery; the planted
    TF with q >= 0.05 is a match that is not significant; anything else is not recovered, naming both."""
    names = {str(p[1]).upper() for p in planted if len(p) > 1 and p[1]}
    best_name = str(check.get("best_name") or "")
    same_tf = best_name.upper() in names
    significant = check["q_value"] < 0.05
    if check["recovered"]:
        return "planted motif recovered"
    if check.get("matches_planted") or same_tf:
        what = ("the planted matrix" if check.get("matches_planted")
                else f"the planted TF {best_name} (another JASPAR matrix than the planted "
                     f"{', '.join(str(p[0]) for p in planted)})")
        if significant:
            return f"planted TF recovered: best match is {what}"
        return f"best match is {what}, but not significant (q={check['q_value']:.2g} >= 0.05)"
    planted_names = ", ".join(f"{p[0]} {p[1]}" for p in planted) or "none"
    return f"planted motif not recovered (best match {best_name}; planted {planted_names})"


def recovery_lines(report) -> list[str]:
    lines = []
    for r in report.outputs:
        rec = r.recovery
        if not rec:
            continue
        planted = ", ".join(f"{a} {b}" for a, b, _ in r.planted)
        lines.append(f"{r.output}: planted {planted}; peak on site (+-{rec['tolerance_bp']} bp) in "
                     f"{rec['n_peak_on_site']}/{rec['n_with_site']} = {rec['rate']:.1%} of sequences with a site "
                     f"(top {rec['top_n']['n_with_site']}: {rec['top_n']['rate']:.1%})")
        for source, check in rec.get("motifs", {}).items():
            lines.append(f"  {source}: best match {check['best_match']} {check['best_name']} "
                         f"q={check['q_value']:.2g} -> {recovery_verdict(check, r.planted)}")
        if "aligned_windows" in rec:
            aw = rec["aligned_windows"]
            lines.append(f"  aligned windows: centre on the planted site {aw['centre_on_site']:.1%}, "
                         f"strand agrees {aw['strand_agrees']:.1%} (n={aw['n']})")
    return lines


def write_report(report, console: Any = None) -> None:
    from rich.console import Console

    out_dir = Path(report.out_dir)
    atomic_write_text(out_dir / "motifs.json", json.dumps(motifs_document(report), indent=1, default=_default))
    write_matches(report, out_dir / "matches.tsv")
    table = summary_table(report)
    text_console = Console(record=True, width=140, file=io.StringIO())
    text_console.print(table)
    lines = recovery_lines(report)
    for line in lines:
        text_console.print(line)
    text_console.print(f"method: {report.method}; top_n={report.config['top_n']} k={report.config['k']} "
                       f"kmer_len={report.config['kmer_len']}; time {report.seconds}")
    atomic_write_text(out_dir / "summary.txt", text_console.export_text())
    core = [{"path": "motifs.json", "kind": "motifs", "output": "", "description": "PFMs, k-mers, matches, recovery"},
            {"path": "matches.tsv", "kind": "matches", "output": "", "description": "TOMTOM matches (top 3 per motif)"},
            {"path": "summary.txt", "kind": "summary", "output": "", "description": "summary table"}]
    index = {"version": INDEX_VERSION, "run_dir": report.run_dir, "method": report.method, "dataset": report.dataset,
             "files": core + report.files,
             "headline": [{"output": r.output, "tf": r.tf,
                           **{k: v for k, v in next(m.to_dict() for m in r.matches if m.rank == 1).items()
                              if k in ("target_id", "target_name", "q_value", "level")},
                           "recovery_rate": None if not r.recovery else r.recovery["rate"]} for r in report.outputs]}
    atomic_write_text(out_dir / "index.json", json.dumps(index, indent=1, default=_default))
    if console is not None:
        console.print(table)
        for line in lines:
            console.print(line)
        console.print(f"[dim]files in {out_dir} (index.json lists them)[/dim]")


def _default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
