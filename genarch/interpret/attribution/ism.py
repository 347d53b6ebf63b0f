"""In-silico mutagenesis: the output change when each base is mutated.

score(b) = f(x) - mean over the 3 other bases B of f(x with base b set to B): positive where the
observed base supports the output. ``3 * L`` forward passes per sequence, batched. Binary models are
scored on the logit.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genarch.interpret.attribution.base import Attribution


class InSilicoMutagenesis(Attribution):
    name = "ism"

    def __init__(self, batch_size: int = 64, peak_window: int = 5, forward_batch: int = 4096,
                 max_bytes: float = 2 ** 28) -> None:
        super().__init__(batch_size, peak_window)
        self.forward_batch, self.max_bytes = int(forward_batch), float(max_bytes)

    @torch.no_grad()
    def _batch(self, net: nn.Module, x: torch.Tensor, output: int):
        n, _, length = x.shape
        ref = net(x)[:, output]
        eye = torch.eye(4, dtype=x.dtype)
        # variants are built a block of positions at a time so memory stays near `max_bytes`
        block = max(1, int(self.max_bytes // (n * 16 * length * 4)))
        preds = torch.empty(n, length, 4)
        for p0 in range(0, length, block):
            p1 = min(length, p0 + block)
            # (n, P, 4, 4, L): variant B at position b carries base B there
            variants = x[:, None, None, :, :].repeat(1, p1 - p0, 4, 1, 1)
            for b in range(p0, p1):
                variants[:, b - p0, :, :, b] = eye
            flat = variants.reshape(-1, 4, length)
            preds[:, p0:p1] = torch.cat([net(flat[i:i + self.forward_batch])[:, output]
                                         for i in range(0, len(flat), self.forward_batch)]).reshape(n, p1 - p0, 4)
        alt = x.transpose(1, 2) <= 0.5                     # (n, L, 4): the bases a substitution can write
        mean_alt = (preds * alt).sum(dim=2) / alt.sum(dim=2).clamp(min=1)
        return (ref[:, None] - mean_alt).numpy().astype(np.float64), None, None
