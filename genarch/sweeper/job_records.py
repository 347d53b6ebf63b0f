"""A launched job's outcome, and the ledger records the sweeper writes itself: the end of a job whose
task wrote none (a task other than genarch's, or a trial killed before its hook ran) and a rejection."""

import math
import os
from pathlib import Path
from typing import Any, Optional

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig

from genarch.ledger import EndRecord, StartRecord, Trial, n_train_of, write_record
from genarch.sweeper.run import Candidate, Outcome, SweepRun
from genarch.sweeper.task import TaskRules


def write_start(run: SweepRun, c: Candidate) -> None:
    write_record(run.sweep_dir, StartRecord(c.job, c.params, c.overrides, run.stage, c.extra.get("rung"),
                                            c.extra.get("fidelity")))


def returned(ret: JobReturn) -> tuple[str, Optional[float], Optional[str]]:
    """(status, value, error) of a job as the launcher returned it: ok needs a finite number."""
    if ret.status == JobStatus.COMPLETED:
        value, error = ret.return_value, None
        try:
            value = float(value)
            if not math.isfinite(value):
                error = f"FloatingPointError: the objective is {value}"
        except (TypeError, ValueError):
            error = f"TypeError: the task returned {type(value).__name__} {value!r}, not a number"
    else:
        exc = ret._return_value
        value, error = None, f"{type(exc).__name__}: {exc}"
    return ("ok" if error is None else "failed"), value, error


def outcome(run: SweepRun, rules: TaskRules, c: Candidate, ret: JobReturn, end: Optional[Trial]) -> Outcome:
    """The outcome of a launched job; its end record is written here when the task wrote none that matches
    (``end``: the job's end record after its latest start, if the trial wrote one for these overrides)."""
    status, value, error = returned(ret)
    direction, name = (end.direction, end.objective_name) if end is not None else (None, None)
    losses = run.losses
    if end is None or end.status != status:  # the task wrote no end record (not genarch.app.run)
        out = output_dir(ret)
        result = own_result(rules, out, status, value)  # the task's result file, where its hook could not write
        objective = result.get("objective") or {}
        direction, name = direction or objective.get("direction"), name or objective.get("name")
        write_record(run.sweep_dir, EndRecord(
            c.job, status, c.params, objective_name=name or losses.config_objective()[0],
            direction=direction or (losses.direction(None) if status == "ok" else losses.known_direction()),
            value=value if status == "ok" else None, metrics=result.get("metrics") or {},
            n_params=result.get("n_params"), epochs=result.get("epochs"), wall_time_s=result.get("wall_time_s"),
            error=error, dir=_relative(out, run.sweep_dir) if out else None, writer="sweeper",
            n_train=n_train_of(result)))
    return Outcome(status, value if status == "ok" else None, direction, name or losses.config_objective()[0],
                   error, c.job)


def write_rejected(run: SweepRun, c: Candidate) -> None:
    if c.job in run.finished:
        return
    losses = run.losses
    write_record(run.sweep_dir, EndRecord(
        c.job, "failed", c.params, objective_name=losses.config_objective()[0], direction=losses.known_direction(),
        epochs=0, wall_time_s=0.0, error=c.outcome.error, writer="sweeper", overrides=c.overrides, stage=run.stage,
        rejected=True))


def own_result(rules: TaskRules, out: Optional[Path], status: str, value: Any) -> dict[str, Any]:
    """The job's result file in its output dir when it is this run's (same status, same objective value);
    else an empty dict (a task with no result file, or a stale one)."""
    if out is None:
        return {}
    try:
        result = rules.read_result(out)
    except (OSError, ValueError):
        return {}
    if not isinstance(result, dict) or result.get("status") != status:
        return {}
    if status == "ok" and (result.get("objective") or {}).get("value") != value:
        return {}
    return result


def output_dir(ret: JobReturn) -> Optional[Path]:
    hc = getattr(ret, "hydra_cfg", None)
    if hc is None:
        return None
    node = hc.get("hydra", hc) if isinstance(hc, DictConfig) else hc
    try:
        return Path(str(node.runtime.output_dir))
    except Exception:  # noqa: BLE001
        return None


def _relative(path: Path, base: Path) -> str:
    return os.path.relpath(Path(path).resolve(), Path(base).resolve())
