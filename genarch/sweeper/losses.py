"""What the optimizer is told: the objective's direction, a success's loss, a failure's penalty.

nevergrad minimises: a maximised objective is told as ``-value``. A failed (or rejected) trial is told
``hydra.sweeper.failure_penalty``, else the worst loss told so far + max(1, |worst|): worse than every
success. Before any success that scale is unknown: a failure waits (:meth:`Losses.hold_back`) unless the
penalty is fixed or the objective is maximised (loss 1.0, worse than every value >= -1)."""

from typing import Any, Optional

from genarch.sweeper.task import TaskRules

DIRECTIONS = ("maximize", "minimize")


class Losses:
    def __init__(self, settings: Any, objective: Any, rules: TaskRules) -> None:
        """``objective``: the task config's ``objective`` node (name, direction) or None."""
        self.settings = settings
        self.objective = objective if hasattr(objective, "get") else None
        self.rules = rules
        self.worst_loss: Optional[float] = None

    def config_objective(self) -> tuple[str, Optional[str]]:
        """The objective's name and direction as the task config states them (direction None: auto/unknown)."""
        if self.objective is None:
            return "objective", None
        direction = self.objective.get("direction")
        return str(self.objective.get("name", "objective")), direction if direction in DIRECTIONS else None

    def known_direction(self) -> Optional[str]:
        """The direction as the settings or the config state it; None where only a trial can tell
        (``objective.direction: auto``), so that a record without a result does not guess one."""
        if self.settings.direction != "auto":
            return self.settings.direction
        return self.config_objective()[1]

    def prospective_direction(self) -> Optional[str]:
        """The direction before any trial reported one: the settings, the config's objective, or what the
        task's rules give an ``auto`` objective (genarch: a ``*loss``/``*mse`` metric is minimised, AUROC /
        Pearson r maximised); None for a task that says nothing."""
        known = self.known_direction()
        if known is not None:
            return known
        if self.objective is None or self.objective.get("direction") not in (None, "auto"):
            return None
        return self.rules.auto_direction(str(self.objective.get("name") or "auto"))

    def direction(self, reported: Optional[str]) -> str:
        """The direction of a success: the settings', else the trial's own, else the prospective one, else minimise."""
        if self.settings.direction != "auto":
            return self.settings.direction
        return reported or self.prospective_direction() or "minimize"

    def hold_back(self, outcome: Any) -> bool:
        """Whether a failure is told only once a success has set the scale of the losses."""
        if outcome.status == "ok" or self.settings.failure_penalty is not None or self.worst_loss is not None:
            return False
        return self.prospective_direction() != "maximize"

    def loss(self, outcome: Any) -> float:
        """The loss told for an outcome (set once on it; a success's direction is settled here)."""
        if outcome.loss is not None:
            return outcome.loss
        if outcome.status == "ok":
            outcome.direction = self.direction(outcome.direction)
            outcome.loss = -outcome.value if outcome.direction == "maximize" else outcome.value
            self.worst_loss = outcome.loss if self.worst_loss is None else max(self.worst_loss, outcome.loss)
        elif self.settings.failure_penalty is not None:
            outcome.loss = float(self.settings.failure_penalty)
        else:
            worst = 0.0 if self.worst_loss is None else self.worst_loss
            outcome.loss = worst + max(1.0, abs(worst))
        return outcome.loss
