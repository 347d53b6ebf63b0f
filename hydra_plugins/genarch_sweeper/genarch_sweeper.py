"""The genarch sweeper as a Hydra plugin: nevergrad ask/tell over stage files (see genarch.sweeper).

Hydra scans this module at start-up, so it imports nothing heavy; the work is in genarch.sweeper._impl.
The settings' defaults live in one dataclass, genarch.sweeper.config.SweeperSettings, stored here in
Hydra's ConfigStore as ``hydra/sweeper=genarch``."""

from typing import Any, List

from hydra.errors import CompactHydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from genarch.sweeper.config import register

register()


class NevergradSweeper(Sweeper):
    def __init__(self, **settings: Any) -> None:
        from genarch.sweeper._impl import NevergradSweeperImpl
        from genarch.sweeper.config import SweeperSettings

        self.sweeper = NevergradSweeperImpl(SweeperSettings.from_hydra(settings))

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
