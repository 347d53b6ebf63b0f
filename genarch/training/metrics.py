"""Metrics of the two tasks: ROC AUC (binary) and Pearson r per output and their mean (regression)."""

import math

import numpy as np


def binary_metrics(logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    logits, y = np.asarray(logits, dtype=np.float64).ravel(), np.asarray(y).ravel()
    if not np.all(np.isfinite(logits)):
        return {"auroc": math.nan, "auprc": math.nan, "accuracy": math.nan, "loss": math.nan}
    prob = 1.0 / (1.0 + np.exp(-logits))
    loss = float(np.mean(np.logaddexp(0, logits) - y * logits))
    both = len(np.unique(y)) == 2
    return {
        "auroc": float(roc_auc_score(y, logits)) if both else math.nan,
        "auprc": float(average_precision_score(y, logits)) if both else math.nan,
        "accuracy": float(np.mean((prob >= 0.5) == (y >= 0.5))),
        "loss": loss,
    }


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
    return binary_metrics(outputs, y) if task == "binary" else regression_metrics(outputs, y, names)


DEFAULT_OBJECTIVE = {"binary": "val_auroc", "regression": "val_pearson_r"}
MINIMIZED = ("loss", "mse")


def resolve_objective(task: str, name: str, direction: str) -> tuple[str, str]:
    """``auto`` names and directions -> concrete ones (``val_auroc``/maximize, ``val_loss``/minimize...)."""
    if name in (None, "auto"):
        name = DEFAULT_OBJECTIVE[task]
    if direction in (None, "auto"):
        direction = "minimize" if any(name.endswith(m) for m in MINIMIZED) else "maximize"
    if not (name.startswith("val_") or name.startswith("test_")):
        raise ValueError(f"objective.name={name!r} must start with 'val_' (or 'test_'), e.g. val_auroc, val_loss")
    return name, direction
