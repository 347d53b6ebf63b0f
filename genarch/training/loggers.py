"""The ``logger`` config group -> Lightning loggers for one run (lightning-hydra-template's pattern).

Each option of ``conf/logger/`` maps a name to a Lightning logger config (``_target_`` and its
arguments). Values left ``null`` are filled from where the run is:

- ``save_dir``: the run's own output directory (CSV, TensorBoard and W&B files live in it);
- MLflow's ``tracking_uri``: ``file:<sweep dir>/mlruns`` in a sweep (one store for all its trials), else
  ``file:<run dir>/mlruns``;
- the group (MLflow ``experiment_name``, W&B ``group``): the sweep directory, so one sweep is one
  comparable group; the run's name (MLflow ``run_name``, W&B ``name``): ``trial-<job number>`` in a
  sweep, the run directory's name otherwise.

Every logger gets the run's hyperparameters as the flat dotted keys of ``result.json``.
"""

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from omegaconf import DictConfig, OmegaConf

from genarch.model import ConfigError
from genarch.training.csv_history import continue_csv


@dataclass(frozen=True)
class RunIdentity:
    """Where a run logs and under which names."""

    run_dir: Path
    group_dir: Path  # the sweep directory in a sweep, else the run directory
    group: Optional[str]  # the sweep's name (None for a single run)
    name: str  # trial-<num> in a sweep, else the run directory's name


def run_identity(out_dir: Path, hydra_cfg: Optional[Any] = None) -> RunIdentity:
    """The run's names, from Hydra's config when there is one (a sweep trial knows its sweep dir and number)."""
    out_dir = Path(out_dir)
    mode = str(getattr(hydra_cfg, "mode", "") or "") if hydra_cfg is not None else ""
    if hydra_cfg is not None and mode.endswith("MULTIRUN"):
        sweep_dir = Path(str(hydra_cfg.sweep.dir))
        group = str(hydra_cfg.sweep.dir)
        return RunIdentity(out_dir, sweep_dir.resolve(), group, f"trial-{hydra_cfg.job.num}")
    return RunIdentity(out_dir, out_dir.resolve(), None, out_dir.name)


def _filled(kind: str, spec: dict[str, Any], who: RunIdentity) -> dict[str, Any]:
    """The logger's arguments with every ``null`` location or name replaced by the run's own."""
    target = str(spec.get("_target_", ""))
    short = target.rsplit(".", 1)[-1]
    spec = dict(spec)
    if "save_dir" in spec and spec["save_dir"] is None:
        spec["save_dir"] = str(who.run_dir)
    if short == "MLFlowLogger":
        if spec.get("tracking_uri") is None:
            spec["tracking_uri"] = (who.group_dir / "mlruns").as_uri()
        if spec.get("experiment_name") is None:
            spec["experiment_name"] = who.group or "genarch"
        if spec.get("run_name") is None:
            spec["run_name"] = who.name
    if short == "WandbLogger":
        if spec.get("group") is None:
            spec["group"] = who.group  # None for a single run: W&B's default (no group)
        if spec.get("name") is None:
            spec["name"] = who.name
        Path(spec.get("save_dir") or who.run_dir).mkdir(parents=True, exist_ok=True)
    return spec


def _prepare(spec: dict[str, Any]) -> None:
    """Side conditions of some loggers before they start: a W&B run left open by an earlier trial in the
    same process is finished (W&B would otherwise log this trial into it); the MLflow experiment is created
    once even when parallel trials start together (both would try to create it)."""
    short = str(spec.get("_target_", "")).rsplit(".", 1)[-1]
    if short == "WandbLogger":
        os.environ.setdefault("WANDB_SILENT", "true")  # no banner lines per trial; set WANDB_SILENT=false to see them
        import wandb

        if wandb.run is not None:
            wandb.finish()
    if short == "MLFlowLogger":
        if str(spec["tracking_uri"]).startswith("file:"):
            # MLflow 3 keeps its file store in maintenance mode and refuses it unless asked: genarch's
            # default store is plain files beside the run (no database, no server, safe for parallel trials)
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        ensure_mlflow_experiment(spec["tracking_uri"], spec["experiment_name"])


def ensure_mlflow_experiment(tracking_uri: str, name: str, tries: int = 5) -> str:
    """The id of MLflow experiment ``name`` in the store, created if missing (safe against a parallel trial
    creating it at the same moment)."""
    import time

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    for attempt in range(tries):
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return client.create_experiment(name)
        except Exception:  # noqa: BLE001 - created by a parallel trial between the two calls: look it up again
            if attempt == tries - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"could not create MLflow experiment {name!r} in {tracking_uri}")


def logger_specs(logger_cfg: Any) -> dict[str, dict[str, Any]]:
    """The ``logger`` group's entries as plain dicts (``none``, null or missing: no logger). An entry
    without ``_target_`` is a ConfigError naming its key."""
    if logger_cfg is None:
        return {}
    specs = OmegaConf.to_container(logger_cfg, resolve=True) if isinstance(logger_cfg, DictConfig) else dict(logger_cfg)
    out = {}
    for kind, spec in specs.items():
        if spec is None:  # an option switched off, e.g. logger.wandb=null
            continue
        if not isinstance(spec, Mapping) or "_target_" not in spec:
            raise ConfigError(f"logger.{kind} must be a logger config with a _target_ (see conf/logger/), got {spec!r}")
        out[str(kind)] = dict(spec)
    return out


def build_loggers(logger_cfg: Any, out_dir: Path, hydra_cfg: Optional[Any] = None,
                  hparams: Optional[Mapping[str, Any]] = None, resume_from: Optional[str] = None) -> list[Any]:
    """The run's Lightning loggers, each already given ``hparams`` (the flat dotted keys of result.json); a
    run resumed from the checkpoint ``resume_from`` keeps its earlier epochs' CSV rows (csv_history.py)."""
    specs = logger_specs(logger_cfg)
    if not specs:
        return []
    from hydra.utils import instantiate

    who = run_identity(out_dir, hydra_cfg)
    loggers = []
    for kind, spec in specs.items():
        spec = _filled(kind, spec, who)
        _prepare(spec)
        try:
            logger = instantiate(spec, _convert_="all")
        except Exception as err:  # noqa: BLE001 - a missing package or a bad argument names the logger
            cause = err.__cause__ or err
            hint = (" (pip install 'genarch[loggers]')" if isinstance(cause, (ImportError, ModuleNotFoundError))
                    else "")
            raise ConfigError(f"logger.{kind}: cannot build {spec['_target_']}: {cause}{hint}") from err
        init = getattr(logger, "_wandb_init", None)
        if isinstance(init, dict) and "anonymous" in init and init["anonymous"] is None:
            # Lightning 2.6 passes anonymous=None, which W&B >= 0.19 warns about on every run ("has no effect")
            del init["anonymous"]
        continue_csv(logger, who.run_dir, resume_from)  # before anything starts its writer (which deletes the file)
        if hparams:
            logger.log_hyperparams(dict(hparams))
        loggers.append(logger)
    return loggers


def final_metrics(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """The run's evaluation (the best epoch's weights, as in result.json) as ``final/<split>_<metric>``
    (``final/val_auroc`` is the objective); per-output and undefined values left out."""
    out = {}
    for split, values in metrics.items():
        for name, value in values.items():
            if "/" not in name and isinstance(value, (int, float)) and math.isfinite(value):
                out[f"final/{split}_{name}"] = float(value)
    return out


def finish_loggers(loggers: list[Any], final: Optional[Mapping[str, float]] = None,
                   hparams: Optional[Mapping[str, Any]] = None, step: Optional[int] = None,
                   status: str = "success") -> None:
    """Log the run's final metrics (TensorBoard: with the hyperparameters, so its HParams tab compares
    the trials of a sweep) and close every logger with ``status`` (``"failed"`` for a trial that failed:
    its MLflow run ends FAILED, not RUNNING), including what Lightning leaves open after ``fit``: the W&B
    run (so the next trial in this process starts its own)."""
    for logger in loggers:
        kind = type(logger).__name__
        if final:
            if kind == "TensorBoardLogger":
                logger.log_hyperparams(dict(hparams or {}), metrics=dict(final), step=step)
            else:
                logger.log_metrics(dict(final), step=step)
        logger.finalize(status)  # flushes (CSV writes metrics.csv again, TensorBoard closes its writer)
        if kind == "WandbLogger":
            import wandb

            if wandb.run is not None:
                wandb.finish(exit_code=0 if status == "success" else 1)
