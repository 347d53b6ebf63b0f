"""Subnormal floats on the CPU: flushed to zero while genarch trains or predicts.

Weight decay pulls the weights of filters that stopped learning towards zero until they fall below float32's
smallest normal number (1.2e-38); x86 CPUs compute with such subnormal numbers in microcode, and a convolution
that meets them runs an order of magnitude slower. A real case: after nine epochs on FOXA1_HepG2 (full
protocol), 11-18% of ``tfbs_found``'s conv weights were subnormal and a training step on one thread took
16.6x as long as with subnormals flushed (``python -m experiments.bench_subnormals``; results/throughput_log.md).
Flushing changes only values below 1.2e-38, which no AUROC or loss can see. GPUs flush or run them at full
speed, so this matters for CPU runs only; it is a per-process (per-thread) switch of the floating-point unit."""

import torch


def flush_subnormals() -> bool:
    """Treat subnormal float32/float64 inputs and results as zero in this process's CPU math (x86 with SSE3;
    elsewhere a no-op). Returns whether the CPU supports it."""
    return bool(torch.set_flush_denormal(True))
