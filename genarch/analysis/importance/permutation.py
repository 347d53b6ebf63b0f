"""Permutation importance of a random-forest surrogate, cross-fitted.

The trials are split in two halves (a fresh split per seed); a forest fitted on one half predicts
the other, and a parameter's importance is how much the held-out R² drops when that parameter's
column(s) are shuffled (all one-hot columns of a categorical together). Both directions are
averaged. Held-out scoring keeps an over-fitted forest from crediting noise.
"""

from __future__ import annotations

import numpy as np

from genarch.analysis.features import Encoded
from genarch.analysis.forest import fit_forest
from genarch.analysis.importance.base import ImportanceEvaluator
from genarch.analysis.trials import TrialTable


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    var = float(np.var(y))
    if var == 0:
        return 0.0
    return 1.0 - float(np.mean((y - pred) ** 2)) / var


class PermutationImportance(ImportanceEvaluator):
    name = "permutation"
    title = "Random-forest permutation importance (held-out R² drop)"

    def __init__(self, n_estimators: int = 100, n_repeats: int = 3) -> None:
        super().__init__(n_estimators)
        self.n_repeats = n_repeats

    def raw_importances(self, table: TrialTable, enc: Encoded, seed: int) -> dict[str, float]:
        return self.raw_with_skill(table, enc, seed)[0]

    def raw_with_skill(self, table: TrialTable, enc: Encoded, seed: int) -> "tuple[dict[str, float], float]":
        rng = np.random.default_rng(seed)
        y = table.score
        order = rng.permutation(len(y))
        halves = [order[: len(y) // 2], order[len(y) // 2 :]]
        drops = {p: [] for p in enc.groups}
        bases = []
        for fit_idx, test_idx in (halves, halves[::-1]):
            model = fit_forest(enc.X[fit_idx], y[fit_idx], seed=seed, n_estimators=self.n_estimators)
            X_test, y_test = enc.X[test_idx], y[test_idx]
            base = _r2(y_test, model.predict(X_test))
            bases.append(base)
            for param in enc.groups:
                for _ in range(self.n_repeats):
                    rows = enc.active[param][test_idx] if param in enc.active else None
                    shuffled = enc.permute_param(X_test, param, rng, rows)
                    drops[param].append(base - _r2(y_test, model.predict(shuffled)))
        return {p: float(np.mean(v)) for p, v in drops.items()}, float(np.mean(bases))
