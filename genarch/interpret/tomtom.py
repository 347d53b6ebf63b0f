"""TOMTOM (Gupta et al. 2007, memelite's implementation) of query motifs against JASPAR, with
Benjamini-Hochberg q-values.

q-values are computed over *all* (query, target) pairs of one call, as MEME's tomtom does for its
whole comparison. For each query the best target (smallest p-value, ties: higher score) is reported
with

* ``strand``: ``+`` when the query aligns with the target as JASPAR writes it, ``-`` when it aligns
  with the target's reverse complement;
* ``offset``: the column of the target (reverse-complemented for ``-``) that the query's first column
  aligns with; negative when the query starts before the target;
* ``overlap``: the number of aligned columns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional, Sequence

import numpy as np

from genarch.interpret.numba_cache import ensure_numba_cache_dir
from genarch.jaspar import JasparMotif
from genarch.interpret.tfnames import match_level


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of any-shaped p-values, over all of them at once
    (``scipy.stats.false_discovery_control``). A p-value a numeric routine put a hair outside [0, 1]
    is clipped; a NaN p-value stays NaN and does not count among the tests."""
    from scipy.stats import false_discovery_control

    arr = np.asarray(p, dtype=np.float64)
    q = np.full(arr.shape, np.nan)
    finite = ~np.isnan(arr)
    if finite.any():
        q[finite] = false_discovery_control(np.clip(arr[finite], 0.0, 1.0))
    return q


@dataclass
class TomtomResult:
    p: np.ndarray        # (n_queries, n_targets)
    q: np.ndarray
    score: np.ndarray
    offset: np.ndarray
    overlap: np.ndarray
    strand: np.ndarray   # 0 = target as written, 1 = reverse complement


def run_tomtom(queries: Sequence[np.ndarray], targets: Sequence[JasparMotif], n_jobs: int = -1) -> TomtomResult:
    """Compare query PFMs ``(k, 4)`` (columns A, C, G, T) with every target; all pairs kept."""
    if not queries:
        raise ValueError("no query motifs")
    ensure_numba_cache_dir()
    from memelite import tomtom

    qs = [np.ascontiguousarray(np.asarray(q, dtype=np.float64).T) for q in queries]
    for i, q in enumerate(qs):
        if q.shape[0] != 4 or q.shape[1] < 1:
            raise ValueError(f"query {i} must be (k, 4), got {q.T.shape}")
    ts = [np.ascontiguousarray(t.pfm, dtype=np.float64) for t in targets]
    p, score, offset, overlap, strand = tomtom(qs, ts, n_jobs=n_jobs)
    p = np.clip(np.nan_to_num(np.asarray(p, dtype=np.float64), nan=1.0), 0.0, 1.0)
    return TomtomResult(p, bh_qvalues(p), np.asarray(score), np.asarray(offset).astype(int),
                        np.asarray(overlap).astype(int), np.asarray(strand).astype(int))


@dataclass
class Match:
    query: str
    rank: int            # 1 = best target of this query
    target_id: str
    target_name: str
    p_value: float
    q_value: float
    score: float
    strand: str
    offset: int
    overlap: int
    tf_family: str
    level: str           # tf / family / class / none relative to the ChIP'd TF (or planted motif)

    def to_dict(self) -> dict:
        return asdict(self)


def best_matches(result: TomtomResult, query_names: Sequence[str], targets: Sequence[JasparMotif],
                 tf: Optional[str] = None, top: int = 1) -> list[Match]:
    """The ``top`` targets of every query by p-value (ties: higher score), with the TF match level."""
    out = []
    for i, name in enumerate(query_names):
        order = np.lexsort((-result.score[i], result.p[i]))[:top]
        for rank, j in enumerate(order, start=1):
            t = targets[j]
            out.append(Match(name, rank, t.matrix_id, t.name, float(result.p[i, j]), float(result.q[i, j]),
                             float(result.score[i, j]), "-" if result.strand[i, j] else "+",
                             int(result.offset[i, j]), int(result.overlap[i, j]), "; ".join(t.tf_family),
                             match_level(tf, t, targets)))
    return out
