"""Build a network from the ``model`` config node: trunk -> reduction -> trunk -> rnn -> pooling -> head."""

from typing import Any, Mapping

import torch
from torch import nn

from genarch.model.activations import make_activation
from genarch.model.blocks import (
    ConvUnit, GlobalPool, Head, RecurrentBlock, ResidualBlock, make_reduction, reduced_length,
)
from genarch.model.masking import align_phase, run_masked, span_mask, total_stride
from genarch.model.validate import STRANDS_DEFAULT, validate_model


def reverse_complement(x: torch.Tensor) -> torch.Tensor:
    """Of a one-hot ``(batch, 4, length)`` tensor, rows A, C, G, T: flip bases and positions
    (:func:`genarch.data.encode.reverse_complement` for numpy arrays)."""
    return x.flip((1, 2))


def reads_both_strands(net: nn.Module) -> bool:
    """Whether ``net`` scores each sequence and its reverse complement (``model.strands=both``)."""
    return getattr(net, "strands", STRANDS_DEFAULT) == "both"


class GenomicNet(nn.Module):
    """A sequence model from the Genetic Architect search space.

    Input: float one-hot ``(batch, 4, length)``. Output: ``(batch, n_outputs)`` logits (binary)
    or predictions (regression), in the targets' own units: the head's output times ``target_scale``
    plus ``target_shift`` (per output; identity unless :meth:`scale_targets` set them from the
    training targets, so a regression head learns standardised targets).

    ``model.strands`` (absent: ``forward``): ``both`` scores each sequence and its reverse complement with the
    same weights, in one batch, and averages the two outputs, in training and in prediction, so the network
    reads a site the same on either strand (the attention's ``last_weights`` keep the given strand's)."""

    def __init__(self, model: Mapping[str, Any], seq_len: int, n_outputs: int) -> None:
        super().__init__()
        validate_model(model, seq_len)
        act = model["activation"]
        stem, res, red, rnn, pool, head = (model[k] for k in
                                           ("stem", "residual", "reduction", "rnn", "pooling", "head"))
        bn, k = bool(stem["batchnorm"]), int(stem["filter_size"])
        c = int(stem.get("filters", 0) or 0)
        first_act = stem.get("first_activation") or act
        residual_on = res["kind"] != "none"

        if stem.get("kind", "conv") == "explicit":
            before, c, seq_len_after = explicit_trunk(stem, act, first_act, bn, seq_len)
        else:
            before = [ConvUnit(4, c, k, first_act, bn)]
            before += [ConvUnit(c, c, k, act, bn) for _ in range(int(stem["convs_before"]) - 1)]
            seq_len_after = seq_len
        before += [ResidualBlock(c, k, act, bn) for _ in range(int(res["before"]) if residual_on else 0)]
        self.trunk_before = nn.Sequential(*before)
        self.reduction = make_reduction(red["kind"], int(red["stride"]), c, act, bn)
        after: list[nn.Module] = [ConvUnit(c, c, k, act, bn) for _ in range(int(stem["convs_after"]))]
        after += [ResidualBlock(c, k, act, bn) for _ in range(int(res["after"]) if residual_on else 0)]
        self.trunk_after = nn.Sequential(*after)

        length = reduced_length(red["kind"], int(red["stride"]), seq_len_after)
        channels = c
        self.rnn: nn.Module = nn.Identity()
        if rnn["kind"] != "none":
            block = RecurrentBlock(rnn["kind"], c, int(rnn["units"]), int(rnn["layers"]), bool(rnn["bidirectional"]),
                                   rnn["output"])
            self.rnn, channels = block, block.out_channels
            if rnn["output"] == "last":
                length = 1
        self.pool = GlobalPool(pool["kind"], channels, int(pool.get("hidden", 32)), int(pool.get("kernel_size", 1)),
                               int(pool.get("out_kernel_size", 1)), bool(pool.get("conv_bias", True)))
        features = channels * length if pool["kind"] == "flatten" else channels
        self.head = Head(features, n_outputs, int(head["layers"]), int(head["units"]), act,
                         bool(head["batchnorm"]), float(head["dropout"]))
        self.seq_len, self.n_outputs = seq_len, n_outputs
        self.strands = str(model.get("strands", STRANDS_DEFAULT))
        self.register_buffer("target_shift", torch.zeros(n_outputs))
        self.register_buffer("target_scale", torch.ones(n_outputs))
        # input bases per feature-track step: a left-padded sequence is moved to this phase (masking.py)
        self.phase = total_stride([*self.trunk_before, self.reduction, *self.trunk_after])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Per-position features just before global pooling, ``(batch, channels, length')``."""
        return self.features_and_mask(x)[0]

    def features_and_mask(self, x: torch.Tensor) -> "tuple[torch.Tensor, torch.Tensor | None]":
        """The features and the span mask on their track (``(batch, length')`` bool; None when no
        sequence of the batch is padded). Features outside a span are zero. A sequence padded on the
        left is read moved left by its span start modulo :attr:`phase` (``masking.align_phase``), so
        its features are those of that moved sequence."""
        mask = span_mask(x)
        if mask is None:
            return self.rnn(self.trunk_after(self.reduction(self.trunk_before(x)))), None
        x, mask, _ = align_phase(x, mask, self.phase)
        h, mask = run_masked([*self.trunk_before, self.reduction, *self.trunk_after], x, mask)
        if isinstance(self.rnn, RecurrentBlock):
            h = self.rnn(h, mask)
            if self.rnn.output == "last":
                return h, None
            h = h * mask[:, None, :].to(h.dtype)
        return h, mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not reads_both_strands(self):
            return self.one_strand(x) * self.target_scale + self.target_shift
        # one pass over [reverse complement; given]: batch norm normalises both strands with one set of statistics
        # and moves its running ones once per step, as the pooled running statistics it evaluates with
        n = x.shape[0]
        both = self.one_strand(torch.cat([reverse_complement(x), x]))
        if self.attention is not None:
            self.attention.last_weights = self.attention.last_weights[n:]  # the given strand's
        return (both[:n] + both[n:]) / 2 * self.target_scale + self.target_shift

    def one_strand(self, x: torch.Tensor) -> torch.Tensor:
        """The head's output for ``x`` as given (before the targets' affine map)."""
        h, mask = self.features_and_mask(x)
        return self.head(self.pool(h, mask))

    def scale_targets(self, shift: Any, scale: Any) -> None:
        """Set the per-output affine map from the head's output to the targets' units."""
        self.target_shift.copy_(torch.as_tensor(shift, dtype=torch.float32).reshape(self.n_outputs))
        self.target_scale.copy_(torch.as_tensor(scale, dtype=torch.float32).reshape(self.n_outputs))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """A state saved before the target buffers existed (a model.pt, or a Lightning checkpoint that a
        resumed rung loads through its module) loads with the identity map."""
        for name, fill in (("target_shift", torch.zeros_like), ("target_scale", torch.ones_like)):
            state_dict.setdefault(prefix + name, fill(getattr(self, name)))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def attention(self):
        """The soft attention block, or ``None`` if this model pools otherwise."""
        return self.pool.attention


def explicit_trunk(stem: Mapping[str, Any], act: str, first_act: str, bn: bool, seq_len: int):
    """Layers listed one by one (``model/stem=explicit``), for published models whose layers differ
    in width (DeepMotif) or use an even, 'valid' detector (DeepBind's 24-bp detectors).
    Returns the modules, the output channels and the output length."""
    modules: list[nn.Module] = []
    channels, length = 4, seq_len
    for index, layer in enumerate(stem["layers"]):
        width, filters = int(layer["width"]), int(layer["filters"])
        padding = width // 2 if stem.get("padding", "same") == "same" else 0
        modules.append(nn.Conv1d(channels, filters, width, padding=padding, bias=not bn))
        if bn:
            modules.append(nn.BatchNorm1d(filters))
        modules.append(make_activation(first_act if index == 0 else act))
        length = length + 2 * padding - width + 1
        pool = int(layer.get("pool", 1) or 1)
        if pool > 1:
            modules.append(nn.MaxPool1d(pool, pool))
            length //= pool
        if float(layer.get("dropout", 0) or 0) > 0:
            modules.append(nn.Dropout(float(layer["dropout"])))
        channels = filters
    return modules, channels, length


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
