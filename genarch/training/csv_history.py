"""A resumed run keeps the per-epoch CSV rows of the run it continues.

Lightning's CSVLogger deletes a ``metrics.csv`` it finds in its folder when its writer starts, so a run
resumed from ``trainer.resume_from`` (a grid cell killed mid-training, continued in the same run dir; a
promoted multi-fidelity rung, continued from the previous rung's job dir) would log only the epochs trained
after the resume. :func:`continue_csv` is called for each logger as it is built, before anything touches
its writer: it reads the rows up to the checkpoint's epoch (later rows belong to an epoch the resumed run
trains again) from the logger's own file, else from the same folder of the checkpoint's run dir, and
writes them at the head of the new file at once, so a second kill loses them neither."""

import csv
from pathlib import Path
from typing import Any, Optional

import torch

from genarch.training.checkpoints import CKPT_DIR

METRICS_FILE = "metrics.csv"


def continue_csv(logger: Any, out_dir: Path, resume_from: Optional[str]) -> int:
    """Write the earlier epochs' rows at the head of ``logger``'s file (a CSVLogger of a resumed run; any
    other logger is left alone); how many rows were carried."""
    if resume_from is None or type(logger).__name__ != "CSVLogger":
        return 0
    rows = earlier_rows(Path(logger.log_dir), Path(out_dir), Path(str(resume_from)))
    if rows:
        writer = logger.experiment  # created here: it deletes the file the rows were read from
        writer.metrics[:0] = rows
        writer.save()
    return len(rows)


def earlier_rows(log_dir: Path, out_dir: Path, ckpt: Path) -> list[dict[str, str]]:
    """The rows up to ``ckpt``'s epoch: from ``log_dir``'s own metrics.csv (a run resumed in its own dir),
    else from the same folder under the run dir that wrote ``ckpt`` (``<run>/checkpoints/x.ckpt``)."""
    if ckpt.parent.name != CKPT_DIR:
        return []  # not a genarch run's checkpoint: no run dir to read a log from
    source = log_dir / METRICS_FILE
    if not source.exists():
        try:
            source = ckpt.parent.parent / log_dir.resolve().relative_to(out_dir.resolve()) / METRICS_FILE
        except ValueError:
            return []  # a log kept outside the run dir has no counterpart in the checkpoint's run
    if not source.exists():
        return []
    epoch = torch.load(ckpt, map_location="cpu", weights_only=False).get("epoch")
    return [] if epoch is None else rows_up_to(source, int(epoch))


def rows_up_to(path: Path, epoch: int) -> list[dict[str, str]]:
    """The rows of a Lightning metrics.csv logged in epochs ``<= epoch``, empty cells left out (a row
    without an epoch, the end-of-run metrics of a run that finished, is not a training epoch's)."""
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
            continue
        if row_epoch <= epoch:
            kept.append({k: v for k, v in row.items() if k and v not in (None, "")})
    return kept
