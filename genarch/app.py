"""The task function Hydra calls for every run (single or one trial of a sweep).

It trains the composed architecture and returns the objective for a sweeper; writing ``result.json``
(whether the run succeeds or fails), the trial's ledger record and the failure report are
:func:`genarch.task.task_wrapper`'s, the protocol every genarch task follows. A failed run re-raises its
error after recording it, so Hydra marks the job failed and the sweeper can tell the optimizer."""

import logging
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf

from genarch.result import RunResult
from genarch.sweeper.ledger_hook import record_trial_end  # noqa: F401 - the wrapper's ledger record (tests patch it)
from genarch.task import TaskRun, hydra_context, is_interruption, task_wrapper

log = logging.getLogger("genarch")
_hydra_context = hydra_context  # the name experiments used before genarch.task


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
    """Train ``cfg``'s architecture; its ``result.json`` goes to ``out_dir`` (default: Hydra's run dir)."""
    return _train(cfg, out_dir)


@task_wrapper
def _train(cfg: DictConfig, run: TaskRun) -> RunResult:
    quiet_libraries()
    from genarch.training import train
    from genarch.training.runner import hparams_of

    run.facts["hparams"] = _safe(hparams_of, cfg)  # kept in a failed result too
    run.failure_facts.append(_device_failure)  # failure_reason: out_of_memory on a GPU
    if cfg.get("summary", True):
        run.after_success.append(lambda result: _print_summary(cfg, result, run.out_dir))
    return train(cfg, run.out_dir, run.hydra_cfg, run.overrides, facts=run.facts)


def _print_summary(cfg: DictConfig, result: RunResult, out_dir: Path) -> None:
    from genarch.console import print_run_summary

    print_run_summary(result.to_dict(), OmegaConf.to_container(cfg.model, resolve=True), str(out_dir))


_is_interruption = is_interruption


def _device_failure(exc: BaseException) -> dict[str, Any]:
    """``failure_reason: out_of_memory`` for a trial that ran out of GPU memory (genarch.training.devices)."""
    from genarch.training.devices import failure_facts

    return _safe(failure_facts, exc)


def _safe(fn, *args) -> Any:
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - the config itself may be what failed to resolve
        return {}
