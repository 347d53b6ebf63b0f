"""Metrics of the two tasks: ROC AUC (binary) and Pearson r per output and their mean (regression)."""

import math
from typing import Optional

import numpy as np


def binary_metrics(logits: np.ndarray, y: np.ndarray, names: Optional[list[str]] = None) -> dict[str, float]:
    """AUROC, AUPRC, accuracy and loss. With several outputs (one column each), AUROC and AUPRC are
    computed per output (``auroc/<name>``) and averaged, as Pearson r is for regression; accuracy and
    loss are over all outputs."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    logits, y = np.asarray(logits, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if logits.ndim == 1 or y.ndim == 1:
        logits, y = logits.reshape(len(logits), -1), y.reshape(len(y), -1)
    if not np.all(np.isfinite(logits)):
        return {"auroc": math.nan, "auprc": math.nan, "accuracy": math.nan, "loss": math.nan}
    prob = 1.0 / (1.0 + np.exp(-logits))
    out = {"accuracy": float(np.mean((prob >= 0.5) == (y >= 0.5))),
           "loss": float(np.mean(np.logaddexp(0, logits) - y * logits))}
    per: dict[str, list[float]] = {"auroc": [], "auprc": []}
    names = list(names) if names is not None and len(names) == y.shape[1] else [str(j) for j in range(y.shape[1])]
    for j, name in enumerate(names):
        both = len(np.unique(y[:, j])) == 2
        auroc = float(roc_auc_score(y[:, j], logits[:, j])) if both else math.nan
        auprc = float(average_precision_score(y[:, j], logits[:, j])) if both else math.nan
        per["auroc"].append(auroc)
        per["auprc"].append(auprc)
        if y.shape[1] > 1:
            out[f"auroc/{name}"], out[f"auprc/{name}"] = auroc, auprc
    for metric, values in per.items():
        out[metric] = float(np.mean(values)) if all(math.isfinite(v) for v in values) else math.nan
    return {"auroc": out.pop("auroc"), "auprc": out.pop("auprc"), **out}


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else math.nan


def regression_metrics(pred: np.ndarray, y: np.ndarray, names: list[str]) -> dict[str, float]:
    pred, y = np.asarray(pred, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if pred.ndim == 1:
        pred, y = pred[:, None], y[:, None]
    out: dict[str, float] = {"mse": float(np.mean((pred - y) ** 2)), "loss": float(np.mean((pred - y) ** 2))}
    rs = []
    for j, name in enumerate(names):
        r = pearson(pred[:, j], y[:, j]) if np.all(np.isfinite(pred[:, j])) else math.nan
        out[f"pearson_r/{name}"] = r
        rs.append(r)
    out["pearson_r"] = float(np.mean(rs)) if rs and all(np.isfinite(rs)) else math.nan
    return out


def task_metrics(task: str, outputs: np.ndarray, y: np.ndarray, names: list[str]) -> dict[str, float]:
    return binary_metrics(outputs, y, names) if task == "binary" else regression_metrics(outputs, y, names)


DEFAULT_OBJECTIVE = {"binary": "val_auroc", "regression": "val_pearson_r"}
MINIMIZED = ("loss", "mse")
# what the training loop logs each epoch, and so what early stopping and the best epoch can follow
LOGGED = {"binary": ("auroc", "auprc", "accuracy", "loss"), "regression": ("pearson_r", "mse", "loss")}


def resolve_objective(task: str, name: str, direction: str) -> tuple[str, str]:
    """``auto`` names and directions -> concrete ones (``val_auroc``/maximize, ``val_loss``/minimize...).

    The objective picks the best epoch and stops training, so it must be a validation metric that is
    logged every epoch: ``val_`` + one of :data:`LOGGED` for the task (test metrics are reported, never
    selected on)."""
    if name in (None, "auto"):
        name = DEFAULT_OBJECTIVE[task]
    allowed = [f"val_{m}" for m in LOGGED[task]]
    if name not in allowed:
        raise ValueError(f"objective.name={name!r} is not a validation metric of a {task} task: "
                         f"use one of {', '.join(allowed)} (or auto)")
    if direction in (None, "auto"):
        direction = "minimize" if any(name.endswith(m) for m in MINIMIZED) else "maximize"
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"objective.direction={direction!r} must be maximize, minimize or auto")
    return name, direction
