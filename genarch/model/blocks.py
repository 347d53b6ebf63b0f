"""Blocks of the search space: conv trunk, residual blocks, reduction, recurrent layer, global
pooling and the fully connected head. Every block maps ``(batch, channels, length)`` tensors
except the head, which maps ``(batch, features)``."""

import torch
from torch import nn

from genarch.model.activations import make_activation
from genarch.model.attention import SoftAttentionPool
from genarch.model.masking import batch_norm_masked, run_masked


class ConvUnit(nn.Sequential):
    """Conv1d ('same' padding) -> optional BatchNorm -> activation."""

    def __init__(self, c_in: int, c_out: int, kernel: int, activation: str, batchnorm: bool) -> None:
        layers: list[nn.Module] = [nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2, bias=not batchnorm)]
        if batchnorm:
            layers.append(nn.BatchNorm1d(c_out))
        layers.append(make_activation(activation))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """Two convolutions with a skip connection (He et al. 2016), channels preserved."""

    takes_mask = True  # padding is set back to zero between its two convolutions too

    def __init__(self, channels: int, kernel: int, activation: str, batchnorm: bool) -> None:
        super().__init__()
        self.conv1 = ConvUnit(channels, channels, kernel, activation, batchnorm)
        self.conv2 = nn.Conv1d(channels, channels, kernel, padding=kernel // 2, bias=not batchnorm)
        self.bn2 = nn.BatchNorm1d(channels) if batchnorm else nn.Identity()
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor, mask: "torch.Tensor | None" = None) -> torch.Tensor:
        if mask is None:
            return self.act(x + self.bn2(self.conv2(self.conv1(x))))
        inner, _ = run_masked(self.conv1, x, mask)  # its batch norm reads the span only, as bn2 does
        return self.act(x + batch_norm_masked(self.bn2, self.conv2(inner), mask))


def make_reduction(kind: str, stride: int, channels: int, activation: str, batchnorm: bool) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "maxpool":
        return nn.MaxPool1d(stride, stride)
    if kind == "meanpool":
        return nn.AvgPool1d(stride, stride)
    if kind == "strided_conv":
        layers: list[nn.Module] = [nn.Conv1d(channels, channels, stride, stride=stride, bias=not batchnorm)]
        if batchnorm:
            layers.append(nn.BatchNorm1d(channels))
        layers.append(make_activation(activation))
        return nn.Sequential(*layers)
    raise ValueError(f"unknown reduction {kind!r}")


def reduced_length(kind: str, stride: int, length: int) -> int:
    return length if kind == "none" else length // stride


class RecurrentBlock(nn.Module):
    """Stacked simple RNN / LSTM / GRU over positions; emits the sequence or the last state."""

    CELLS = {"simple": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    def __init__(self, kind: str, c_in: int, units: int, layers: int, bidirectional: bool, output: str) -> None:
        super().__init__()
        self.rnn = self.CELLS[kind](c_in, units, num_layers=layers, batch_first=True, bidirectional=bidirectional)
        self.output = output
        self.out_channels = units * (2 if bidirectional else 1)

    takes_mask = True  # runs over each sequence's span only (packed), wherever the span lies

    def forward(self, x: torch.Tensor, mask: "torch.Tensor | None" = None) -> torch.Tensor:
        if mask is not None:
            return self._over_spans(x, mask)
        seq, _ = self.rnn(x.transpose(1, 2))  # (batch, length, features)
        if self.output == "last":
            return self._last(seq, torch.full((len(seq),), seq.shape[1], device=seq.device))
        return seq.transpose(1, 2)

    def _last(self, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The state after each sequence's last position (and, bidirectional, the backward state at its first)."""
        last = seq[torch.arange(len(seq), device=seq.device), lengths - 1]
        if self.rnn.bidirectional:
            half = seq.shape[-1] // 2
            return torch.cat([last[:, :half], seq[:, 0, half:]], dim=-1)[:, :, None]
        return last[:, :, None]

    def _over_spans(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, channels, length = x.shape
        pos = torch.arange(length, device=x.device)
        start = torch.where(mask, pos, length).amin(dim=1)
        lengths = mask.sum(dim=1)
        # move each span to the front, run the packed spans, move the outputs back
        front = (start[:, None] + pos[None, :]).clamp(max=length - 1)
        aligned = torch.gather(x, 2, front[:, None, :].expand(batch, channels, length)).transpose(1, 2)
        packed = nn.utils.rnn.pack_padded_sequence(aligned, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        seq, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=length)
        if self.output == "last":
            return self._last(seq, lengths)
        back = (pos[None, :] - start[:, None]).clamp(0, length - 1)
        return torch.gather(seq, 1, back[:, :, None].expand(batch, length, seq.shape[-1])).transpose(1, 2)


class GlobalPool(nn.Module):
    """Global reduction over positions: flatten, soft attention, max or mean."""

    def __init__(self, kind: str, channels: int, hidden: int = 32, kernel_size: int = 1, out_kernel_size: int = 1,
                 conv_bias: bool = True) -> None:
        super().__init__()
        self.kind = kind
        self.attention = (SoftAttentionPool(channels, hidden, kernel_size, out_kernel_size, conv_bias)
                          if kind == "attention" else None)

    def forward(self, h: torch.Tensor, mask: "torch.Tensor | None" = None) -> torch.Tensor:
        """Pool ``h``; with a span ``mask`` (``(batch, length)`` bool) over the span only."""
        if self.kind == "flatten":
            return h.flatten(1)
        if self.kind == "attention":
            return self.attention(h, mask)
        if self.kind == "max":
            return (h if mask is None else h.masked_fill(~mask[:, None, :], float("-inf"))).amax(dim=-1)
        if self.kind == "mean":
            if mask is None:
                return h.mean(dim=-1)
            keep = mask[:, None, :].to(h.dtype)
            return (h * keep).sum(dim=-1) / keep.sum(dim=-1)
        raise ValueError(f"unknown global pooling {self.kind!r}")


class Head(nn.Sequential):
    """``layers`` x (Linear -> optional BatchNorm -> activation -> Dropout), then Linear to outputs."""

    def __init__(self, features: int, n_outputs: int, layers: int, units: int, activation: str,
                 batchnorm: bool, dropout: float) -> None:
        modules: list[nn.Module] = []
        width = features
        for _ in range(layers):
            modules.append(nn.Linear(width, units, bias=not batchnorm))
            if batchnorm:
                modules.append(nn.BatchNorm1d(units))
            modules.append(make_activation(activation))
            if dropout > 0:
                modules.append(nn.Dropout(dropout))
            width = units
        if layers == 0 and dropout > 0:
            modules.append(nn.Dropout(dropout))
        modules.append(nn.Linear(width, n_outputs))
        super().__init__(*modules)
