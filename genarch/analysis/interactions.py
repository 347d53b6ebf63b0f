"""Pairwise interaction plots for the most important hyperparameters.

* categorical x categorical: heat map of the mean metric per cell, annotated with the number of
  trials (and how many are top) in the cell;
* categorical x numeric: partial dependence of a random-forest surrogate on the numeric parameter,
  one line per category, over the trials themselves;
* numeric x numeric: two-dimensional partial dependence as a heat map, trials overlaid.

Partial dependence is the surrogate's mean prediction over all trials with the two parameters
set to the plotted values, shown in the metric's own units.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from genarch.analysis.features import encode
from genarch.analysis.forest import fit_forest, partial_dependence
from genarch.analysis.plots import pyplot
from genarch.analysis.trials import TrialTable
from genarch.io import atomic_savefig


def _name(param: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", param).strip("_")


def _numeric_grid(table: TrialTable, param: str, size: int = 25) -> tuple[np.ndarray, bool]:
    x = table.frame[param].to_numpy(dtype=float)
    lo, hi = x.min(), x.max()
    log = lo > 0 and hi / lo >= 20
    grid = np.geomspace(lo, hi, size) if log else np.linspace(lo, hi, size)
    if len(np.unique(x)) <= size:
        grid = np.unique(x)
    return grid, log


def plot_interactions(table: TrialTable, params: Sequence[str], top: np.ndarray, out_dir: Path,
                      n_estimators: int = 100) -> list[Path]:
    plt = pyplot()
    params = [p for p in params if p in table.params]
    if len(params) < 2:
        return []
    enc = encode(table)
    sign = 1.0 if table.direction == "maximize" else -1.0
    model = fit_forest(enc.X, table.score, seed=0, n_estimators=n_estimators)

    def pd(settings: dict) -> float:  # back to the metric's units
        return sign * partial_dependence(model, enc, enc.X, settings)

    cmap = "viridis" if table.direction == "maximize" else "viridis_r"
    written = []
    for a, b in itertools.combinations(params, 2):
        kinds = (table.kinds[a], table.kinds[b])
        if kinds == ("numeric", "categorical"):
            a, b = b, a
            kinds = ("categorical", "numeric")
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
        if kinds == ("categorical", "categorical"):
            ca = [c for c in table.categories(a) if c in set(table.frame[a].astype(str))]
            cb = [c for c in table.categories(b) if c in set(table.frame[b].astype(str))]
            fa, fb = table.frame[a].astype(str).to_numpy(), table.frame[b].astype(str).to_numpy()
            means = np.full((len(ca), len(cb)), np.nan)
            for i, x in enumerate(ca):
                for j, y in enumerate(cb):
                    cell = (fa == x) & (fb == y)
                    if cell.any():
                        means[i, j] = table.values[cell].mean()
                        ax.text(j, i, f"{means[i, j]:.3g}\nn={cell.sum()}, top={int((cell & top).sum())}",
                                ha="center", va="center", fontsize=8, color="white")
            im = ax.imshow(means, cmap=cmap, aspect="auto")
            ax.set_xticks(range(len(cb)), cb)
            ax.set_yticks(range(len(ca)), ca)
            ax.set_xlabel(b)
            ax.set_ylabel(a)
            fig.colorbar(im, ax=ax, label=f"mean {table.metric}")
        elif kinds == ("categorical", "numeric"):
            grid, log = _numeric_grid(table, b)
            fa = table.frame[a].astype(str).to_numpy()
            for cat in [c for c in table.categories(a) if c in set(fa)]:
                line = [pd({a: cat, b: g}) for g in grid]
                (handle,) = ax.plot(grid, line, label=f"{a}={cat}")
                cell = fa == cat
                ax.scatter(table.frame[b][cell], table.values[cell], s=12, alpha=0.4, color=handle.get_color())
            if log:
                ax.set_xscale("log")
            ax.set_xlabel(b)
            ax.set_ylabel(f"{table.metric} (lines: partial dependence; dots: trials)")
            ax.legend(fontsize=8)
        else:
            ga, loga = _numeric_grid(table, a, 20)
            gb, logb = _numeric_grid(table, b, 20)
            surface = np.array([[pd({a: x, b: y}) for y in gb] for x in ga])
            mesh = ax.pcolormesh(gb, ga, surface, cmap=cmap, shading="auto")
            ax.scatter(table.frame[b], table.frame[a], c=np.where(top, "red", "white"), s=14, edgecolors="black",
                       lw=0.4)
            if loga:
                ax.set_yscale("log")
            if logb:
                ax.set_xscale("log")
            ax.set_xlabel(b)
            ax.set_ylabel(a)
            fig.colorbar(mesh, ax=ax, label=f"{table.metric} (partial dependence)")
        ax.set_title(f"{a} x {b}")
        fig.tight_layout()
        path = out_dir / f"interactions_{_name(a)}__{_name(b)}.png"
        atomic_savefig(fig, path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
