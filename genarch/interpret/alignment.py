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
   repeat until the choices no longer change (at most ``iterations`` times);
4. re-centre: count the aligned windows extended by ``margin`` bases on each side and keep the k
   columns with the most information; if that moves the frame, refine again from there (the seed
   k-mer fixes the frame, which can be a few bases off the motif's most informative part).

The result is still a PFM of exactly one k-bp window per top sequence, so it stays the paper's
"window around the attention peak", only oriented and centred. Both PFMs are reported and matched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genarch.interpret.windows import BASES, extract_windows


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


def _refine(cands: np.ndarray, counts: np.ndarray, iterations: int) -> tuple[np.ndarray, np.ndarray, int, bool]:
    choice = None
    for it in range(1, iterations + 1):
        scores = np.einsum("nsck,kc->ns", cands, _log_odds(counts))
        new = scores.argmax(axis=1)
        counts = cands[np.arange(len(cands)), new].sum(axis=0).T          # (k, 4)
        if choice is not None and np.array_equal(new, choice):
            return counts, new, it, True
        choice = new
    return counts, choice, iterations, False


def _information(counts: np.ndarray) -> np.ndarray:
    p = (counts + 0.25) / (counts + 0.25).sum(axis=1, keepdims=True)
    return 2.0 + (p * np.log2(p)).sum(axis=1)


def align_windows(x: np.ndarray, peaks: np.ndarray, k: int, seed: np.ndarray, margin: int = 5,
                  iterations: int = 20, recentre: int = 3) -> Alignment:
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
    cands = np.concatenate([fwd, fwd[:, :, ::-1, ::-1]], axis=1)
    # the same sequences padded by `margin` zeros, to read columns beside a chosen window
    padded = np.pad(x.astype(np.float64) * (x.sum(axis=1, keepdims=True) == 1), ((0, 0), (0, 0), (margin, margin)))
    counts, choice, total, converged = _refine(cands, np.asarray(seed, dtype=np.float64), iterations)
    for _ in range(recentre):
        reverse = choice >= n_shift
        start = wide_start + np.where(reverse, choice - n_shift, choice)
        cols = start[:, None] + np.arange(k + 2 * margin)[None, :]     # padded coordinates
        ext = np.take_along_axis(padded, np.broadcast_to(cols[:, None, :], (len(x), 4, k + 2 * margin)), axis=2)
        ext = np.where(reverse[:, None, None], ext[:, ::-1, ::-1], ext)
        ext_counts = ext.sum(axis=0).T                                  # (k + 2m, 4)
        info = _information(ext_counts)
        block = np.convolve(info, np.ones(k), mode="valid")
        best = int(np.argmax(block))
        if best == margin or block[best] <= block[margin] + 1e-9:
            break
        counts, choice, it, converged = _refine(cands, ext_counts[best:best + k], iterations)
        total += it
    reverse = choice >= n_shift
    shift = np.where(reverse, choice - n_shift, choice)
    return Alignment(counts, wide_start + shift, np.where(reverse, "-", "+"), total, converged)
