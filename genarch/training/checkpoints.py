"""Lightning-format checkpoints of a run: ``<run dir>/checkpoints/best.ckpt``.

Written by Lightning's :class:`ModelCheckpoint` (the epoch with the best validation objective, the same
epoch :class:`~genarch.training.module.BestWeights` keeps) when ``trainer.save_checkpoint`` is true.
The checkpoint is self-describing: besides Lightning's own keys (``state_dict`` with ``net.``-prefixed
weights, optimizer states, epoch, callbacks) it carries ``genarch``: the model config, sequence length,
outputs, task and target names, so :func:`load_net_from_ckpt` rebuilds the network without the config.
``model.pt`` (the plain state dict, no Lightning needed to read it) is still written next to it.
"""

from pathlib import Path
from typing import Any, Mapping

import pytorch_lightning as pl
import torch

CKPT_DIR = "checkpoints"
BEST_CKPT = "best"  # -> checkpoints/best.ckpt


class ModelSpecInCheckpoint(pl.Callback):
    """Adds what rebuilding the network needs (``checkpoint["genarch"]``) to every Lightning checkpoint."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = dict(spec)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint["genarch"] = dict(self.spec)


def checkpoint_callbacks(out_dir: Path, monitor: str, mode: str, spec: Mapping[str, Any]) -> list[pl.Callback]:
    """ModelCheckpoint keeping the best epoch by ``monitor`` as ``checkpoints/best.ckpt``, and the spec writer."""
    best = pl.callbacks.ModelCheckpoint(
        dirpath=str(Path(out_dir) / CKPT_DIR), filename=BEST_CKPT, monitor=monitor, mode=mode, save_top_k=1,
        save_last=False, auto_insert_metric_name=False, enable_version_counter=False)
    return [best, ModelSpecInCheckpoint(spec)]


def last_checkpoint_callback(out_dir: Path) -> pl.Callback:
    """``checkpoints/last.ckpt`` rewritten after every epoch (weights, optimizer, epoch, early-stopping and
    best-weights state): what a promoted multi-fidelity rung continues from (``trainer.resume_from``), asked
    for by ``trainer.save_last`` (genarch.sweeper.fidelity passes it to every rung below the top)."""
    # The newest checkpoint kept under the name "last" (monitor None, top 1), written at every train epoch's end,
    # after validation and after the early-stopping and best-weights callbacks (Lightning runs checkpoint
    # callbacks last), so it holds that epoch's whole state and a resume starts the next epoch. Not Lightning's
    # save_last: it writes only in an epoch where this callback saved another checkpoint, which with
    # save_top_k=0 is never before the end, so a run killed mid-training had nothing to continue from; nor a
    # save at validation's end: resumed from there, the epoch's end runs again without validation metrics.
    return pl.callbacks.ModelCheckpoint(dirpath=str(Path(out_dir) / CKPT_DIR), filename="last", monitor=None,
                                        save_top_k=1, save_last=False, save_on_train_epoch_end=True,
                                        auto_insert_metric_name=False, enable_version_counter=False)


def resume_path(trainer_cfg: Any) -> "str | None":
    """``trainer.resume_from``: a Lightning checkpoint to continue training from, checked to exist."""
    path = trainer_cfg.get("resume_from")
    if path is None:
        return None
    if not Path(str(path)).is_file():
        raise FileNotFoundError(f"trainer.resume_from={path}: no such checkpoint (the previous rung's job dir keeps "
                                "checkpoints/last.ckpt when it ran with trainer.save_last=true)")
    return str(path)


def best_ckpt_path(run_dir: "str | Path") -> Path:
    return Path(run_dir) / CKPT_DIR / f"{BEST_CKPT}.ckpt"


def load_net_from_ckpt(path: "str | Path"):
    """``(net, spec)`` rebuilt from a Lightning checkpoint written by a genarch run."""
    from genarch.model import GenomicNet

    checkpoint = torch.load(Path(path), map_location="cpu", weights_only=False)
    spec = checkpoint.get("genarch")
    if spec is None:
        raise ValueError(f"{path}: not a genarch checkpoint (no 'genarch' entry with the model config)")
    net = GenomicNet(spec["model"], spec["seq_len"], spec["n_outputs"])
    state = {k.removeprefix("net."): v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    net.load_state_dict(state)
    net.eval()
    return net, {**spec, "best_epoch": checkpoint.get("epoch")}
