"""Shared, dependency-light code of the experiments: collecting result.json files, Table-1 style
summaries (per-experiment score, mean, median, win shares), markdown rendering, and the
"trials needed to reach a target" measure of the search-efficiency experiment. The grid driver
(command line, resumable slices, one run per cell) is experiments/grid.py.

Pure functions here are tested in tests/test_experiments_tables.py."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "experiments" / "runs"
RESULTS = ROOT / "experiments" / "results"


def read_ok(path: Path) -> Optional[dict[str, Any]]:
    """The result.json at ``path`` (file or run dir) if it exists and has status ok, else None."""
    path = Path(path)
    if path.is_dir():
        path = path / "result.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("status") == "ok" else None


def run_device(result: Mapping[str, Any]) -> str:
    """The hardware and precision a run trained on, from its result.json ``extra``: "NVIDIA H100 80GB HBM3,
    bf16-mixed"; "device not recorded" for a run from before genarch recorded it."""
    extra = result.get("extra") or {}
    name = extra.get("device_name")
    if not name:
        return "device not recorded"
    return f"{name}, {extra['precision']}" if extra.get("precision") else str(name)


def device_summary(devices: Mapping[str, Iterable[str]]) -> str:
    """Every device the runs of a table trained on (``{model: {run_device(...)}}``), joined: what a table's
    header says instead of the flag it was aggregated with."""
    found = sorted(set().union(*map(set, devices.values()))) if devices else []
    return " + ".join(found) if found else "no runs yet"


def stale_note(stale: Mapping[str, int]) -> list[str]:
    """The markdown lines that say which runs a table left out because another config made them."""
    if not any(stale.values()):
        return []
    counts = ", ".join(f"{model} {n}" for model, n in stale.items() if n)
    return [f"Left out, made with another config (an older preset or contender): {counts} run(s); running the "
            "command again retrains them.", ""]


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def mean_over_seeds(scores: Mapping[str, Mapping[str, Sequence[Optional[float]]]]) -> dict[str, dict[str, float]]:
    """``{model: {experiment: [score per seed]}}`` -> ``{model: {experiment: mean}}``. A seed whose score
    is undefined (``null`` in result.json, NaN) is left out; an experiment with no defined score is dropped."""
    out: dict[str, dict[str, float]] = {}
    for m, per in scores.items():
        out[m] = {}
        for e, values in per.items():
            defined = [float(v) for v in values if _finite(v)]
            if defined:
                out[m][e] = float(statistics.fmean(defined))
    return out


def win_shares(table: Mapping[str, Mapping[str, float]], tie: float = 0.5) -> dict[str, dict[str, Optional[float]]]:
    """Share of experiments on which model ``a`` scores higher than model ``b`` (paper Table 1 format).

    ``table[model][experiment] = score``. Only experiments on which both models have a defined score
    count (a None or NaN cell is no comparison, not a loss). A tie counts ``tie`` (default half a win
    each). ``shares[a][b]`` is None when the two share no experiment; ``shares[a][a]`` is None."""
    shares: dict[str, dict[str, Optional[float]]] = {}
    for a, sa in table.items():
        shares[a] = {}
        for b, sb in table.items():
            if a == b:
                shares[a][b] = None
                continue
            common = [e for e in sa if e in sb and _finite(sa[e]) and _finite(sb[e])]
            if not common:
                shares[a][b] = None
                continue
            wins = sum(1.0 if sa[e] > sb[e] else tie if sa[e] == sb[e] else 0.0 for e in common)
            shares[a][b] = wins / len(common)
    return shares


def summary_stats(table: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, Optional[float]]]:
    """Per model: mean, median and count of its per-experiment scores."""
    out = {}
    for model, per in table.items():
        values = [v for v in per.values() if _finite(v)]
        out[model] = {"mean": statistics.fmean(values) if values else None,
                      "median": statistics.median(values) if values else None, "n": len(values)}
    return out


def fmt(value: Optional[float], digits: int = 3, pct: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{100 * value:.1f}%" if pct else f"{value:.{digits}f}"


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def win_share_markdown(shares: Mapping[str, Mapping[str, Optional[float]]]) -> str:
    models = list(shares)
    rows = [[f"**{a}** beats"] + [fmt(shares[a][b], pct=True) if a != b else "" for b in models] for a in models]
    return md_table(["row beats column"] + models, rows)


def best_so_far(values: Sequence[Optional[float]], maximize: bool = True) -> list[Optional[float]]:
    """Running best of a trial sequence (None = failed trial, skipped)."""
    out: list[Optional[float]] = []
    best: Optional[float] = None
    for v in values:
        if v is not None and math.isfinite(v):
            best = v if best is None else (max(best, v) if maximize else min(best, v))
        out.append(best)
    return out


def trials_to_reach(values: Sequence[Optional[float]], target: float, maximize: bool = True) -> Optional[int]:
    """1-based number of trials after which the running best first reaches ``target`` (None: never)."""
    for i, b in enumerate(best_so_far(values, maximize), start=1):
        if b is not None and (b >= target if maximize else b <= target):
            return i
    return None


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
