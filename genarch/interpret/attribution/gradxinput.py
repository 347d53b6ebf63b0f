"""Gradient x input (Shrikumar et al. 2016) for models without attention.

score(b) = d output / d x[base at b, b] * x[base at b, b]: the first-order contribution of the
observed base. Binary models are explained on the logit (before the sigmoid), so saturated
predictions still give gradients.
"""

from __future__ import annotations

import torch
from torch import nn

from genarch.interpret.attribution.base import Attribution


class GradientTimesInput(Attribution):
    name = "gradxinput"

    def _batch(self, net: nn.Module, x: torch.Tensor, output: int):
        x = x.clone().requires_grad_(True)
        with torch.enable_grad():
            out = net(x)[:, output]
            (grad,) = torch.autograd.grad(out.sum(), x)
        return (grad * x).sum(dim=1).detach().numpy().astype("float64"), None, None
