"""Map positions of a network's pooled feature track back to input bases.

``GenomicNet.features(x)`` has length ``L'`` which may differ from the input length ``L``: a stride-s
reduction divides it by s, explicit 'valid' convolutions shorten it, even kernels with 'same'
padding lengthen it by one. Receptive-field arithmetic over the layers, in order, gives for feature
position ``i``

    centre(i) = start + i * jump          (in input-base coordinates, may be fractional)
    field     = receptive-field width      (bases that can influence position i)

with, for each Conv1d / MaxPool1d / AvgPool1d layer of kernel k, stride s, padding p, dilation d:

    start += ((k - 1) * d / 2 - p) * jump;   field += (k - 1) * d * jump;   jump *= s

Position ``i`` *owns* the ``jump`` bases centred on ``centre(i)`` (for a stride-s reduction after
'same' convs: bases ``[i*s, (i+1)*s)``); a weight at position ``i`` is spread evenly over those bases
when a per-base track is needed, so per-base attention still sums to 1. Its receptive field is
``field`` bases wide around the same centre.

Layers that keep positions (BatchNorm, activations, dropout, identity, RNNs that emit the whole
sequence) do not change the mapping; a bidirectional RNN mixes context from the whole sequence into
every position, which the mapping cannot express (positions keep their own centre). A module this
walk does not know (e.g. an upsampling layer) switches to a linear stretch,
``centre(i) = (i + 0.5) * L / L' - 0.5``, recorded as ``exact=False``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

_NEUTRAL = (nn.BatchNorm1d, nn.Identity, nn.Dropout, nn.ReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh,
            nn.LeakyReLU, nn.SiLU, nn.Softplus, nn.PReLU, nn.SELU, nn.Hardtanh)


@dataclass(frozen=True)
class PositionMap:
    """Feature position -> input bases. ``centre(i) = start + i * jump``."""

    start: float
    jump: float
    field: float
    input_length: int
    feature_length: int
    exact: bool = True

    def centres(self) -> np.ndarray:
        """Centre base (fractional) of every feature position, ``(L',)``."""
        return self.start + self.jump * np.arange(self.feature_length)

    def peak_base(self, index: "np.ndarray | int") -> np.ndarray:
        """Integer base at the centre of feature position(s) ``index``, clipped to the sequence."""
        centre = self.start + self.jump * np.asarray(index, dtype=float)
        return np.clip(np.floor(centre + 0.5), 0, self.input_length - 1).astype(int)

    def owned_bases(self, index: int) -> tuple[int, int]:
        """Half-open range of bases ``[lo, hi)`` that position ``index`` stands for."""
        width = max(1.0, self.jump)
        lo = self.start + self.jump * index - (width - 1) / 2
        lo_i = int(np.clip(np.floor(lo + 0.5), 0, self.input_length - 1))
        hi_i = int(np.clip(lo_i + int(round(width)), lo_i + 1, self.input_length))
        return lo_i, hi_i

    def receptive_field(self, index: int) -> tuple[int, int]:
        """Half-open range of bases ``[lo, hi)`` that can influence position ``index``."""
        centre = self.start + self.jump * index
        lo = int(np.clip(np.ceil(centre - (self.field - 1) / 2), 0, self.input_length))
        hi = int(np.clip(np.floor(centre + (self.field - 1) / 2) + 1, lo, self.input_length))
        return lo, hi

    def to_bases(self, weights: np.ndarray) -> np.ndarray:
        """Spread per-position weights ``(N, L')`` over input bases ``(N, L)``, conserving each row's sum.

        Every base gets the weights of the positions that own it, divided by the number of bases
        each position owns; bases owned by no position (cut off by a 'valid' conv or a
        non-divisible stride) get 0."""
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape[-1] != self.feature_length:
            raise ValueError(f"weights have {weights.shape[-1]} positions, the map expects {self.feature_length}")
        matrix = np.zeros((self.feature_length, self.input_length))
        for i in range(self.feature_length):
            lo, hi = self.owned_bases(i)
            matrix[i, lo:hi] = 1.0 / (hi - lo)
        return weights @ matrix


def _layer_params(module: nn.Module) -> "tuple[int, int, int, int] | None":
    """(kernel, stride, padding, dilation) of a position-changing layer, or None if it keeps positions."""
    if isinstance(module, nn.Conv1d):
        pad = module.padding
        if isinstance(pad, str):  # 'same' / 'valid'
            pad_v = (module.dilation[0] * (module.kernel_size[0] - 1)) // 2 if pad == "same" else 0
        else:
            pad_v = pad[0]
        return module.kernel_size[0], module.stride[0], pad_v, module.dilation[0]
    if isinstance(module, (nn.MaxPool1d, nn.AvgPool1d)):
        as_int = lambda v: int(v[0] if isinstance(v, (tuple, list)) else v)  # noqa: E731
        dilation = as_int(getattr(module, "dilation", 1))
        return as_int(module.kernel_size), as_int(module.stride), as_int(module.padding), dilation
    return None


def _walk(module: nn.Module, state: list[float]) -> bool:
    """Apply ``module``'s layers in forward order to ``state = [start, jump, field]``; False if unknown."""
    from genarch.model.blocks import ConvUnit, RecurrentBlock, ResidualBlock

    params = _layer_params(module)
    if params is not None:
        k, s, p, d = params
        start, jump, field = state
        state[0] = start + ((k - 1) * d / 2 - p) * jump
        state[1] = jump * s
        state[2] = field + (k - 1) * d * jump
        return True
    if isinstance(module, _NEUTRAL):
        return True
    if isinstance(module, RecurrentBlock):
        return module.output != "last"
    if isinstance(module, ResidualBlock):  # skip + two same-padded convs: the main path sets the field
        return _walk(module.conv1, state) and _walk(module.conv2, state)
    if isinstance(module, (nn.Sequential, ConvUnit)):
        return all(_walk(child, state) for child in module.children())
    if not list(module.children()) and not list(module.parameters()):
        # other parameter-free leaves are element-wise (genarch.model.activations, e.g. exp); an
        # upsampling or flattening leaf changes positions in a way this walk does not model
        return not isinstance(module, (nn.Upsample, nn.Flatten))
    return False


def position_map(net: nn.Module, input_length: int, feature_length: int) -> PositionMap:
    """The :class:`PositionMap` of a :class:`~genarch.model.builder.GenomicNet`'s ``features``."""
    state = [0.0, 1.0, 1.0]
    parts = [getattr(net, name) for name in ("trunk_before", "reduction", "trunk_after", "rnn") if hasattr(net, name)]
    exact = bool(parts) and all(_walk(part, state) for part in parts)
    if exact:
        pm = PositionMap(state[0], state[1], state[2], input_length, feature_length, True)
        # the analytic length must agree with what the network produced
        last_centre = pm.start + pm.jump * (feature_length - 1)
        if -pm.jump <= last_centre <= input_length - 1 + pm.jump:
            return pm
    jump = input_length / feature_length
    return PositionMap(jump / 2 - 0.5, jump, float(jump), input_length, feature_length, False)
