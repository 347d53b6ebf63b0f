"""The genarch sweeper as a Hydra plugin: nevergrad ask/tell over stage files (see genarch.sweeper).

Hydra scans this module at start-up, so it imports nothing heavy; the work is in genarch.sweeper._impl."""

from typing import Any, List, Optional

from hydra.errors import CompactHydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class NevergradSweeper(Sweeper):
    def __init__(self, optimizer: str = "NGOpt", budget: int = 24, num_workers: int = 2, seed: Optional[int] = 0,
                 direction: str = "auto", max_failure_rate: float = 0.25, failure_penalty: Optional[float] = None,
                 validate: bool = True, max_repeated_asks: int = 100, warm_start: Optional[Any] = None,
                 params: Optional[Any] = None) -> None:
        from genarch.sweeper._impl import NevergradSweeperImpl
        from genarch.sweeper.config import SweeperSettings

        settings = SweeperSettings(optimizer=optimizer, budget=int(budget), num_workers=int(num_workers), seed=seed,
                                   direction=direction, max_failure_rate=float(max_failure_rate),
                                   failure_penalty=failure_penalty, validate=bool(validate),
                                   max_repeated_asks=int(max_repeated_asks),
                                   warm_start=_paths(warm_start), params=dict(params or {}))
        self.sweeper = NevergradSweeperImpl(settings)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        try:
            return self.sweeper.sweep(arguments)
        except (ValueError, RuntimeError) as exc:
            if self.sweeper.launched:  # a trial was launched: not an input error, keep the traceback
                raise
            stage = self.sweeper.stage_file()
            raise SweepInputError(f"genarch sweeper{f' (stage file {stage})' if stage else ''}: {exc}") from exc


class SweepInputError(ValueError, CompactHydraException):
    """A stage file or sweep override that cannot be swept, refused before any trial ran (a bad range,
    a resume of another search). Hydra prints a compact exception as its message alone, without a
    traceback (HYDRA_FULL_ERROR=1 shows it)."""


def _paths(value: Any) -> Any:
    """``warm_start`` as Hydra hands it over (a ListConfig, a list, null or one string) -> a plain list;
    anything else is passed on for SweeperSettings to refuse with its message."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        return value
