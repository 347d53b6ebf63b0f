"""Nonlinearities of the search space, by config name."""

import torch
from torch import nn


class Exponential(nn.Module):
    """``exp(x)``: Koo & Ploenzke (2021, Nat Mach Intell; preprint 2019) found exponential
    first-layer activations make convolutional filters more interpretable motif detectors."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)


ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    # Lasagne's very_leaky_rectify, the library the Genetic Architect authors used: leakiness 1/3
    "very_leaky_relu": lambda: nn.LeakyReLU(1.0 / 3.0),
    "elu": lambda: nn.ELU(),
    "exp": lambda: Exponential(),
}


def make_activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None
