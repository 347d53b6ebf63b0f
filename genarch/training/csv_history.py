"""A resumed run keeps the per-epoch CSV rows of the run it continues.

Lightning's CSVLogger deletes a ``metrics.csv`` it finds in its folder and starts a new one, so a run resumed
from ``trainer.resume_from`` (a grid cell killed mid-training, continued in the same run dir; a promoted
multi-fidelity rung, continued from the previous rung's job dir) would log only the epochs trained after
the resume. :func:`earlier_rows` reads the checkpoint's run's ``metrics.csv`` files first (the epochs up to
the checkpoint's own; later rows belong to an epoch the resumed run trains again), and
:func:`continue_csv_loggers` writes them at the head of each new CSV logger's file at once, so a second kill
loses them neither."""

import csv
from pathlib import Path
from typing import Any, Optional

import torch

METRICS_FILE = "metrics.csv"
_DEPTH = 3  # <run dir>/csv/metrics.csv, or <run dir>/<name>/<version>/metrics.csv


def earlier_rows(resume_from: Optional[str]) -> dict[Path, list[dict[str, str]]]:
    """The rows of every ``metrics.csv`` of the run that wrote ``resume_from`` (``<run>/checkpoints/x.ckpt``),
    by folder relative to that run's dir, up to the checkpoint's epoch; {} when not resuming."""
    if resume_from is None:
        return {}
    ckpt = Path(str(resume_from))
    epoch = torch.load(ckpt, map_location="cpu", weights_only=False).get("epoch")
    if epoch is None:
        return {}
    run_dir = ckpt.parent.parent
    out: dict[Path, list[dict[str, str]]] = {}
    for depth in range(1, _DEPTH + 1):
        for path in run_dir.glob("/".join(["*"] * depth) + "/" + METRICS_FILE):
            rows = _rows_up_to(path, int(epoch))
            if rows:
                out[path.parent.relative_to(run_dir)] = rows
    return out


def _rows_up_to(path: Path, epoch: int) -> list[dict[str, str]]:
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError):
        return []  # an unreadable log is not worth failing the resumed run for
    kept = []
    for row in rows:
        try:
            row_epoch = int(float(row.get("epoch") or "nan"))
        except ValueError:
            continue  # no epoch: the end-of-run row of a run that finished, not a training epoch
        if row_epoch <= epoch:
            kept.append({k: v for k, v in row.items() if k and v not in (None, "")})
    return kept


def continue_csv_loggers(loggers: list[Any], out_dir: Path, rows: dict[Path, list[dict[str, str]]]) -> int:
    """Write the earlier rows at the head of each CSV logger whose folder (relative to ``out_dir``) had them;
    how many rows were carried."""
    carried = 0
    if not rows:
        return carried
    for logger in loggers:
        if type(logger).__name__ != "CSVLogger":
            continue
        try:
            folder = Path(logger.log_dir).resolve().relative_to(Path(out_dir).resolve())
        except ValueError:
            continue  # a CSV logger writing outside the run dir has no earlier rows of this run
        earlier = rows.get(folder)
        if earlier:
            writer = logger.experiment
            writer.metrics[:0] = [dict(r) for r in earlier]
            writer.save()
            carried += len(earlier)
    return carried
