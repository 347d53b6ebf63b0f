"""genarch's task as the sweeper sees it (``hydra.sweeper.task_rules``): the model check before launch, the
direction of an ``auto`` objective, and result.json. The sweeper imports none of these packages itself."""

from pathlib import Path
from typing import Any, Mapping, Optional

from genarch.sweeper.task import TaskRules

# trainer keys that say how a run executes, not what it trains: torch threads change the order floats are summed
# in, not the model, data or recipe (a sweep resumed with threads=auto where it started with 1 is the same search,
# as one resumed on another machine is); experiments/grid.py adds the device and checkpoint keys to these
RUN_ONLY_KEYS = ("trainer.threads", "trainer.progress")


class GenarchTaskRules(TaskRules):
    def validates(self, config: Any) -> bool:
        return "model" in config

    def reject(self, cfg: Any) -> Optional[str]:
        from omegaconf import DictConfig, OmegaConf

        from genarch.model.validate import ConfigError, validate_model

        length = cfg.get("dataset", {}).get("length") if isinstance(cfg.get("dataset"), DictConfig) else None
        try:
            validate_model(OmegaConf.to_container(cfg.model, resolve=True),
                           seq_len=length if isinstance(length, int) else None)
        except ConfigError as exc:
            return f"ConfigError: {exc}"
        return None

    def auto_direction(self, objective_name: str) -> Optional[str]:
        from genarch.training.metrics import MINIMIZED  # the rule resolve_objective applies to an auto direction

        return "minimize" if objective_name.endswith(MINIMIZED) else "maximize"

    def run_only_keys(self) -> tuple[str, ...]:
        return RUN_ONLY_KEYS

    def absent_values(self) -> Mapping[str, Any]:
        from genarch.model.validate import STRANDS_DEFAULT

        return {"model.strands": STRANDS_DEFAULT}  # models trained before the option read the given strand only

    def read_result(self, out_dir: Path) -> Mapping[str, Any]:
        from genarch.result import read_result

        return read_result(out_dir)
