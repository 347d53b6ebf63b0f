"""Subnormal floats on the CPU: flushed to zero while genarch trains or predicts.

Weight decay pulls the weights of filters that stopped learning towards zero until they fall below float32's
smallest normal number (1.2e-38); CPUs compute with such subnormal numbers in microcode, and a convolution
that meets them runs an order of magnitude slower. A real case: after ten epochs on FOXA1_HepG2 (full
protocol), 16 of ``tfbs_found``'s weight and BatchNorm tensors held subnormals (up to 32% of one) and a
training step on one thread took 18x as long as with them flushed (``python -m experiments.bench_subnormals``;
experiments/results/throughput_log.md). Flushing zeroes only float32 values below 1.2e-38 (float64: 2.2e-308)
and treats such inputs as zero; no loss, metric or prediction genarch reports can see it.

The mode belongs to a CPU thread, and a new thread starts with the mode of the thread that starts it. So
genarch's command lines (``python -m genarch``, ``genarch.predict``, ``genarch.interpret``) set it first thing,
before torch starts its worker threads, and every thread of the process flushes. In-process (a notebook, a
test), training and prediction flush in the calling thread while they run (:func:`flushing_subnormals`, which
then puts back the caller's mode: the mode also applies to plain Python and numpy floats); torch's worker
threads keep the mode they started with, so a caller computing on several threads calls
:func:`flush_subnormals` before its first torch operation."""

import sys
from contextlib import contextmanager
from typing import Iterator

import torch


def flush_subnormals() -> bool:
    """Treat subnormal inputs and results as zero in the calling thread's CPU math (x86 with SSE3, ARM64).
    Returns whether the CPU supports it."""
    return bool(torch.set_flush_denormal(True))


def subnormals_flushed() -> bool:
    """Whether the calling thread flushes subnormals now (half the smallest normal float64 comes out zero)."""
    smallest = sys.float_info.min
    return smallest / 2.0 == 0.0


@contextmanager
def flushing_subnormals() -> Iterator[bool]:
    """:func:`flush_subnormals` for the duration of the block, then the caller's mode again (in-process callers,
    notebooks and tests, keep IEEE subnormals outside a training). Yields whether the CPU supports it."""
    was_flushing = subnormals_flushed()
    supported = flush_subnormals()
    try:
        yield supported
    finally:
        if not was_flushing:
            torch.set_flush_denormal(False)
