"""The LightningModule: one network, one task (binary BCE or multi-output MSE), one optimizer."""

import math
import time
from typing import Any, Mapping, Optional

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn

from genarch.data.base import to_float
from genarch.training.metrics import MINIMIZED, task_metrics
from genarch.training.subnormals import flushing_subnormals


class NonFiniteLoss(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class SequenceModule(pl.LightningModule):
    def __init__(self, net: nn.Module, task: str, optimizer: Mapping[str, Any], target_names: list[str]) -> None:
        super().__init__()
        self.net, self.task, self.optimizer_cfg = net, task, dict(optimizer)
        self.target_names = list(target_names)
        self.loss_fn = nn.BCEWithLogitsLoss() if task == "binary" else nn.MSELoss()
        self._val_outputs: list[torch.Tensor] = []
        self._val_targets: list[torch.Tensor] = []
        self._train_loss_sum, self._train_seen = torch.zeros(()), 0
        self._train_finite = torch.ones((), dtype=torch.bool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = self.training_loss(self.net(to_float(x)), y)
        if loss.device.type == "cpu":
            if not torch.isfinite(loss):
                raise NonFiniteLoss(f"non-finite training loss ({loss.item()}) at epoch {self.current_epoch}, "
                                    f"batch {batch_idx}")
        else:  # on an accelerator a per-step check would wait for the device every step: checked per epoch
            self._train_finite &= torch.isfinite(loss.detach())
        self._train_loss_sum += loss.detach() * len(x)
        self._train_seen += len(x)
        return loss

    def training_loss(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """BCE on logits; for regression the MSE of the standardised outputs and targets (the network's
        ``target_shift`` / ``target_scale``: identity unless trainer.target_scaling set them), so every output
        weighs the same whatever its units."""
        scale = getattr(getattr(self.net, "_orig_mod", self.net), "target_scale", None)  # compiled: in _orig_mod
        if self.task == "binary" or scale is None:
            return self.loss_fn(outputs, y)
        return self.loss_fn(outputs / scale, y / scale)  # = MSE((outputs - shift) / scale, (y - shift) / scale)

    def on_train_epoch_start(self) -> None:
        self._train_loss_sum, self._train_seen = torch.zeros((), device=self.device), 0
        self._train_finite = torch.ones((), dtype=torch.bool, device=self.device)

    def on_train_epoch_end(self) -> None:
        if self.device.type != "cpu" and not bool(self._train_finite):
            raise NonFiniteLoss(f"non-finite training loss in epoch {self.current_epoch}")
        # one log call per epoch: per-step logging costs more than a small model's step on CPU
        if self._train_seen:
            self.log("train_loss", self._train_loss_sum / self._train_seen, prog_bar=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        self._val_outputs.append(self.net(to_float(x)).detach())
        self._val_targets.append(y)

    def on_validation_epoch_end(self) -> None:
        if not self._val_outputs:
            return
        outputs = torch.cat(self._val_outputs).float().cpu().numpy()  # bfloat16 under bf16-mixed
        targets = torch.cat(self._val_targets).cpu().numpy()
        self._val_outputs.clear()
        self._val_targets.clear()
        metrics = task_metrics(self.task, outputs, targets, self.target_names)
        for name, value in metrics.items():
            if "/" in name:  # per-output metrics go to result.json, not the progress bar
                continue
            # a non-finite value is logged as the worst possible one in its own direction
            shown = value if math.isfinite(value) else (1e9 if name in MINIMIZED else -1e9)
            self.log(f"val_{name}", float(shown), prog_bar=name in ("auroc", "pearson_r", "loss"))

    def configure_optimizers(self):
        cfg = self.optimizer_cfg
        lr = float(cfg["base_lr"]) * float(cfg.get("lr_scale", 1.0))
        wd = float(cfg.get("l2", 0.0))
        if cfg["name"] == "adam":
            return torch.optim.Adam(self.net.parameters(), lr=lr, weight_decay=wd)
        if cfg["name"] == "sgd":
            return torch.optim.SGD(self.net.parameters(), lr=lr, weight_decay=wd,
                                   momentum=float(cfg.get("momentum", 0.9)), nesterov=bool(cfg.get("nesterov", True)))
        raise ValueError(f"optimizer.name={cfg['name']!r} is not 'adam' or 'sgd'")


class BestWeights(pl.Callback):
    """Keeps an in-memory copy of the weights of the best validation epoch (no disk I/O per epoch)."""

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor, self.mode = monitor, mode
        self.best_score: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self.state: Optional[dict[str, torch.Tensor]] = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        score = float(value)
        better = self.best_score is None or (score > self.best_score if self.mode == "max" else score < self.best_score)
        if better and math.isfinite(score):
            self.best_score, self.best_epoch = score, trainer.current_epoch
            self.state = {k: v.detach().clone() for k, v in pl_module.net.state_dict().items()}

    # kept in Lightning checkpoints, so a run resumed from one (a promoted multi-fidelity rung) keeps the best
    # epoch of the epochs before it
    def state_dict(self) -> dict:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch, "state": self.state}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best_score, self.best_epoch = state_dict.get("best_score"), state_dict.get("best_epoch")
        self.state = state_dict.get("state")


class TrainClock(pl.Callback):
    """Seconds spent training, kept in Lightning checkpoints: a run resumed from one (a grid cell killed
    mid-training, a promoted rung) reports the seconds before the resume as ``extra.seconds_before_resume``."""

    def __init__(self) -> None:
        self.before = 0.0
        self._start: Optional[float] = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.monotonic()

    def state_dict(self) -> dict:
        return {"seconds": self.before + (time.monotonic() - self._start if self._start is not None else 0.0)}

    def load_state_dict(self, state_dict: dict) -> None:
        self.before = float(state_dict.get("seconds") or 0.0)


@torch.no_grad()
def predict(net: nn.Module, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    net.eval()
    with flushing_subnormals():  # a trained network's subnormal weights would slow this as much as training
        outputs = [net(to_float(torch.from_numpy(x[i : i + batch_size]))) for i in range(0, len(x), batch_size)]
    return torch.cat(outputs).numpy() if outputs else np.zeros((0, 1), dtype=np.float32)
