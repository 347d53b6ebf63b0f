"""One interface for hyperparameter-importance evaluators (in the style of ``optuna.importance``).

An evaluator maps (trials, seed) to a non-negative raw importance per hyperparameter.
:func:`evaluate` runs it over several seeds, normalises each seed's importances to sum to 1 and
reports mean ± sd per hyperparameter, so two evaluators can be compared on one scale and the
spread over seeds shows how much of a ranking is luck. A seed in which no parameter has a positive
raw importance (no evidence) counts as all zeros, not as equal shares. An evaluator that fits a model
may also report its skill (``held_out_r2``: how well it predicts trials it was not fit on), because
normalised shares alone look the same whether the model explains much or nothing.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from genarch.analysis.features import Encoded, encode
from genarch.analysis.trials import TrialTable


class ImportanceEvaluator(abc.ABC):
    """Subclasses set ``name``/``title`` and implement :meth:`raw_importances`."""

    name: str = ""
    title: str = ""

    def __init__(self, n_estimators: int = 100) -> None:
        self.n_estimators = n_estimators

    @abc.abstractmethod
    def raw_importances(self, table: TrialTable, enc: Encoded, seed: int) -> dict[str, float]:
        """Importance of every parameter of ``enc`` (>= 0; any scale) for one seed."""

    def raw_with_skill(self, table: TrialTable, enc: Encoded, seed: int) -> "tuple[dict[str, float], float | None]":
        """Raw importances and the held-out R² of the model behind them (None: not measured)."""
        return self.raw_importances(table, enc, seed), None

    def evaluate(self, table: TrialTable, seeds: Sequence[int] = (0, 1, 2, 3, 4)) -> "Importance":
        seeds = [int(s) for s in seeds]
        if not seeds:
            raise ValueError(f"{self.name} importance needs at least one seed (--seeds >= 1)")
        enc = encode(table)
        per_seed, skills = [], []
        for seed in seeds:
            raw, skill = self.raw_with_skill(table, enc, seed)
            if skill is not None:
                skills.append(float(skill))
            per_seed.append(_normalise({p: max(0.0, float(raw.get(p, 0.0))) for p in table.params}))
        matrix = np.array([[row[p] for p in table.params] for row in per_seed])
        mean = matrix.mean(axis=0)
        sd = matrix.std(axis=0, ddof=1) if len(seeds) > 1 else np.zeros(len(table.params))
        return Importance(
            method=self.name, title=self.title, params=list(table.params),
            mean=dict(zip(table.params, mean.tolist())), sd=dict(zip(table.params, sd.tolist())),
            seeds=seeds, per_seed=[dict(r) for r in per_seed],
            held_out_r2=float(np.mean(skills)) if skills else None,
        )


@dataclass
class Importance:
    method: str
    title: str
    params: list[str]
    mean: dict[str, float]
    sd: dict[str, float]
    seeds: list[int] = field(default_factory=list)
    per_seed: list[dict[str, float]] = field(default_factory=list)
    held_out_r2: "float | None" = None  # mean over seeds; None where the evaluator does not measure it

    def ranking(self) -> list[str]:
        return sorted(self.params, key=lambda p: -self.mean[p])

    def to_dict(self) -> dict:
        return {"method": self.method, "title": self.title, "seeds": self.seeds, "held_out_r2": self.held_out_r2,
                "importance": {p: {"mean": self.mean[p], "sd": self.sd[p]} for p in self.ranking()}}


def _normalise(raw: dict[str, float]) -> dict[str, float]:
    total = sum(raw.values())
    if total <= 0:  # no parameter has any evidence in this seed: nothing to share out
        return {p: 0.0 for p in raw}
    return {p: v / total for p, v in raw.items()}


def combined(importances: Sequence[Importance]) -> dict[str, float]:
    """Average of the normalised means over methods (the ranking the rest of the analysis uses)."""
    params = importances[0].params
    return {p: float(np.mean([imp.mean[p] for imp in importances])) for p in params}
