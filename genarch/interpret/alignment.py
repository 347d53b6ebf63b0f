"""Strand- and shift-aware refinement of the attended windows before counting a PFM.

The paper's read-out (:func:`genarch.interpret.motifs.pfm_from_windows`) counts the k bases around
each attention peak as they lie on the forward strand. A TF site is as often on the reverse strand,
and the peak can sit a few bases off the site's centre, so that PFM averages a motif with its own
reverse complement at several shifts and can blur into a low-information GC or AT blob. This module
re-aligns the windows, seed-and-extend style:

1. take wider windows (k + 2 * margin bases around each peak);
2. seed with the most recurring k-mer of the windows (strands merged), as a one-hot PFM centred in a
   k-wide matrix (uniform elsewhere);
3. for every window choose the strand and the k-wide sub-window (shift 0 .. 2 * margin) with the
   highest log-odds score under the current PFM, recount the PFM from the chosen sub-windows and
   repeat until the choices no longer change (at most ``iterations`` times).

The result is still a PFM of exactly one k-bp window per top sequence, so it stays the paper's
"window around the attention peak", only oriented and centred. Both PFMs are reported and matched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genarch.interpret.motifs import BASES, extract_windows


@dataclass
class Alignment:
    counts: np.ndarray        # (k, 4) counts of the chosen oriented sub-windows
    starts: np.ndarray        # (n,) first base of each chosen sub-window in its sequence
    strands: np.ndarray       # (n,) '+' / '-'
    iterations: int
    converged: bool


def _log_odds(counts: np.ndarray, pseudocount: float = 0.5) -> np.ndarray:
    p = (counts + pseudocount) / (counts + pseudocount).sum(axis=1, keepdims=True)
    return np.log2(p / 0.25)  # (k, 4)


def seed_counts(kmer: str, k: int) -> np.ndarray:
    """One-hot counts of ``kmer`` centred in a k-wide matrix; columns outside it are uniform."""
    counts = np.full((k, 4), 0.25)
    lo = max(0, (k - len(kmer)) // 2)
    for i, base in enumerate(kmer[:k]):
        counts[lo + i] = 0.0
        counts[lo + i, BASES.index(base)] = 1.0
    return counts


def align_windows(x: np.ndarray, peaks: np.ndarray, k: int, seed: np.ndarray, margin: int = 5,
                  iterations: int = 20) -> Alignment:
    """Refine ``seed`` counts ``(k, 4)`` over the windows of ``x`` ``(n, 4, L)`` around ``peaks``."""
    length = x.shape[2]
    width = min(length, k + 2 * margin)
    wide = extract_windows(x, peaks, width).astype(np.float64)           # (n, 4, W)
    wide_start = np.clip(np.asarray(peaks, dtype=int) - width // 2, 0, length - width)
    wide = wide * (wide.sum(axis=1, keepdims=True) == 1)                   # N columns count for nothing
    n_shift = width - k + 1
    # all candidate sub-windows, both strands: (n, 2 * n_shift, 4, k)
    idx = np.arange(n_shift)[:, None] + np.arange(k)[None, :]
    fwd = wide[:, :, idx].transpose(0, 2, 1, 3)                           # (n, S, 4, k)
    rev = fwd[:, :, ::-1, ::-1]
    cands = np.concatenate([fwd, rev], axis=1)
    counts = np.asarray(seed, dtype=np.float64)
    choice = None
    converged = False
    it = 0
    for it in range(1, iterations + 1):
        scores = np.einsum("nsck,kc->ns", cands, _log_odds(counts))
        new = scores.argmax(axis=1)
        counts = cands[np.arange(len(cands)), new].sum(axis=0).T          # (k, 4)
        if choice is not None and np.array_equal(new, choice):
            converged = True
            break
        choice = new
    choice = new
    reverse = choice >= n_shift
    shift = np.where(reverse, choice - n_shift, choice)
    return Alignment(counts, wide_start + shift, np.where(reverse, "-", "+"), it, converged)
