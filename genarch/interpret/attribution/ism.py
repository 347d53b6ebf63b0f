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

    def __init__(self, batch_size: int = 64, peak_window: int = 5, forward_batch: int = 4096) -> None:
        super().__init__(batch_size, peak_window)
        self.forward_batch = int(forward_batch)

    @torch.no_grad()
    def _batch(self, net: nn.Module, x: torch.Tensor, output: int):
        n, _, length = x.shape
        ref = net(x)[:, output]
        # every single-base substitution: (n, L, 4) variants, one-hot base B at position b
        eye = torch.eye(4, dtype=x.dtype)
        variants = x[:, None, None, :, :].repeat(1, length, 4, 1, 1)  # (n, L, 4, 4, L)
        for b in range(length):
            variants[:, b, :, :, b] = eye  # variant B at position b carries base B there
        flat = variants.reshape(n * length * 4, 4, length)
        preds = torch.cat([net(flat[i:i + self.forward_batch])[:, output]
                           for i in range(0, len(flat), self.forward_batch)]).reshape(n, length, 4)
        observed = x.transpose(1, 2)  # (n, L, 4)
        is_ref = observed > 0.5
        alt = ~is_ref
        n_alt = alt.sum(dim=2).clamp(min=1)
        mean_alt = (preds * alt).sum(dim=2) / n_alt
        return (ref[:, None] - mean_alt).numpy().astype(np.float64), None
