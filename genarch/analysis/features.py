"""Trials table -> feature matrix for scikit-learn: numeric parameters as numbers, categorical ones
as one-hot indicator columns (``model/rnn=lstm``), with the column group of every parameter kept
so that importance and partial dependence can act on a whole parameter at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from genarch.analysis.trials import TrialTable


@dataclass
class Encoded:
    X: np.ndarray
    names: list[str]  # column names: "optimizer.lr_scale", "model/rnn=lstm"
    param_of: list[str]  # column -> parameter
    category_of: list[Optional[str]]  # column -> category label (None for numeric columns)
    groups: dict[str, list[int]]  # parameter -> its columns
    kinds: dict[str, str]
    active: dict[str, np.ndarray] = field(default_factory=dict)  # parameter -> rows where it acted (if not all)

    def set_param(self, X: np.ndarray, param: str, value: Any) -> np.ndarray:
        """A copy of ``X`` with ``param`` set to ``value`` in every row."""
        X = X.copy()
        cols = self.groups[param]
        if self.kinds[param] == "numeric":
            X[:, cols[0]] = float(value)
        else:
            for c in cols:
                X[:, c] = 1.0 if self.category_of[c] == value else 0.0
        return X

    def permute_param(self, X: np.ndarray, param: str, rng: np.random.Generator,
                      rows: Optional[np.ndarray] = None) -> np.ndarray:
        """A copy of ``X`` with ``param``'s column(s) shuffled among ``rows`` (a boolean mask: the
        trials where it acted), or among all rows."""
        X = X.copy()
        cols = self.groups[param]
        index = np.arange(len(X)) if rows is None else np.flatnonzero(rows)
        X[np.ix_(index, cols)] = X[np.ix_(rng.permutation(index), cols)]
        return X


def encode(table: TrialTable, params: Optional[list[str]] = None) -> Encoded:
    params = list(params or table.params)
    frame = table.frame
    blocks, names, param_of, category_of = [], [], [], []
    groups: dict[str, list[int]] = {}
    active = {}
    for param in params:
        start = len(names)
        acted = table.is_active(param)
        if not acted.all():
            active[param] = acted
        if table.kinds[param] == "numeric":
            column = frame[param].to_numpy(dtype=float).copy()
            if not acted.all():  # a value that had no effect says nothing: the median of those that had one
                column[~acted] = float(np.median(column[acted] if acted.any() else column))
            blocks.append(column[:, None])
            names.append(param)
            param_of.append(param)
            category_of.append(None)
        else:
            column = frame[param].astype(str).to_numpy()
            cats = [c for c in table.categories(param) if (column == c).any()] or sorted(set(column))
            for cat in cats:
                blocks.append(((column == cat) & acted).astype(float)[:, None])  # no category where it did not act
                names.append(f"{param}={cat}")
                param_of.append(param)
                category_of.append(cat)
        groups[param] = list(range(start, len(names)))
    X = np.hstack(blocks) if blocks else np.zeros((len(frame), 0))
    return Encoded(X=X, names=names, param_of=param_of, category_of=category_of, groups=groups,
                   kinds={p: table.kinds[p] for p in params}, active=active)


def grid(table: TrialTable, param: str, size: int = 20) -> tuple[list[Any], np.ndarray]:
    """Values of ``param`` to evaluate a marginal at, and the weight (probability mass) of each.

    Categorical: every category, weighted by its frequency in the trials. Numeric: the distinct
    values if there are few (weighted by frequency), else ``size`` quantiles (equal weights). Only the
    trials where ``param`` acted count."""
    column = table.frame[param]
    acted = table.is_active(param)
    if acted.any() and not acted.all():
        column = column[acted]
    if table.kinds[param] == "categorical":
        counts = column.astype(str).value_counts()
        cats = [c for c in table.categories(param) if c in counts.index]
        weights = np.array([counts[c] for c in cats], dtype=float)
        return cats, weights / weights.sum()
    values = column.to_numpy(dtype=float)
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) <= size:
        return list(distinct), counts / counts.sum()
    qs = np.quantile(values, (np.arange(size) + 0.5) / size)
    return list(qs), np.full(size, 1.0 / size)
