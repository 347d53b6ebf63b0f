"""The task's side of a sweep, passed in rather than imported: the sweeper knows no model, metric or result file.

``hydra.sweeper.task_rules`` names a :class:`TaskRules` subclass by import path (genarch's own task:
``genarch.task_rules.GenarchTaskRules``); null, or a task that names none, gets these defaults: no model
check before launch, no direction guessed for an ``auto`` objective, no result file read."""

from pathlib import Path
from typing import Any, Mapping, Optional


class TaskRules:
    def validates(self, config: Any) -> bool:
        """Whether candidates of this task config are checked before launch (:meth:`reject`)."""
        return False

    def reject(self, cfg: Any) -> Optional[str]:
        """Why a candidate's composed config is an illegal model (``"ConfigError: ..."``), or None if it is legal."""
        return None

    def auto_direction(self, objective_name: str) -> Optional[str]:
        """The direction the task gives an objective whose config says ``direction: auto`` (None: unknown)."""
        return None

    def run_only_keys(self) -> tuple[str, ...]:
        """Task config keys that say how a trial runs, not what it computes (threads, a progress bar): a resumed
        sweep or a warm start may differ in them from the sweep it reads."""
        return ()

    def absent_values(self) -> Mapping[str, Any]:
        """Task config keys a config may lack, each with the value its absence means (an option added after
        earlier sweeps ran): a warm start counts an earlier trial whose config lacks the key as having it."""
        return {}

    def read_result(self, out_dir: Path) -> Mapping[str, Any]:
        """A finished job's result file (status, objective, metrics...); OSError/ValueError if there is none."""
        raise OSError(f"{out_dir}: this task writes no result file the sweeper reads")


def load_task_rules(path: Optional[str]) -> TaskRules:
    """The rules named by ``hydra.sweeper.task_rules`` (an import path), or the defaults for None."""
    if not path:
        return TaskRules()
    from hydra.utils import get_class

    try:
        cls = get_class(path)
    except Exception as exc:  # noqa: BLE001 - Hydra's message names the path; say which setting gave it
        raise ValueError(f"hydra.sweeper.task_rules={path}: cannot import it ({exc})") from None
    if not (isinstance(cls, type) and issubclass(cls, TaskRules)):
        raise ValueError(f"hydra.sweeper.task_rules={path}: not a subclass of genarch.sweeper.task.TaskRules")
    return cls()
