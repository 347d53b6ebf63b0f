"""Hyperparameter importance: one evaluator per module behind :class:`ImportanceEvaluator`."""

import warnings

from genarch.analysis.importance.base import Importance, ImportanceEvaluator, combined
from genarch.analysis.importance.main_effect import MainEffectImportance
from genarch.analysis.importance.permutation import PermutationImportance

EVALUATORS = {cls.name: cls for cls in (PermutationImportance, MainEffectImportance)}


def default_evaluators(n_estimators: int = 100) -> list[ImportanceEvaluator]:
    return [cls(n_estimators=n_estimators) for cls in EVALUATORS.values()]


def __getattr__(name: str):
    """``FanovaImportance``: the deprecated name of :class:`MainEffectImportance` (it never was
    Hutter et al.'s fANOVA; see :mod:`genarch.analysis.importance.main_effect`)."""
    if name == "FanovaImportance":
        warnings.warn("genarch.analysis.importance.FanovaImportance is MainEffectImportance (a main-effect share, "
                      "not fANOVA); the old name will be removed", DeprecationWarning, stacklevel=2)
        return MainEffectImportance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EVALUATORS", "Importance", "ImportanceEvaluator", "MainEffectImportance", "PermutationImportance",
           "combined", "default_evaluators"]
