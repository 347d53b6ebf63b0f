"""Batches straight from the uint8 arrays: one fancy-index per batch, no per-sample collation.

A ``DataLoader`` over a map-style dataset indexes and stacks every sample in Python; on 101-bp
sequences that costs more than a small model's forward pass. Here a sampler yields index arrays and
the dataset answers a whole batch at once.

On a GPU (``device``), a split that fits in a share of the free GPU memory is copied there once, as
uint8 one-hot, and each batch is indexed and expanded to float on the device (the epoch's order goes
over once, as one index tensor); a split that does not fit stays in host memory and goes over batch
by batch as uint8, pinned by the DataLoader, through Lightning's non-blocking copy, and the module
expands it to float on the device. On the CPU nothing changes."""

import logging
from typing import Iterator, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from genarch.data.base import ArraySplit, to_float
from genarch.training.subnormals import flushing_subnormals

log = logging.getLogger(__name__)
RESIDENT_SHARE = 0.5  # a split goes to the GPU whole when it takes at most this share of its free memory


class BatchArrays(Dataset):
    """Answers a whole batch per index tensor, as float one-hot. Whether the split holds any
    all-one ``N`` columns (which :func:`to_float` turns into 0.25) is checked once, so a split
    without them pays only the uint8 -> float cast per batch."""

    def __init__(self, split: ArraySplit, device: Optional[torch.device] = None, pinned: bool = False) -> None:
        self.x = torch.from_numpy(np.ascontiguousarray(split.x))
        self.y = torch.from_numpy(np.ascontiguousarray(split.y, dtype=np.float32))
        self.has_n_columns = bool(len(split)) and bool((split.x.sum(axis=1, dtype=np.uint8) > 1).any())
        self.on_device = device is not None and device.type != "cpu" and not pinned
        # host batches cross as uint8 (4x fewer bytes), pinned by the DataLoader (a gathered batch is a new
        # tensor: pinning the whole split would not pin it), and the module expands them on the device
        self.keep_uint8 = pinned
        if self.on_device:
            self.x, self.y = self.x.to(device), self.y.to(device)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index):  # index: a LongTensor of batch positions
        x = self.x[index]
        if self.keep_uint8:
            return x, self.y[index]
        return (to_float(x) if self.has_n_columns else x.float()), self.y[index]


class ShuffledBatches(Sampler):
    """Yields index tensors of one batch each; reshuffled each epoch from a seeded generator.

    When training (``shuffle``), a last batch of a single record is merged into the one before it:
    BatchNorm cannot normalise one sample (``model.head.batchnorm``, or a trunk reduced to one
    position), so ``n_train % batch_size == 1`` would otherwise fail in the first epoch."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int = 0,
                 device: Optional[torch.device] = None) -> None:
        self.n, self.batch_size, self.shuffle = n, batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)  # on the CPU: the same order on every device
        self.device = device  # where the index tensors go (the device holding the split), once per epoch

    def __iter__(self) -> Iterator[torch.Tensor]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else torch.arange(self.n)
        if self.device is not None:
            order = order.to(self.device)
        batches = list(order.split(self.batch_size))
        if self._merge_last():
            batches[-2:] = [torch.cat(batches[-2:])]
        yield from batches

    def _merge_last(self) -> bool:
        return self.shuffle and self.n > self.batch_size and self.n % self.batch_size == 1

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size - int(self._merge_last())


def make_loader(split: ArraySplit, batch_size: int, shuffle: bool, seed: Optional[int] = 0,
                device: Optional[torch.device] = None) -> DataLoader:
    """Batches of ``split``; ``device`` (a GPU) keeps the split on it when it fits (:func:`fits_on`)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
    gpu = device is not None and device.type != "cpu"
    resident = gpu and fits_on(device, split)
    dataset = BatchArrays(split, device if resident else None, pinned=gpu and not resident)
    sampler = ShuffledBatches(len(split), batch_size, shuffle, seed or 0, device if resident else None)
    # batch_size=None: the sampler's items are whole batches, passed through without collation
    return DataLoader(dataset, batch_size=None, sampler=sampler, num_workers=0,
                      pin_memory=gpu and not resident and device.type == "cuda")


def split_bytes(split: ArraySplit) -> int:
    """Bytes of a split on the device: uint8 one-hot, float32 targets, int64 epoch order."""
    return int(np.asarray(split.x).nbytes) + 4 * int(np.asarray(split.y).size) + 8 * len(split)


def fits_on(device: torch.device, split: ArraySplit, share: float = RESIDENT_SHARE) -> bool:
    """Whether ``split`` takes at most ``share`` of ``device``'s free memory (the rest is the model's)."""
    if device.type != "cuda":
        return device.type == "mps"
    free, _total = torch.cuda.mem_get_info(device)
    fits = split_bytes(split) <= share * free
    if not fits:
        log.info("a split of %.1f GiB does not fit in %.0f%% of the %.1f GiB free on %s: batches go over from "
                 "pinned host memory", split_bytes(split) / 2**30, 100 * share, free / 2**30, device)
    return fits


@torch.no_grad()
def predict_on(device: torch.device, net: torch.nn.Module, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Outputs of ``net`` on ``x`` in batches on ``device`` (the uint8 input goes over once when it fits,
    else per batch), gathered on the device and copied back once."""
    home = next(net.parameters(), torch.empty(0)).device
    net.eval().to(device)
    x_all = torch.from_numpy(np.ascontiguousarray(x))
    if device.type != "cpu" and fits_on(device, ArraySplit(x, np.zeros((len(x), 0), dtype=np.float32))):
        x_all = x_all.to(device)
    elif device.type == "cuda":
        x_all = x_all.pin_memory()
    with flushing_subnormals():  # subnormal weights slow CPU math (genarch.training.subnormals)
        outputs = [net(to_float(x_all[i : i + batch_size].to(device, non_blocking=True)))
                   for i in range(0, len(x_all), batch_size)]
    result = torch.cat(outputs).float().cpu().numpy() if outputs else np.zeros((0, 1), dtype=np.float32)
    net.to(home)  # the caller's network stays where it was (its saved state on the CPU)
    return result
