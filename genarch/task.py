"""The task protocol every genarch task function follows (after lightning-hydra-template's ``task_wrapper``).

A task decorated with :func:`task_wrapper` is called as ``task(cfg, run)`` and returns a
:class:`~genarch.result.RunResult` (or a bare number, the objective). The wrapper does the rest, the same
way for every task (``genarch.app.run``, ``experiments/tfbs/multi.py``):

* finds the run's output directory and overrides in Hydra's job config (or takes ``out_dir=``);
* on success writes ``result.json``, appends the trial's ``end`` record to the sweep ledger (inside a genarch
  sweep; see :mod:`genarch.sweeper.ledger_hook`) and returns the objective as a float;
* on any failure writes a failed result with what the task had measured so far (``run.facts``), the error and
  the traceback, records the end in the ledger (``interrupted`` where SIGTERM or Ctrl-C cut it off), writes
  the traceback to the run's log file, and re-raises, so Hydra marks the job failed and the sweeper tells the
  optimizer. A failure never replaces a successful ``result.json`` in the same directory: it is written
  beside it as ``result.failed.json`` (see :meth:`genarch.result.RunResult.write`).

``run.facts`` keys a task may fill before it can fail: ``objective`` ((name, direction)), ``hparams``,
``metrics``, ``n_params``, ``epochs``, ``task``, ``extra``."""

import functools
import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from genarch.ledger import INTERRUPTIONS
from genarch.result import FAILED_BESIDE_FILE, Objective, RunResult

log = logging.getLogger("genarch")


@dataclass
class TaskRun:
    """What a task function gets besides its config: where it writes, how it was composed, what it measured."""

    out_dir: Path
    hydra_cfg: Any = None
    overrides: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    after_success: list[Callable[[RunResult], None]] = field(default_factory=list)
    # facts about a failure for its result's ``extra`` (genarch.app adds ``failure_reason: out_of_memory``)
    failure_facts: list[Callable[[BaseException], dict[str, Any]]] = field(default_factory=list)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def hydra_context() -> tuple[Optional[Any], Path, list[str]]:
    """(Hydra's job config or None, the run's output dir, the task overrides) of this process's run."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None, Path.cwd(), []
    hydra_cfg = HydraConfig.get()
    return hydra_cfg, Path(hydra_cfg.runtime.output_dir), list(hydra_cfg.overrides.task)


def task_wrapper(task: Callable[[Any, TaskRun], "RunResult | float"]) -> Callable[..., float]:
    """Decorate ``task(cfg, run)``; the decorated function is ``fn(cfg, out_dir=None) -> float``."""

    @functools.wraps(task)
    def wrapped(cfg: Any, out_dir: "str | Path | None" = None) -> float:
        from genarch.sweeper.ledger_hook import record_trial_end

        hydra_cfg, hydra_dir, overrides = hydra_context()
        run = TaskRun(Path(out_dir or hydra_dir), hydra_cfg, overrides)
        run.out_dir.mkdir(parents=True, exist_ok=True)
        try:
            returned = task(cfg, run)
            result = returned if isinstance(returned, RunResult) else _result_of_number(cfg, run, returned)
        except BaseException as exc:  # noqa: BLE001 - every failure is recorded, then re-raised
            failed = failed_result(cfg, run, exc)
            path = failed.write(run.out_dir)
            record_trial_end(failed.to_dict(), run.out_dir)
            _report_failure(failed, path, exc)
            try:
                exc.genarch_result = path  # for the command line's message (genarch.__main__)
            except AttributeError:
                pass
            raise
        result.write(run.out_dir)
        record_trial_end(result.to_dict(), run.out_dir)
        for callback in run.after_success:
            callback(result)
        return float(result.objective.value)

    return wrapped


def failed_result(cfg: Any, run: TaskRun, exc: BaseException) -> RunResult:
    facts = run.facts
    extra = dict(facts.get("extra", {}))
    for describe in run.failure_facts:
        try:
            extra.update(describe(exc) or {})
        except Exception:  # noqa: BLE001 - describing a failure must not hide it
            pass
    extra["traceback"] = traceback.format_exc(limit=20)
    if is_interruption(exc):
        extra["interrupted"] = True  # cut off, not failed: a resumed sweep runs it again
    name, direction = facts.get("objective") or config_objective(cfg)
    return RunResult(status="failed", objective=Objective(name, direction), hparams=facts.get("hparams", {}),
                     overrides=run.overrides, metrics=facts.get("metrics", {}), n_params=facts.get("n_params"),
                     epochs=facts.get("epochs", 0), wall_time_s=run.elapsed, seed=_get(cfg, "seed"),
                     task=facts.get("task"), error=f"{type(exc).__name__}: {exc}", extra=extra)


def _result_of_number(cfg: Any, run: TaskRun, value: Any) -> RunResult:
    name, direction = run.facts.get("objective") or config_objective(cfg)
    return RunResult(status="ok", objective=Objective(name, direction, float(value)),
                     hparams=run.facts.get("hparams", {}), overrides=run.overrides,
                     metrics=run.facts.get("metrics", {}), n_params=run.facts.get("n_params"),
                     epochs=run.facts.get("epochs", 0), wall_time_s=run.elapsed, seed=_get(cfg, "seed"),
                     task=run.facts.get("task"), extra=run.facts.get("extra", {}))


def config_objective(cfg: Any) -> tuple[str, str]:
    """(name, direction) as the config's ``objective`` node states them; an ``auto`` direction is maximised."""
    objective = _get(cfg, "objective") or {}
    name = str(objective.get("name", "auto")) if hasattr(objective, "get") else "objective"
    direction = objective.get("direction", "auto") if hasattr(objective, "get") else "auto"
    return name, direction if direction in ("maximize", "minimize") else "maximize"


def is_interruption(exc: BaseException) -> bool:
    """Ctrl-C, or SIGTERM turned into an exception by Lightning (a killed sweep, a preempted SLURM job)."""
    return type(exc).__name__ in INTERRUPTIONS


def _get(cfg: Any, key: str) -> Any:
    try:
        return cfg.get(key)
    except Exception:  # noqa: BLE001 - a config that does not resolve
        return None


def _report_failure(failed: RunResult, path: Path, exc: BaseException) -> None:
    """One line in the log (the console of a sweep's worker), the whole traceback in the log files."""
    where = path if path.name != FAILED_BESIDE_FILE else (
        f"{path}, beside the successful result.json of an earlier run, which is kept")
    error = " ".join(line.strip() for line in (failed.error or "").splitlines() if line.strip())
    if failed.extra.get("interrupted"):  # not a failure of the trial: a resumed sweep runs it again
        log.warning("run interrupted (%s): recorded in %s as interrupted, not failed (in a sweep, a resume "
                    "runs it again)", type(exc).__name__, where)
    elif not _single_hydra_run():  # a single run from the command line: genarch.__main__ says it, once
        log.error("run failed: %s (recorded in %s)", error[:300], where)
    traceback_to_log_files(exc, f"run failed: {failed.error}")


def _single_hydra_run() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.RUN


def traceback_to_log_files(exc: BaseException, message: str) -> Optional[Path]:
    """Write ``message`` and the traceback of ``exc`` to every log file of the root logger (Hydra's
    ``<run dir>/<job>.log``), not to the console; the first file, or None without one."""
    record = logging.LogRecord("genarch", logging.ERROR, __file__, 0, message, None,
                               (type(exc), exc, exc.__traceback__))
    first = None
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
            handler.flush()
            first = first or Path(handler.baseFilename)
    return first


def log_file() -> Optional[Path]:
    """The first log file of the root logger (Hydra's job log), or None."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None
