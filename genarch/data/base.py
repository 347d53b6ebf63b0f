"""The one interface every dataset implements: arrays of one-hot sequences and targets.

A dataset is a Hydra config group option (``conf/dataset/<name>.yaml``) whose ``_target_`` is a
class with a ``load() -> DataBundle`` method. Sequences are stored compactly as ``uint8`` arrays of
shape ``(N, 4, L)`` (rows A, C, G, T) until a batch is made; :func:`to_float` turns a batch into the
float tensor a model reads. An ``N`` base is either all-zero or all-one in its column: all-one
columns become 0.25 in :func:`to_float`, all-zero columns (``N`` as zeros, or padding) stay 0.
"""

from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

import numpy as np

TASKS = ("binary", "regression")


@dataclass
class ArraySplit:
    x: np.ndarray  # uint8 (N, 4, L)
    y: np.ndarray  # float32 (N, T)
    ids: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if self.x.ndim != 3 or self.x.shape[1] != 4:
            raise ValueError(f"sequences must have shape (N, 4, L), got {self.x.shape}")
        if self.y.ndim == 1:
            self.y = self.y[:, None]
        if len(self.x) != len(self.y):
            raise ValueError(f"{len(self.x)} sequences but {len(self.y)} targets")

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, index: np.ndarray) -> "ArraySplit":
        return ArraySplit(self.x[index], self.y[index], None if self.ids is None else self.ids[index])


@dataclass
class DataBundle:
    """Train / validation / test splits of one dataset, plus what a model needs to know about it."""

    train: ArraySplit
    val: ArraySplit
    test: Optional[ArraySplit]
    task: str
    target_names: list[str]
    name: str = "dataset"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")

    @property
    def seq_len(self) -> int:
        return int(self.train.x.shape[2])

    @property
    def n_outputs(self) -> int:
        return int(self.train.y.shape[1])


class Dataset(Protocol):
    def load(self) -> DataBundle: ...


def to_float(x: "np.ndarray | Any") -> Any:
    """uint8 one-hot batch -> float32, turning all-one ``N`` columns into 0.25 each."""
    import torch

    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if x.is_floating_point():  # already converted by the batcher
        return x
    xf = x.to(torch.float32)
    column_sum = xf.sum(dim=1, keepdim=True)
    return torch.where(column_sum > 1, xf / column_sum.clamp(min=1), xf)
