"""The genarch sweeper's settings (``hydra.sweeper.*``): one dataclass, the only place their defaults live.

It is registered once in Hydra's ConfigStore as ``hydra/sweeper=genarch`` (:func:`register`, called when
Hydra scans the plugin module), so a stage's ``override /hydra/sweeper: genarch`` composes it and Hydra
hands its fields to the plugin. docs/stages.md describes the settings; tests/test_sweeper_config.py holds
its table to these defaults."""

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

DIRECTIONS = ("auto", "maximize", "minimize")
TARGET = "hydra_plugins.genarch_sweeper.genarch_sweeper.NevergradSweeper"


@dataclass
class SweeperSettings:
    _target_: str = TARGET
    # any name of nevergrad's registry: NGOpt, OnePlusOne, CMA, TwoPointsDE, RandomSearch, ...
    optimizer: str = "NGOpt"
    # trials to train in the sweep (candidates already trained or rejected as illegal do not count)
    budget: int = 24
    # candidates asked per batch = trials handed to the launcher at once
    num_workers: int = 2
    # seed of the parametrization: same seed + same space -> same candidate sequence; null = drawn once
    # and stored in the sweep dir, so a resumed sweep still replays it
    seed: Optional[int] = 0
    # auto: the objective's direction as each trial reports it (result.json), else objective.direction
    direction: str = "auto"
    # stop (keeping everything finished) once failed / trained trials exceeds this after a batch
    max_failure_rate: float = 0.25
    # loss told for a failed trial; null: worst loss told so far + max(1, |worst|)
    failure_penalty: Optional[float] = None
    # compose each candidate and reject an illegal model (the task rules' check) without launching it
    validate: bool = True
    # stop when this many candidates in a row were all evaluated before (space exhausted or converged)
    max_repeated_asks: int = 100
    # earlier sweep directories (earlier stages of the same task): their finished trials that lie inside
    # this sweep's space are told to the optimizer before its first ask and are not trained again
    # (a list; one string is taken as a list of one)
    warm_start: Any = field(default_factory=list)
    # candidates to train first, in order (Optuna's enqueue_trial): each a mapping {swept key: value} naming every
    # swept key, e.g. a published architecture (genarch.sweeper.points)
    points: Any = field(default_factory=list)
    # multi-fidelity: {key: trainer.max_epochs, min: 2, max: 18, eta: 3, brackets: 1} runs successive-halving
    # rungs (brackets > 1: Hyperband); null: every trial at the task's own fidelity (genarch.sweeper.fidelity)
    fidelity: Any = None
    # the task's rules (model validation, the direction of an ``auto`` objective, result reading): a class
    # deriving genarch.sweeper.task.TaskRules, by import path; null: none (a task that is not genarch's)
    task_rules: Optional[str] = "genarch.task_rules.GenarchTaskRules"
    # the search space: {override key: Hydra sweep or value} (a stage file's body; null: none)
    params: Optional[Dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.params = dict(self.params or {})
        self.check()

    @classmethod
    def from_hydra(cls, values: Any) -> "SweeperSettings":
        """The settings from the fields Hydra hands the plugin (OmegaConf containers -> plain values), checked."""
        from omegaconf import DictConfig, ListConfig, OmegaConf

        plain = {k: OmegaConf.to_container(v, resolve=True) if isinstance(v, (DictConfig, ListConfig)) else v
                 for k, v in dict(values).items()}
        warm = plain.get("warm_start")
        plain["warm_start"] = [] if warm is None else [warm] if isinstance(warm, str) else warm
        plain["params"] = dict(plain.get("params") or {})
        points = plain.get("points") or []
        plain["points"] = [points] if isinstance(points, dict) else list(points)  # one point written as a mapping
        return cls(**plain)

    def check(self) -> None:
        """Refuse a setting the sweep cannot run with, naming the key."""
        if self.direction not in DIRECTIONS:
            raise ValueError(f"hydra.sweeper.direction={self.direction!r} must be one of {DIRECTIONS}")
        if int(self.budget) < 1 or int(self.num_workers) < 1:
            raise ValueError("hydra.sweeper.budget and hydra.sweeper.num_workers must be >= 1")
        if not 0.0 <= float(self.max_failure_rate) <= 1.0:
            raise ValueError(f"hydra.sweeper.max_failure_rate={self.max_failure_rate} must be in [0, 1]")
        if isinstance(self.warm_start, str) or not isinstance(self.warm_start, (list, tuple)) \
                or not all(isinstance(p, str) and p for p in self.warm_start):
            raise ValueError(f"hydra.sweeper.warm_start={self.warm_start!r} must be a list of sweep directories, "
                             "e.g. hydra.sweeper.warm_start=[multirun/stage1,multirun/stage2]")
        self.warm_start = list(self.warm_start)
        if not isinstance(self.points, (list, tuple)):
            raise ValueError(f"hydra.sweeper.points={self.points!r} must be a list of mappings {{swept key: value}}")
        self.points = list(self.points)
        from genarch.sweeper.fidelity import parse

        parse(self.fidelity)  # refused here, naming the key
        import nevergrad as ng

        if self.optimizer not in ng.optimizers.registry:
            close = [n for n in sorted(ng.optimizers.registry) if n.lower().startswith(self.optimizer[:3].lower())]
            raise ValueError(f"hydra.sweeper.optimizer={self.optimizer!r} is not in nevergrad's registry"
                             + (f"; similar: {close[:12]}" if close else ""))
        from nevergrad.optimization.optimizerlib import SamplingSearch

        if isinstance(ng.optimizers.registry[self.optimizer], SamplingSearch):
            raise ValueError(f"hydra.sweeper.optimizer={self.optimizer!r} draws a fixed quasi-random sequence sized to "
                             "its budget and fails when asked once more, which this sweeper does for a repeated or "
                             "illegal candidate and when a sweep is extended; use RandomSearch (even sampling) or "
                             "NGOpt")


def register() -> None:
    """Store the settings as ``hydra/sweeper=genarch`` in Hydra's ConfigStore (once per process)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(group="hydra/sweeper", name="genarch", node=SweeperSettings, provider="genarch")
