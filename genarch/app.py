"""The task function Hydra calls for every run (single or one trial of a sweep).

It trains the composed architecture, writes ``result.json`` in the run's output directory whether
the run succeeds or fails, and returns the objective for a sweeper. A failed run re-raises its
error after recording it, so Hydra marks the job failed and the sweeper can tell the optimizer."""

import logging
import time
import traceback
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf

from genarch.ledger import INTERRUPTIONS
from genarch.result import Objective, RunResult
from genarch.sweeper.ledger_hook import record_trial_end  # the trial's own sweep-ledger record

log = logging.getLogger("genarch")


def hydra_context() -> tuple[Optional[Any], Path, list[str]]:
    """(Hydra's config, the run's output dir, its task overrides): (None, cwd, []) outside a Hydra run."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None, Path.cwd(), []
    hydra_cfg = HydraConfig.get()
    return hydra_cfg, Path(hydra_cfg.runtime.output_dir), list(hydra_cfg.overrides.task)


def quiet_libraries() -> None:
    """Lightning's banner lines (GPU available: False, tips) say nothing on a CPU run."""
    import warnings

    # importing Lightning sets its loggers to INFO: import first, then lower them (else the banner prints)
    import importlib

    for name in ("pytorch_lightning", "lightning_fabric"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Lightning 2.6 on torch 2.13 warns about torch's own pytree API on every import
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


def run(cfg: DictConfig, out_dir: Optional[Path] = None) -> float:
    quiet_libraries()
    from genarch.training import train
    from genarch.training.runner import hparams_of

    hydra_cfg, hydra_dir, overrides = hydra_context()
    out_dir = Path(out_dir or hydra_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    facts: dict[str, Any] = {}  # what train() measured before it failed, kept in the failed result
    try:
        result = train(cfg, out_dir, hydra_cfg, overrides, facts=facts)
    except BaseException as exc:  # noqa: BLE001 - every failure is recorded, then re-raised
        extra = {**facts.get("extra", {}), **_device_failure(exc), "traceback": traceback.format_exc(limit=20)}
        if _is_interruption(exc):
            extra["interrupted"] = True  # cut off, not failed: a resumed sweep runs it again
        name, direction = facts.get("objective") or (str(cfg.objective.get("name", "auto")), _direction_or_default(cfg))
        failed = RunResult(
            status="failed",
            objective=Objective(name, direction),
            hparams=_safe(hparams_of, cfg),
            overrides=overrides,
            metrics=facts.get("metrics", {}),
            n_params=facts.get("n_params"),
            epochs=facts.get("epochs", 0),
            wall_time_s=time.perf_counter() - start,
            seed=cfg.get("seed"),
            task=facts.get("task"),
            error=f"{type(exc).__name__}: {exc}",
            extra=extra,
        )
        failed.write(out_dir)
        record_trial_end(failed.to_dict(), out_dir)
        if extra.get("interrupted"):  # not a failure of the trial: a resumed sweep runs it again
            log.warning("run interrupted (%s): recorded in %s as interrupted, not failed (in a sweep, a resume "
                        "runs it again)", type(exc).__name__, out_dir / "result.json")
        else:
            log.error("run failed: %s (recorded in %s)", failed.error, out_dir / "result.json")
        raise
    result.write(out_dir)
    record_trial_end(result.to_dict(), out_dir)
    if cfg.get("summary", True):
        from genarch.console import print_run_summary

        print_run_summary(result.to_dict(), OmegaConf.to_container(cfg.model, resolve=True), str(out_dir))
    return float(result.objective.value)


def _is_interruption(exc: BaseException) -> bool:
    """Ctrl-C, or SIGTERM turned into an exception by Lightning (a killed sweep, a preempted SLURM job)."""
    return type(exc).__name__ in INTERRUPTIONS


def _device_failure(exc: BaseException) -> dict[str, Any]:
    """``failure_reason: out_of_memory`` for a trial that ran out of GPU memory (genarch.training.devices)."""
    from genarch.training.devices import failure_facts

    return _safe(failure_facts, exc)


def _direction_or_default(cfg: DictConfig) -> str:
    direction = cfg.objective.get("direction", "auto")
    return direction if direction in ("maximize", "minimize") else "maximize"


def _safe(fn, *args) -> Any:
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - the config itself may be what failed to resolve
        return {}
