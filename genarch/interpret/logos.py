"""Sequence logos (logomaker) of an extracted motif above its best JASPAR match, aligned as TOMTOM
aligned them: the match is reverse-complemented when TOMTOM's strand is ``-`` and shifted so that the
query's first column sits over target column ``offset`` (see :mod:`genarch.interpret.tomtom`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from genarch.jaspar import JasparMotif
from genarch.interpret.tomtom import Match
from genarch.io import atomic_savefig


def information_matrix(pfm: np.ndarray):
    """``(k, 4)`` probabilities -> logomaker information-content DataFrame (bits)."""
    import logomaker
    import pandas as pd

    df = pd.DataFrame(np.clip(pfm, 1e-9, None) / np.clip(pfm, 1e-9, None).sum(axis=1, keepdims=True),
                      columns=list("ACGT"))
    return logomaker.transform_matrix(df, from_type="probability", to_type="information")


def aligned_target(target: JasparMotif, match: Match) -> tuple[np.ndarray, int]:
    """The target as ``(L, 4)`` in the aligned orientation, and the x position of its first column
    in query coordinates (query column 0 is at x = 0)."""
    pfm = target.pfm.T
    if match.strand == "-":
        pfm = pfm[::-1, ::-1]
    return pfm, -int(match.offset)


def plot_logo_pair(query_pfm: np.ndarray, query_label: str, path: Path, target: Optional[JasparMotif] = None,
                   match: Optional[Match] = None) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import logomaker
    import matplotlib.pyplot as plt

    rows = 2 if target is not None and match is not None else 1
    k = len(query_pfm)
    lo, hi = 0, k
    if rows == 2:
        t_pfm, t_start = aligned_target(target, match)
        lo, hi = min(0, t_start), max(k, t_start + len(t_pfm))
    fig, axes = plt.subplots(rows, 1, figsize=(max(4.0, 0.42 * (hi - lo) + 1.2), 2.0 * rows), squeeze=False)
    q = information_matrix(query_pfm)
    logomaker.Logo(q, ax=axes[0, 0], color_scheme="classic")
    axes[0, 0].set_title(query_label, fontsize=9)
    if rows == 2:
        t = information_matrix(t_pfm)
        t.index = t.index + t_start
        logomaker.Logo(t, ax=axes[1, 0], color_scheme="classic")
        axes[1, 0].set_title(f"{match.target_id} {match.target_name} ({match.strand}, offset {match.offset}) "
                             f"p={match.p_value:.2g} q={match.q_value:.2g}", fontsize=9)
    for ax in axes[:, 0]:
        ax.set_xlim(lo - 0.5, hi - 0.5)
        ax.set_ylim(0, 2)
        ax.set_ylabel("bits")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)
    return path
