"""Padding masks: a sequence shorter than its dataset's length is padded with all-zero columns
(``genarch.data.encode``), and its prediction must not depend on how much padding it got.

The *span* of a sequence is everything from its first to its last informative column (a column
with any base set). Columns outside it are padding (or an ``N`` run at an end, which says nothing
either); columns inside it, ``N`` included, are the sequence. A network run with the span mask sets
the features outside the span back to zero after every layer (what a convolution's own zero
padding would show it), shrinks the mask where a layer shortens the track, and pools over the span
only. A batch with no padding takes the plain path, so fixed-length data without an ``N`` run at an
end (with ``n_value: 0``) computes exactly as before.

A sequence padded on the left (``length_mode: centre``, or a leading ``N`` run) would meet a strided
layer's windows at another phase than unpadded. Before the layers read it, it is moved left by its
span start modulo the network's total stride (:func:`align_phase`; the columns moved out are
padding, and they come back at the right end), so the span starts on a stride boundary as it does
unpadded. The features come out in those moved coordinates (at most ``total stride - 1`` bases off);
:class:`~genarch.interpret.attribution.AttentionAttribution` moves its maps back. Limit: a sequence
shorter than a layer's window (a 'valid' detector, a stride) is read whole, padding included.

Batch norm in training takes its batch statistics (and updates its running ones) from the positions
inside the spans only, so what a padded batch teaches it does not depend on how much padding the
batch got (:func:`batch_norm_masked`).
"""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def span_mask(x: torch.Tensor) -> Optional[torch.Tensor]:
    """``(batch, length)`` bool: True inside each sequence's span; None when every position is inside.
    A sequence with no informative column at all counts as all inside (there is nothing to mask to)."""
    informative = x.abs().sum(dim=1) > 0
    if bool(informative.all()):
        return None
    length = x.shape[-1]
    pos = torch.arange(length, device=x.device)
    first = torch.where(informative, pos, length).amin(dim=1)
    last = torch.where(informative, pos, -1).amax(dim=1)
    mask = (pos >= first[:, None]) & (pos <= last[:, None])
    mask[~informative.any(dim=1)] = True
    return None if bool(mask.all()) else mask


_WINDOWED = (nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d)


def _kernel_and_stride(layer: nn.Module) -> tuple[int, int]:
    kernel, stride = layer.kernel_size, layer.stride
    kernel = kernel[0] if isinstance(kernel, tuple) else kernel
    stride = stride[0] if isinstance(stride, tuple) else stride
    return int(kernel), int(stride or kernel)


def total_stride(modules) -> int:
    """The product of the strides of every windowed layer (convolution, pooling) in ``modules``: the
    number of input bases one step of the resulting feature track stands for."""
    stride = 1
    for module in modules:
        for sub in module.modules():
            if isinstance(sub, _WINDOWED):
                stride *= _kernel_and_stride(sub)[1]
    return stride


def align_phase(x: torch.Tensor, mask: Optional[torch.Tensor], period: int
                ) -> tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
    """``x`` and ``mask`` with each sequence moved left by its span start modulo ``period`` (a
    network's total stride), and those shifts ``(batch,)``; ``x`` and ``mask`` as they are and None
    when no sequence needs moving. The columns moved out at the left lie before the span (padding) and
    come back at the right end, where they are padding again: nothing of a sequence is lost."""
    if mask is None or period <= 1:
        return x, mask, None
    first = mask.to(torch.uint8).argmax(dim=1)  # the first position inside (every row has one)
    shift = first % period
    if not bool(shift.any()):
        return x, mask, None
    length = x.shape[-1]
    index = (torch.arange(length, device=x.device)[None, :] + shift[:, None]) % length
    x = torch.gather(x, 2, index[:, None, :].expand(-1, x.shape[1], -1))
    return x, torch.gather(mask, 1, index), shift


def _window(module: nn.Module) -> tuple[int, int]:
    """Kernel and stride of the first windowed layer in ``module`` (a pooling or a convolution)."""
    for sub in module.modules():
        if isinstance(sub, _WINDOWED):
            return _kernel_and_stride(sub)
    raise ValueError(f"{type(module).__name__} changes the track length but has no window to follow")


def shrink(mask: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """The mask after a 'valid' window of ``kernel`` with ``stride``: an output position is inside
    when its whole window is (an unpadded sequence has no output where the window would overhang)."""
    outside = (~mask).float()[:, None, :]
    return F.max_pool1d(outside, kernel, stride)[:, 0, :] == 0


def batch_norm_masked(bn: nn.Module, h: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """``bn`` (a BatchNorm1d over ``(batch, channels, length)``, or anything else, applied as is) with
    batch statistics taken over the positions inside ``mask`` only: in training they normalise the
    batch and move the running statistics as ``nn.BatchNorm1d`` does (momentum, or the cumulative
    average when momentum is None; the running variance unbiased). In evaluation, or with no mask,
    it is ``bn(h)`` itself."""
    if mask is None or h.dim() != 3 or not isinstance(bn, nn.BatchNorm1d) \
            or not (bn.training or bn.running_mean is None):
        return bn(h)
    count = int(mask.sum())
    if count <= 1:  # as nn.BatchNorm1d refuses batch statistics from one value
        raise ValueError(f"Expected more than 1 value per channel when training, got {count} position(s) inside the "
                         "spans of this batch")
    # statistics in float32 at least: a half-precision count or sum overflows past 65,504 positions
    work = h.float() if h.dtype in (torch.float16, torch.bfloat16) else h
    keep = mask[:, None, :].to(work.dtype)
    mean = (work * keep).sum(dim=(0, 2)) / count
    var = (((work - mean[None, :, None]) ** 2) * keep).sum(dim=(0, 2)) / count
    if bn.training and bn.track_running_stats and bn.running_mean is not None:
        with torch.no_grad():
            bn.num_batches_tracked.add_(1)
            factor = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
            bn.running_mean.mul_(1 - factor).add_(mean.detach().to(bn.running_mean.dtype), alpha=factor)
            unbiased = var.detach() * (count / max(count - 1, 1))
            bn.running_var.mul_(1 - factor).add_(unbiased.to(bn.running_var.dtype), alpha=factor)
    out = (work - mean[None, :, None]) * torch.rsqrt(var[None, :, None] + bn.eps)
    if bn.affine:
        out = out * bn.weight[None, :, None] + bn.bias[None, :, None]
    return out.to(h.dtype)


def run_masked(modules, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``modules`` one after another with the features outside the span set to zero after each. A
    ``nn.Sequential`` (a conv unit, a strided reduction) is run layer by layer, so that its batch norm
    reads the span only."""
    for module in modules:
        if isinstance(module, nn.Sequential):
            h, mask = run_masked(module, h, mask)
            continue
        # a batch norm takes its statistics from the span; any other layer runs as is
        out = module(h, mask) if getattr(module, "takes_mask", False) else batch_norm_masked(module, h, mask)
        if out.shape[-1] != h.shape[-1]:
            mask = shrink(mask, *_window(module))
            if mask.shape[-1] != out.shape[-1]:
                raise ValueError(f"{type(module).__name__}: mask length {mask.shape[-1]} != "
                                 f"track length {out.shape[-1]}")
            # a span shorter than this layer's window leaves no position: that sequence is read whole,
            # padding included, as without masks (it is shorter than the network can read)
            mask[~mask.any(dim=1)] = True
        h = out * mask[:, None, :].to(out.dtype)
    return h, mask
