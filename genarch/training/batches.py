"""Batches straight from the uint8 arrays: one fancy-index per batch, no per-sample collation.

A ``DataLoader`` over a map-style dataset indexes and stacks every sample in Python; on 101-bp
sequences that costs more than a small model's forward pass. Here a sampler yields index arrays and
the dataset answers a whole batch at once."""

from typing import Iterator, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from genarch.data.base import ArraySplit, to_float


class BatchArrays(Dataset):
    """Answers a whole batch per index tensor, as float one-hot. Whether the split holds any
    all-one ``N`` columns (which :func:`to_float` turns into 0.25) is checked once, so a split
    without them pays only the uint8 -> float cast per batch."""

    def __init__(self, split: ArraySplit) -> None:
        self.x = torch.from_numpy(np.ascontiguousarray(split.x))
        self.y = torch.from_numpy(np.ascontiguousarray(split.y, dtype=np.float32))
        self.has_n_columns = bool(len(split)) and bool((split.x.sum(axis=1, dtype=np.uint8) > 1).any())

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index):  # index: a LongTensor of batch positions
        x = self.x[index]
        return (to_float(x) if self.has_n_columns else x.float()), self.y[index]


class ShuffledBatches(Sampler):
    """Yields index tensors of one batch each; reshuffled each epoch from a seeded generator.

    When training (``shuffle``), a last batch of a single record is merged into the one before it:
    BatchNorm cannot normalise one sample (``model.head.batchnorm``, or a trunk reduced to one
    position), so ``n_train % batch_size == 1`` would otherwise fail in the first epoch."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int = 0) -> None:
        self.n, self.batch_size, self.shuffle = n, batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[torch.Tensor]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else torch.arange(self.n)
        batches = list(order.split(self.batch_size))
        if self._merge_last():
            batches[-2:] = [torch.cat(batches[-2:])]
        yield from batches

    def _merge_last(self) -> bool:
        return self.shuffle and self.n > self.batch_size and self.n % self.batch_size == 1

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size - int(self._merge_last())


def make_loader(split: ArraySplit, batch_size: int, shuffle: bool, seed: Optional[int] = 0) -> DataLoader:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
    sampler = ShuffledBatches(len(split), batch_size, shuffle, seed or 0)
    # batch_size=None: the sampler's items are whole batches, passed through without collation
    return DataLoader(BatchArrays(split), batch_size=None, sampler=sampler, num_workers=0)
