"""Hyperparameter importance: one evaluator per module behind :class:`ImportanceEvaluator`."""

from genarch.analysis.importance.base import Importance, ImportanceEvaluator, combined
from genarch.analysis.importance.fanova import FanovaImportance
from genarch.analysis.importance.permutation import PermutationImportance

EVALUATORS = {cls.name: cls for cls in (PermutationImportance, FanovaImportance)}


def default_evaluators(n_estimators: int = 100) -> list[ImportanceEvaluator]:
    return [cls(n_estimators=n_estimators) for cls in EVALUATORS.values()]


__all__ = ["EVALUATORS", "FanovaImportance", "Importance", "ImportanceEvaluator", "PermutationImportance",
           "combined", "default_evaluators"]
