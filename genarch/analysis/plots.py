"""Stage-wide plots (matplotlib, Agg backend): importance bars with their spread over seeds, and a
parallel-coordinates view of every trial (one axis per hyperparameter + the metric)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from genarch.analysis.importance import Importance
from genarch.analysis.trials import TrialTable
from genarch.io import atomic_savefig


def pyplot():
    """matplotlib's pyplot on the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def importance_bars(importances: Sequence[Importance], path: Path) -> Path:
    plt = pyplot()
    params = sorted(importances[0].params, key=lambda p: -np.mean([imp.mean[p] for imp in importances]))
    y = np.arange(len(params))
    height = 0.8 / len(importances)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(params) + 1.4))
    for i, imp in enumerate(importances):
        ax.barh(y + i * height, [imp.mean[p] for p in params], height, xerr=[imp.sd[p] for p in params],
                label=f"{imp.method} (mean ± sd over {len(imp.seeds)} seeds)", capsize=3)
    ax.set_yticks(y + height * (len(importances) - 1) / 2, params)
    ax.invert_yaxis()
    ax.set_xlabel("share of importance (each method sums to 1)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Hyperparameter importance")
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)
    return path


def axis_positions(table: TrialTable, param: str) -> tuple[np.ndarray, list[float], list[str]]:
    """Trial positions on a [0, 1] axis, tick positions and tick labels (categories evenly spaced;
    numbers min-max scaled, log-scaled when they span two orders of magnitude)."""
    column = table.frame[param]
    if table.kinds[param] == "categorical":
        cats = [c for c in table.categories(param) if c in set(column.astype(str))]
        pos = {c: (i / (len(cats) - 1) if len(cats) > 1 else 0.5) for i, c in enumerate(cats)}
        return np.array([pos[c] for c in column.astype(str)]), list(pos.values()), cats
    x = column.to_numpy(dtype=float)
    lo, hi = x.min(), x.max()
    log = lo > 0 and hi / lo >= 100
    fx = np.log10(x) if log else x
    flo, fhi = fx.min(), fx.max()
    scaled = (fx - flo) / (fhi - flo) if fhi > flo else np.full(len(x), 0.5)
    ticks = [0.0, 0.5, 1.0]
    labels = [f"{(10 ** (flo + t * (fhi - flo)) if log else flo + t * (fhi - flo)):.3g}" for t in ticks]
    return scaled, ticks, labels


def parallel_coordinates(table: TrialTable, top: np.ndarray, path: Path, params: Sequence[str] = (),
                         max_axes: int = 8) -> Path:
    """Every trial as a line over the axes of ``params`` (give them most important first): only the first
    ``max_axes`` are drawn, so a broad stage's 26 hyperparameters do not make an unreadable strip."""
    plt = pyplot()
    all_params = list(params or table.params)
    params = all_params[:max_axes]
    columns = [axis_positions(table, p) for p in params]
    value = table.values
    vlo, vhi = value.min(), value.max()
    vpos = (value - vlo) / (vhi - vlo) if vhi > vlo else np.full(len(value), 0.5)
    xs = np.arange(len(params) + 1)
    fig, ax = plt.subplots(figsize=(max(8, 1.5 * (len(params) + 1)), 5))
    cmap = plt.get_cmap("viridis")
    score = table.score
    shade = (score - score.min()) / (np.ptp(score) or 1.0)
    for i in np.argsort(shade):  # best drawn last, on top
        ys = [c[0][i] for c in columns] + [vpos[i]]
        ax.plot(xs, ys, color=cmap(shade[i]), alpha=0.9 if top[i] else 0.25, lw=1.8 if top[i] else 0.8)
    metric_axis = ([], [0, 0.5, 1], [f"{vlo:.3g}", f"{(vlo + vhi) / 2:.3g}", f"{vhi:.3g}"])
    for x, (_, ticks, labels) in zip(xs, columns + [metric_axis]):
        ax.axvline(x, color="black", lw=0.8)
        for t, lab in zip(ticks, labels):
            ax.text(x + 0.03, t, lab, fontsize=7, va="center")
    ax.set_xticks(xs, params + [table.metric], rotation=20, ha="right", fontsize=8)
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(params) + 0.6)
    left = len(all_params) - len(params)
    ax.set_title(f"All {table.n} trials (bold: top {int(top.sum())}; colour: better -> yellow)"
                 + (f"\nthe {len(params)} most important hyperparameters; {left} less important ones left out"
                    if left > 0 else ""),
                 fontsize=10)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)
    plt.close(fig)
    return path
