"""Windows of one-hot sequences around attention peaks: the input of both the paper's read-out
(:mod:`genarch.interpret.motifs`) and its strand- and shift-aware refinement (:mod:`genarch.interpret.alignment`)."""

from __future__ import annotations

import numpy as np

BASES = "ACGT"


def window_starts(peaks: np.ndarray, k: int, length: int) -> np.ndarray:
    """Start of the k-bp window centred on each peak (``peak - k // 2``), shifted to fit in ``[0, length)``."""
    if k > length:
        raise ValueError(f"window k={k} is longer than the sequences ({length} bp)")
    return np.clip(np.asarray(peaks, dtype=int) - k // 2, 0, length - k)


def extract_windows(x: np.ndarray, peaks: np.ndarray, k: int) -> np.ndarray:
    """One-hot windows ``(n, 4, k)`` of ``x`` ``(n, 4, L)`` around ``peaks``."""
    starts = window_starts(peaks, k, x.shape[2])
    cols = starts[:, None] + np.arange(k)[None, :]
    return np.take_along_axis(x, np.broadcast_to(cols[:, None, :], (len(x), 4, k)), axis=2)
