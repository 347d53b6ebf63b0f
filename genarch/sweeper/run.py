"""The state of one sweep: candidates, their outcomes, the cache of evaluated points, the run's settings."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from genarch.ledger import Trial
from genarch.sweeper.losses import Losses
from genarch.sweeper.params import ParamSpec


@dataclass
class Outcome:
    status: str                    # ok | failed | rejected
    value: Optional[float] = None  # the objective (ok only)
    direction: Optional[str] = None
    name: Optional[str] = None
    error: Optional[str] = None
    job: Optional[int] = None
    loss: Optional[float] = None   # what the optimizer was told (set at tell time)

    @classmethod
    def of_trial(cls, trial: Trial, job: Optional[int]) -> "Outcome":
        """A finished trial of the ledger (a replayed job, or one of a warm-start sweep) as an outcome."""
        return cls("ok" if trial.ok else "failed", trial.value if trial.ok else None, trial.direction,
                   trial.objective_name, trial.error, job)


@dataclass
class Candidate:
    cand: Any
    params: dict[str, Any]
    overrides: list[str]
    key: tuple[str, ...]
    outcome: Optional[Outcome] = None
    job: Optional[int] = None
    source: str = "new"            # new | cached | batch-duplicate | warm-start
    extra: dict[str, Any] = field(default_factory=dict)


class SweepRun:
    """One sweep's state, all of it set here: the space, what the ledger already holds, what was evaluated."""

    def __init__(self, sweep_dir: Path, specs: dict[str, ParamSpec], fixed: list[str], stage: Optional[str],
                 seed: int, finished: dict[int, Trial], losses: Losses, validate: bool,
                 progress: Optional[Any] = None) -> None:
        self.sweep_dir = sweep_dir
        self.specs = specs
        self.fixed = fixed
        self.stage = stage
        self.seed = seed
        self.finished = finished              # jobs with an end record (replayed on resume, not re-run)
        self.losses = losses
        self.validate = validate
        self.progress = progress              # the console's per-trial lines and bar (genarch.sweeper.progress)
        self.cache: dict[tuple[str, ...], Outcome] = {}  # every evaluated point, by its overrides
        self.history: list[Candidate] = []
        self.warm_notes: dict[str, dict[str, int]] = {}

    def candidate(self, cand: Any, source: str = "new", params: Optional[dict[str, Any]] = None) -> Candidate:
        from genarch.space import plain

        params = params if params is not None else {name: plain(cand.value[name]) for name in self.specs}
        swept = [self.specs[name].override(value) for name, value in params.items()]
        return Candidate(cand, params, self.fixed + swept, tuple(sorted(swept)), source=source)

    def best(self) -> Optional[Candidate]:
        evaluated = [c for c in self.history if c.source == "new" and c.outcome.status == "ok"]
        # a multi-fidelity sweep's best is that of its highest rung (lower rungs trained less)
        return min(evaluated, key=lambda c: (-c.extra.get("top_rung", 0), c.outcome.loss)) if evaluated else None
