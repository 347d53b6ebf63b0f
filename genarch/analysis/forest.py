"""The surrogate both importance evaluators and the interaction plots share: a random forest
regressing the score on the encoded hyperparameters, and partial dependence on it."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from genarch.analysis.features import Encoded


def fit_forest(X: np.ndarray, y: np.ndarray, *, seed: int, n_estimators: int = 100) -> RandomForestRegressor:
    model = RandomForestRegressor(
        n_estimators=n_estimators,
        min_samples_leaf=2 if len(X) >= 20 else 1,
        max_features=1.0,
        random_state=seed,
        n_jobs=1,
    )
    model.fit(X, y)
    return model


def partial_dependence(model: Any, enc: Encoded, X: np.ndarray, settings: Mapping[str, Any]) -> float:
    """Mean prediction over the trials with the given parameters set to the given values."""
    Xs = X
    for param, value in settings.items():
        Xs = enc.set_param(Xs, param, value)
    return float(np.mean(model.predict(Xs)))
