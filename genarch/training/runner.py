"""One training run: config -> data -> model -> Lightning fit -> best weights -> metrics -> RunResult."""

import logging
import os
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from genarch.console import in_multirun
from genarch.data import DataBundle, load_dataset
from genarch.data.errors import DataError
from genarch.io import flatten
from genarch.model import ConfigError, GenomicNet, count_parameters, validate_model
from genarch.result import Objective, RunResult
from genarch.training.batches import make_loader, predict_on
from genarch.training.checkpoints import (best_ckpt_path, checkpoint_callbacks, last_checkpoint_callback,
                                          load_net_from_ckpt, resume_path)
from genarch.training.devices import TrainingDevice, free_gpu_memory, resolve_device, settings_problems
from genarch.training.loggers import build_loggers, final_metrics, finish_loggers
from genarch.training.metrics import resolve_objective, task_metrics
from genarch.training.module import BestWeights, SequenceModule, TrainClock, predict
from genarch.training.subnormals import flushing_subnormals, subnormals_flushed
from genarch.training.threads import apply_threads, choose_threads

MODEL_FILE = "model.pt"
log = logging.getLogger(__name__)


def grad_clip_value(model_cfg: Any) -> Optional[float]:
    rnn = model_cfg["rnn"]
    clip = float(rnn.get("grad_clip", 0) or 0)
    return clip if rnn["kind"] != "none" and clip > 0 else None


def build_model(model_cfg: Any, bundle: DataBundle) -> GenomicNet:
    model = OmegaConf.to_container(model_cfg, resolve=True) if isinstance(model_cfg, DictConfig) else model_cfg
    return GenomicNet(model, bundle.seq_len, bundle.n_outputs)


TARGET_SCALINGS = ("standardize", "none")


def scale_targets(net: GenomicNet, y: np.ndarray, how: str) -> str:
    """``trainer.target_scaling``: ``standardize`` makes the network learn each regression target as
    (y - mean) / std of the training split (the network maps back to the targets' units, so predictions,
    metrics and predict.py stay in them); ``none`` learns the raw targets."""
    if how not in TARGET_SCALINGS:
        raise ValueError(f"trainer.target_scaling={how!r} must be one of {list(TARGET_SCALINGS)}")
    if how == "standardize" and len(y):
        y = np.asarray(y, dtype=np.float64)
        std = y.std(axis=0)
        net.scale_targets(y.mean(axis=0), np.where(std > 1e-8, std, 1.0))
    return how


def validate_trainer(trainer_cfg: Any) -> None:
    """Raise :class:`ConfigError` naming every ``trainer.*`` value that cannot drive a run, before any
    data is read (a batch size of 0 would otherwise fail deep inside the loader)."""
    problems = []

    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    for key, low in (("batch_size", 1), ("eval_batch_size", 1), ("max_epochs", 1), ("patience", 0)):
        value = trainer_cfg.get(key, low)
        if not (is_int(value) and value >= low):
            problems.append(f"trainer.{key}={value!r} must be an integer >= {low}")
    scaling = trainer_cfg.get("target_scaling", "standardize")
    if scaling not in TARGET_SCALINGS:
        problems.append(f"trainer.target_scaling={scaling!r} must be one of {list(TARGET_SCALINGS)}")
    threads = trainer_cfg.get("threads", "auto")
    if not (threads in (None, "auto") or (is_int(threads) and threads >= 1)):
        problems.append(f"trainer.threads={threads!r} must be 'auto' or an integer >= 1")
    min_delta = trainer_cfg.get("min_delta", 0.0)
    if not (isinstance(min_delta, (int, float)) and not isinstance(min_delta, bool) and min_delta >= 0):
        problems.append(f"trainer.min_delta={min_delta!r} must be a number >= 0")
    min_epochs, max_epochs = trainer_cfg.get("min_epochs", 0), trainer_cfg.get("max_epochs", 1)
    if not (is_int(min_epochs) and 0 <= min_epochs and (not is_int(max_epochs) or min_epochs <= max_epochs)):
        problems.append(f"trainer.min_epochs={min_epochs!r} must be an integer from 0 to trainer.max_epochs "
                        f"({max_epochs!r})")
    problems += settings_problems(trainer_cfg)  # accelerator, devices, precision, compile, ...
    if problems:
        raise ConfigError("illegal trainer config:\n  - " + "\n  - ".join(problems))


def check_val_can_score(bundle: DataBundle, objective_name: str) -> None:
    """A validation split on which the objective is undefined in every epoch (one class for AUROC, a
    constant target for Pearson r) is a DataError before training, not a NaN after it."""
    metric = objective_name.split("_", 1)[1]
    y = np.asarray(bundle.val.y)
    y = y.reshape(len(y), -1)
    if bundle.task == "binary" and metric in ("auroc", "auprc"):
        labels = np.unique(y)
        if len(labels) < 2:
            raise DataError(f"{bundle.name}: the validation split ({len(y)} records) holds only label "
                            f"{labels.tolist()}, so {objective_name} is undefined; raise val_fraction or check "
                            "the labels", key="val_fraction")
    if bundle.task == "regression" and metric == "pearson_r":
        constant = [name for j, name in enumerate(bundle.target_names) if np.ptp(y[:, j]) == 0]
        if constant:
            raise DataError(f"{bundle.name}: target(s) {constant} are constant in the validation split "
                            f"({len(y)} records), so {objective_name} is undefined; raise val_fraction",
                            key="val_fraction")


def train(cfg: DictConfig, out_dir: Path, hydra_cfg: Optional[Any] = None, overrides: Optional[list[str]] = None,
          bundle: Optional[DataBundle] = None, console: Any = None,
          facts: Optional[dict[str, Any]] = None) -> RunResult:
    """Train the configured model and return its :class:`RunResult` (not yet written to disk).

    Raises the original exception on failure; :func:`genarch.app.run` records it as a failed run.
    ``facts``, when given, is filled as the run goes (``objective``, ``task``, ``n_params``, ``epochs``,
    ``extra``, ``metrics``), so that a run that fails late (a NaN objective after evaluation, a full
    disk while saving the model) still records what it had measured."""
    facts = {} if facts is None else facts
    start = time.perf_counter()
    # illegal combinations fail before any data is read
    validate_model(OmegaConf.to_container(cfg.model, resolve=True))
    validate_trainer(cfg.trainer)
    device = resolve_device(cfg.trainer, hydra_cfg)  # a GPU asked for where there is none fails here
    loggers: list[Any] = []  # filled by _train_on; closed as failed here when the trial fails
    try:
        with flushing_subnormals():  # subnormal weights slow CPU steps up to 18x (genarch.training.subnormals)
            return _train_on(device, loggers, cfg, out_dir, hydra_cfg, overrides, bundle, facts, start)
    except BaseException as exc:
        close_failed(loggers)
        drop_trial_frames(exc)  # the caller keeps the exception; the trial's model and data go now
        raise
    finally:
        device.release()  # the trial's GPU slot goes back now, not when its worker process exits
        if device.is_gpu:
            free_gpu_memory()  # after an out-of-memory failure the next trial in this process starts clean


def show_progress(trainer_cfg: Any) -> bool:
    """Lightning's per-epoch progress bar: ``trainer.progress``, but never in a trial of a Hydra multirun,
    where the sweep's own live display holds the terminal (the trial's detail goes to its log)."""
    return bool(trainer_cfg.get("progress", True)) and not in_multirun()


def close_failed(loggers: list[Any]) -> None:
    """Ends a failed trial's loggers with status ``failed`` (a problem doing so is logged, never raised over
    the trial's own error)."""
    try:
        finish_loggers(loggers, status="failed")
    except Exception as exc:  # noqa: BLE001 - the trial's own error is the one to report
        log.warning("closing the loggers of a failed trial: %s: %s", type(exc).__name__, exc)


def drop_trial_frames(exc: BaseException) -> None:
    """Clears the local variables of the finished frames below :func:`train` in ``exc``'s traceback (and in
    the exceptions it chains): the network, its best weights, the trainer and the device-resident data
    they hold would otherwise stay alive, on the GPU, as long as the launcher keeps the exception (Hydra's
    basic launcher: until the batch ends). The traceback's text is unchanged."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb = exc.__traceback__
        if tb is not None and tb.tb_frame.f_code is train.__code__:
            tb = tb.tb_next  # train()'s own frame is still running
        traceback.clear_frames(tb)
        exc = exc.__cause__ or exc.__context__


def _train_on(device: TrainingDevice, loggers: list[Any], cfg: DictConfig, out_dir: Path, hydra_cfg: Optional[Any],
              overrides: Optional[list[str]], bundle: Optional[DataBundle], facts: dict[str, Any],
              start: float) -> RunResult:
    """:func:`train` once the device is resolved (and, in a local parallel sweep, its GPU slot leased)."""
    import pytorch_lightning as pl

    seed = int(cfg.seed)
    threads = choose_threads(cfg.trainer.get("threads", "auto"), hydra_cfg)
    apply_threads(threads)
    pl.seed_everything(seed, workers=True, verbose=False)

    if bundle is None:
        bundle = load_dataset(cfg.dataset)
    objective_name, direction = resolve_objective(bundle.task, cfg.objective.name, cfg.objective.direction)
    facts.update(objective=(objective_name, direction), task=bundle.task)
    extra: dict[str, Any] = {"threads": threads, "subnormals_flushed": subnormals_flushed(),
                             "n_train": len(bundle.train), "n_val": len(bundle.val),
                             "n_test": 0 if bundle.test is None else len(bundle.test), "dataset": bundle.name,
                             **device.facts()}
    facts["extra"] = extra
    check_val_can_score(bundle, objective_name)
    torch.manual_seed(seed)
    net = build_model(cfg.model, bundle)
    if bundle.task == "regression":
        extra["target_scaling"] = scale_targets(net, bundle.train.y, cfg.trainer.get("target_scaling", "standardize"))
    net = device.prepare(net)
    facts["n_params"] = count_parameters(net)
    module = SequenceModule(net, bundle.task, OmegaConf.to_container(cfg.optimizer, resolve=True), bundle.target_names)

    best, clock = BestWeights(objective_name, "max" if direction == "maximize" else "min"), TrainClock()
    callbacks: list[Any] = [best, clock, pl.callbacks.EarlyStopping(
        monitor=objective_name, mode=best.mode, patience=int(cfg.trainer.patience),
        min_delta=float(cfg.trainer.get("min_delta", 0.0)), check_finite=False)]
    progress = show_progress(cfg.trainer)
    if progress:
        callbacks.append(pl.callbacks.RichProgressBar(leave=False))
    save_checkpoint = bool(cfg.trainer.get("save_checkpoint", True))
    if save_checkpoint:  # Lightning's checkpoints/best.ckpt; model.pt is written after evaluation
        callbacks += checkpoint_callbacks(out_dir, objective_name, best.mode, model_spec(cfg, bundle))
    save_last = bool(cfg.trainer.get("save_last", False))  # checkpoints/last.ckpt: a later rung continues from it
    if save_last:
        callbacks.append(last_checkpoint_callback(out_dir))
    loggers += build_loggers(cfg.get("logger"), out_dir, hydra_cfg, hparams_of(cfg), resume_path(cfg.trainer))
    trainer = pl.Trainer(
        **device.trainer_kwargs(), max_epochs=int(cfg.trainer.max_epochs), callbacks=callbacks,
        # optional (++trainer.min_epochs): early stopping cannot end the run before it, for sets whose first
        # epochs are a plateau no model leaves within the patience (experiments/regression: synthetic_ilsep)
        min_epochs=int(cfg.trainer.get("min_epochs", 0)),
        logger=loggers or False, log_every_n_steps=1, enable_checkpointing=save_checkpoint or save_last,
        enable_model_summary=False,
        enable_progress_bar=progress, gradient_clip_val=grad_clip_value(cfg.model),
        num_sanity_val_steps=0, default_root_dir=str(out_dir),
    )
    batch_size = int(cfg.trainer.batch_size)
    with warnings.catch_warnings(), device.nondeterminism_recorded(extra):
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*shuffle.*")
        # a rung resumed from the previous rung's job dir (trainer.resume_from): its checkpoint callbacks differ
        warnings.filterwarnings("ignore", ".*when using `ckpt_path`, callbacks used to create the checkpoint.*")
        warnings.filterwarnings("ignore", ".*The dirpath has changed from.*")
        trainer.fit(module, make_loader(bundle.train, batch_size, True, seed, device.torch_device),
                    make_loader(bundle.val, int(cfg.trainer.get("eval_batch_size", 1000)), False, 0,
                                device.torch_device),
                    ckpt_path=resume_path(cfg.trainer))
    facts["epochs"] = int(trainer.current_epoch)
    extra["best_epoch"] = best.best_epoch
    if clock.before:
        extra["seconds_before_resume"] = round(clock.before, 3)  # trained in the run(s) it was resumed from
    if best.state is None:
        raise FloatingPointError(f"no finite {objective_name} in any epoch: the model did not train")
    net.load_state_dict(best.state)

    eval_bs = int(cfg.trainer.get("eval_batch_size", 1000))
    metrics: dict[str, dict[str, float]] = {}
    facts["metrics"] = metrics  # filled split by split below
    for split_name, split in (("val", bundle.val), ("test", bundle.test)):
        if split is not None and len(split):
            outputs = (predict_on(device.torch_device, net, split.x, eval_bs) if device.is_gpu
                       else predict(net, split.x, eval_bs))
            metrics[split_name] = task_metrics(bundle.task, outputs, split.y, bundle.target_names)
    prefix, metric = objective_name.split("_", 1)
    value = metrics.get(prefix, {}).get(metric)
    if value is None:
        raise KeyError(f"objective.name={objective_name!r}: no metric {metric!r} on the {prefix} split; "
                       f"available: {sorted(metrics.get(prefix, {}))}")
    if not np.isfinite(value):
        raise FloatingPointError(f"{objective_name} is {value} after training")
    finish_loggers(loggers, final_metrics(metrics), hparams_of(cfg), trainer.global_step)

    if save_checkpoint:
        partial = out_dir / (MODEL_FILE + ".partial")  # written whole, then renamed: never a torn model.pt
        torch.save({"state_dict": net.state_dict(), **model_spec(cfg, bundle), "best_epoch": best.best_epoch}, partial)
        os.replace(partial, out_dir / MODEL_FILE)

    return RunResult(
        status="ok",
        objective=Objective(objective_name, direction, float(value)),
        hparams=hparams_of(cfg),
        overrides=list(overrides or []),
        metrics=metrics,
        n_params=facts["n_params"],
        epochs=facts["epochs"],
        wall_time_s=time.perf_counter() - start,
        seed=seed,
        task=bundle.task,
        extra=dict(extra),  # best_epoch set after fit
    )


def model_spec(cfg: DictConfig, bundle: DataBundle) -> dict[str, Any]:
    """What rebuilding the trained network needs, stored in model.pt and in checkpoints/best.ckpt."""
    return {"model": OmegaConf.to_container(cfg.model, resolve=True), "seq_len": bundle.seq_len,
            "n_outputs": bundle.n_outputs, "task": bundle.task, "target_names": list(bundle.target_names)}


def hparams_of(cfg: DictConfig) -> dict[str, Any]:
    """Every resolved config value (dataset, model, optimizer, trainer, seed, objective) as dotted keys
    (not ``logger``: where the curves go changes nothing about the run)."""
    container = OmegaConf.to_container(cfg, resolve=True)
    container.pop("hydra", None)
    container.pop("logger", None)  # where metrics are logged is not a hyperparameter of the run
    return flatten(container)


def load_trained(run_dir: "str | Path"):
    """Rebuild a trained network from a run directory's ``model.pt`` (or, without one, Lightning's
    ``checkpoints/best.ckpt``): ``(net, checkpoint dict)``. Leaves the thread's float mode alone: genarch's
    prediction functions flush subnormal weights while they run (genarch.training.subnormals)."""
    if not (Path(run_dir) / MODEL_FILE).exists() and best_ckpt_path(run_dir).exists():
        return load_net_from_ckpt(best_ckpt_path(run_dir))
    checkpoint = torch.load(Path(run_dir) / MODEL_FILE, map_location="cpu", weights_only=False)
    net = GenomicNet(checkpoint["model"], checkpoint["seq_len"], checkpoint["n_outputs"])
    net.load_state_dict(checkpoint["state_dict"])
    net.eval()
    return net, checkpoint
