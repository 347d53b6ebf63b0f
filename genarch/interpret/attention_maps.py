"""Attention (or attribution) maps as the paper's figures, written as PNG.

* :func:`plot_sequences` - per-sequence maps, raw and Gaussian-blurred (Fig. 2C; Fig. 3B for chosen
  genes), planted sites shaded when the ground truth is known;
* :func:`plot_heatmap` - many sequences' blurred maps as rows;
* :func:`plot_profiles` - mean maps: over all positive sequences (Fig. 2B, the TF "footprint"), over
  all promoters (Fig. 3C), or one curve per output / per model to compare them (Fig. 3D).

Positions on the x axis are input bases (see :mod:`genarch.interpret.positions`); for regression
promoters they are shown relative to the TSS at the centre when ``tss`` is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np

from genarch.interpret.truth import Site
from genarch.io import atomic_savefig


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def blur(scores: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur along positions (``sigma`` in bases; 0 = none), as the paper's Fig. 2C."""
    if sigma <= 0:
        return np.asarray(scores, dtype=float)
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.asarray(scores, dtype=float), sigma, axis=-1, mode="constant")


def _axis(length: int, tss: Optional[int]) -> np.ndarray:
    return np.arange(length) - (tss or 0)


def plot_sequences(scores: np.ndarray, labels: Sequence[str], path: Path, sigma: float = 2.0,
                   sites: Optional[Sequence[Sequence[Site]]] = None, peaks: Optional[np.ndarray] = None,
                   title: str = "attention", ylabel: str = "attention weight", tss: Optional[int] = None) -> Path:
    """One panel per sequence: raw map (thin) and blurred map (thick), planted sites shaded."""
    plt = _plt()
    n = len(scores)
    fig, axes = plt.subplots(n, 1, figsize=(9, 1.6 * n + 0.6), sharex=True, squeeze=False)
    x = _axis(scores.shape[1], tss)
    for r, ax in enumerate(axes[:, 0]):
        ax.plot(x, scores[r], color="0.6", lw=0.8, label="raw")
        if sigma > 0:
            ax.plot(x, blur(scores[r], sigma), color="C0", lw=1.8, label=f"blurred (sigma={sigma:g} bp)")
        for site in (sites[r] if sites is not None else []):
            ax.axvspan(site.start - (tss or 0) - 0.5, site.end - (tss or 0) - 0.5, color="C2", alpha=0.25,
                       label=f"planted {site.name or site.jaspar_id} ({site.strand})")
        if peaks is not None:
            ax.axvline(peaks[r] - (tss or 0), color="C3", lw=1, ls="--", label="peak")
        ax.set_ylabel(ylabel if r == n // 2 else "")
        ax.text(0.01, 0.85, labels[r], transform=ax.transAxes, fontsize=8)
        if r == 0:
            handles, names = ax.get_legend_handles_labels()
            unique = dict(zip(names, handles))
            ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper right", ncol=2)
    axes[-1, 0].set_xlabel("position relative to TSS (bp)" if tss else "position (bp)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)
    return path


def plot_heatmap(scores: np.ndarray, path: Path, sigma: float = 2.0, title: str = "attention",
                 tss: Optional[int] = None) -> Path:
    """Rows = sequences (as given), columns = bases; each row blurred and scaled to its maximum."""
    plt = _plt()
    data = blur(scores, sigma)
    peak = np.abs(data).max(axis=1, keepdims=True)
    data = np.divide(data, peak, out=np.zeros_like(data), where=peak > 0)
    fig, ax = plt.subplots(figsize=(9, min(12, 1.5 + 0.06 * len(data))))
    x = _axis(scores.shape[1], tss)
    im = ax.imshow(data, aspect="auto", cmap="viridis", interpolation="nearest",
                   extent=(x[0] - 0.5, x[-1] + 0.5, len(data) - 0.5, -0.5))
    ax.set_xlabel("position relative to TSS (bp)" if tss else "position (bp)")
    ax.set_ylabel("sequence (ranked)")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, label="scaled to row maximum")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)
    return path


def plot_profiles(profiles: Mapping[str, np.ndarray], path: Path, title: str, sigma: float = 0.0,
                  ylabel: str = "mean attention", tss: Optional[int] = None,
                  bands: Optional[Mapping[str, np.ndarray]] = None) -> Path:
    """Mean maps, one curve per label (an output, a model, or just "all positives")."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for k, (label, profile) in enumerate(profiles.items()):
        x = _axis(len(profile), tss)
        y = blur(profile, sigma)
        ax.plot(x, y, lw=1.6, label=label, color=f"C{k % 10}")
        if bands is not None and label in bands:
            ax.fill_between(x, y - bands[label], y + bands[label], color=f"C{k % 10}", alpha=0.15)
    if tss:
        ax.axvline(0, color="0.3", lw=0.8, ls=":")
    ax.set_xlabel("position relative to TSS (bp)" if tss else "position (bp)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if len(profiles) > 1:
        ax.legend(fontsize=7, ncol=max(1, len(profiles) // 6), loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)
    return path
