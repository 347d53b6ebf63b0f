"""The paper's read-out: the soft attention weights of the model's attention pooling.

Weights live on the pooled feature track (length ``L'``); :class:`~genarch.interpret.positions.PositionMap`
spreads each position's weight over the bases it stands for, so per-base scores sum to 1 per
sequence. The peak is the centre base of the position with the highest weight (before spreading,
so a stride-2 reduction does not bias it to the left base of a pair). One map serves every output. A network
that reads both strands (``model.strands=both``) with no stride gets the mean of both passes' maps.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import nn

from genarch.interpret.attribution.base import Attribution
from genarch.interpret.positions import PositionMap, position_map
from genarch.model.builder import reads_both_strands, reverse_complement
from genarch.model.masking import align_phase, span_mask


class AttentionAttribution(Attribution):
    name = "attention"
    per_output = False

    def __init__(self, batch_size: int = 256, peak_window: int = 1) -> None:
        super().__init__(batch_size, peak_window)
        self._pmap: Optional[PositionMap] = None

    def applies_to(self, net: nn.Module) -> bool:
        return getattr(net, "attention", None) is not None

    @torch.no_grad()
    def _batch(self, net: nn.Module, x: torch.Tensor, output: int):
        # a left-padded sequence is read moved to the network's stride phase (the network would move it
        # itself): the weights lie on the moved track, and the per-base map is moved back
        phase = int(getattr(net, "phase", 1))
        x, _, shift = align_phase(x, span_mask(x), phase)

        def attention_of(seqs: torch.Tensor) -> np.ndarray:
            return net.attention.attention(*net.features_and_mask(seqs)).numpy().astype(np.float64)  # 0 on padding

        weights = attention_of(x)
        if reads_both_strands(net) and phase == 1:
            # a network that reads both strands looks at a site through either pass: with no stride, position j of
            # the reverse complement's track is position L' - 1 - j of the given one, so the map is the mean of
            # the two (each sums to 1). With a stride the tracks do not align base for base: the given strand's.
            weights = (weights + attention_of(reverse_complement(x))[:, ::-1]) / 2
        self._pmap = position_map(net, x.shape[2], weights.shape[1])
        bases = self._pmap.to_bases(weights)
        if shift is None:
            return bases, weights, None
        shift = shift.numpy()
        # moving back: the columns that come round from the right end lie after the span (padding; weight
        # there is zeroed with the rest of the padding's scores)
        bases = np.stack([np.roll(row, int(s)) for row, s in zip(bases, shift)])
        return bases, weights, shift

    def _position_map(self, net: nn.Module, length: int) -> Optional[PositionMap]:
        return self._pmap

    def peaks_of(self, scores, raw, pmap, span=None, shift=None):
        # attention weighs padding 0 and every base of the span more: no peak falls in the padding
        if raw is None or pmap is None:
            return super().peaks_of(scores, raw, pmap, span, shift)
        # as the base class: full windows only ('same' would favour positions away from the edges and,
        # for a window longer than the track, return more positions than the track has)
        if self.peak_window == 1 or raw.shape[1] < self.peak_window:
            peaks = pmap.peak_base(raw.argmax(axis=1))
        else:
            kernel = np.ones(self.peak_window)
            sums = np.stack([np.convolve(row, kernel, mode="valid") for row in raw])
            peaks = pmap.peak_base(sums.argmax(axis=1) + self.peak_window // 2)
        if shift is None:
            return peaks
        # the raw track is on the moved sequences: a peak goes back by each sequence's shift
        return np.clip(peaks + np.asarray(shift, dtype=int), 0, pmap.input_length - 1)
