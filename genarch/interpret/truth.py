"""Ground truth of the embedded synthetic datasets (where genarch.data planted which JASPAR motif) and
the known-answer checks: does the attention peak fall on the planted site, is the motif the planted one.

genarch.data.synthetic writes a TSV next to its cached arrays and names it in
``bundle.info["ground_truth_file"]``. SyntheticTFBS rows: ``id label jaspar_id motif_name start end
strand site`` (0-based, end exclusive; negatives have empty fields). SyntheticILSEP rows use
``start_rel_tss`` / ``end_rel_tss`` relative to the TSS at the sequence centre (``length // 2``).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np


@dataclass(frozen=True)
class Site:
    jaspar_id: str
    name: str
    start: int    # 0-based first base
    end: int      # exclusive
    strand: str
    group: str = ""   # SyntheticILSEP: the lineage (output) the motif drives, "all" for the shared motif


def load_truth(info: Mapping[str, Any], seq_len: int) -> Optional[dict[str, list[Site]]]:
    """Planted sites per sequence id, or ``None`` when the dataset records no ground truth."""
    path = info.get("ground_truth_file") if info else None
    if not path or path == "None" or not Path(path).exists():
        return None
    sites: dict[str, list[Site]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if not row.get("jaspar_id"):
                continue
            if row.get("start") not in (None, ""):
                start, end = int(row["start"]), int(row["end"])
            elif row.get("start_rel_tss") not in (None, ""):
                start, end = int(row["start_rel_tss"]) + seq_len // 2, int(row["end_rel_tss"]) + seq_len // 2
            else:
                continue
            sites.setdefault(row["id"], []).append(Site(row["jaspar_id"], row.get("motif_name", ""), start, end,
                                                        row.get("strand", "+"), row.get("lineage", "") or ""))
    return sites


def planted_motifs(truth: Mapping[str, list[Site]], ids: np.ndarray) -> list[tuple[str, str, int]]:
    """``(jaspar_id, name, n sequences)`` of the motifs planted in ``ids``, most frequent first."""
    counts: Counter[tuple[str, str]] = Counter()
    for i in ids:
        for s in {(site.jaspar_id, site.name) for site in truth.get(str(i), [])}:
            counts[s] += 1
    return [(jid, name, n) for (jid, name), n in counts.most_common()]


def peak_hits(peaks: np.ndarray, ids: np.ndarray, truth: Mapping[str, list[Site]], tolerance: int = 3) -> np.ndarray:
    """Per sequence: 1 if its peak lies within a planted site +- ``tolerance`` bp, 0 if not, -1 if it has
    no planted site."""
    out = np.full(len(ids), -1, dtype=int)
    for n, (peak, i) in enumerate(zip(peaks, ids)):
        sites = truth.get(str(i))
        if sites:
            out[n] = int(any(s.start - tolerance <= peak <= s.end - 1 + tolerance for s in sites))
    return out


def same_matrix(a: str, b: str) -> bool:
    """Same JASPAR matrix, ignoring the version (``MA0139.2`` vs ``MA0139.1``)."""
    return a.split(".")[0].upper() == b.split(".")[0].upper()


def recovery(peaks: np.ndarray, ids: np.ndarray, truth: Mapping[str, list[Site]], tolerance: int = 3) -> dict:
    """Share of sequences with a planted site whose peak falls on it (within ``tolerance`` bp)."""
    hits = peak_hits(peaks, ids, truth, tolerance)
    scored = hits >= 0
    n = int(scored.sum())
    return {"n_with_site": n, "n_peak_on_site": int((hits == 1).sum()),
            "rate": float((hits == 1).sum() / n) if n else float("nan"), "tolerance_bp": int(tolerance)}
