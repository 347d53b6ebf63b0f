"""Main-effect (partial-dependence) share of variance over a random-forest surrogate.

This is *not* Hutter et al.'s fANOVA (2014), which integrates each tree's partition over the whole
configuration space (uniformly) and also measures interaction terms; Optuna implements that one
(``optuna.importance.FanovaImportanceEvaluator``: run it on a sweep exported with
``python -m genarch.analyze <sweep> --export-optuna ...``). It was called ``fanova`` in genarch
until issue 34; ``FanovaImportance`` is kept as a deprecated alias of :class:`MainEffectImportance`.

The main effect of parameter ``j`` is its marginal ``f_j(v) = E[f(x) | x_j = v] - E[f]`` (the
partial dependence of Friedman 2001), estimated as the forest's mean prediction over all trials
with ``x_j`` set to ``v`` (the trials, not a uniform grid, stand in for the distribution of the
other parameters). The importance of ``j`` is the share of the surrogate's variance that its main
effect explains, ``Var_v f_j(v) / Var f``, with ``v`` over every category (weighted by frequency)
or over quantiles of a numeric parameter. Unlike permutation importance this looks only at how
the *average* score moves with one parameter, so the two methods cross-check each other.
"""

from __future__ import annotations

import numpy as np

from genarch.analysis.features import Encoded, grid
from genarch.analysis.forest import fit_forest
from genarch.analysis.importance.base import ImportanceEvaluator
from genarch.analysis.trials import TrialTable


def main_effect(model, enc: Encoded, table: TrialTable, param: str,
                size: int = 20) -> tuple[list, np.ndarray, np.ndarray]:
    """Grid, weights and marginal mean prediction of ``param``, over the trials where it acted."""
    values, weights = grid(table, param, size)
    X = enc.X[enc.active[param]] if param in enc.active else enc.X
    if len(X) == 0:  # it never acted: no effect to measure
        return values, weights, np.zeros(len(values))
    marginal = np.array([float(np.mean(model.predict(enc.set_param(X, param, v)))) for v in values])
    return values, weights, marginal


class MainEffectImportance(ImportanceEvaluator):
    name = "main_effect"
    title = "Main-effect (partial-dependence) share of variance (random-forest surrogate)"

    def __init__(self, n_estimators: int = 100, grid_size: int = 20) -> None:
        super().__init__(n_estimators)
        self.grid_size = grid_size

    def raw_importances(self, table: TrialTable, enc: Encoded, seed: int) -> dict[str, float]:
        y = table.score
        model = fit_forest(enc.X, y, seed=seed, n_estimators=self.n_estimators)
        total = float(np.var(model.predict(enc.X)))
        out = {}
        for param in enc.groups:
            _, weights, marginal = main_effect(model, enc, table, param, self.grid_size)
            mean = float(np.sum(weights * marginal))
            variance = float(np.sum(weights * (marginal - mean) ** 2))
            out[param] = variance / total if total > 0 else 0.0
        return out
