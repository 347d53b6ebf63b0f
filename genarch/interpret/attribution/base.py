"""One interface for "which bases did the model use": soft attention where the model has it,
gradient x input or in-silico mutagenesis otherwise.

Every method maps a trained network and one-hot sequences ``(N, 4, L)`` to an
:class:`AttributionResult`: a per-base importance track ``scores`` ``(N, L)`` (higher = more
important for the chosen output) and a ``peaks`` base per sequence, which is where motif windows are
cut (:mod:`genarch.interpret.motifs`). Methods never change the network: it is put in eval mode for
the computation and its previous mode is restored.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import nn

from genarch.data.base import to_float
from genarch.interpret.positions import PositionMap
from genarch.model.masking import span_mask


@dataclass
class AttributionResult:
    method: str
    scores: np.ndarray                 # (N, L) per-base importance for `output`
    peaks: np.ndarray                  # (N,) base index of the most important position
    output: Optional[int]              # the output explained; None if the map is shared by all outputs
    raw: Optional[np.ndarray] = None   # (N, L') the method's own track before mapping to bases (attention)
    position_map: Optional[PositionMap] = None
    # (N,) bases each sequence was moved left before the network read it (a left-padded sequence is
    # aligned to the network's stride, masking.align_phase): ``raw`` is in those moved coordinates,
    # ``scores`` and ``peaks`` are not. None: no sequence was moved.
    shift: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.scores)

    def subset(self, index: np.ndarray) -> "AttributionResult":
        return AttributionResult(self.method, self.scores[index], self.peaks[index], self.output,
                                 None if self.raw is None else self.raw[index], self.position_map,
                                 None if self.shift is None else self.shift[index])


class Attribution(ABC):
    """Base class: batching, eval mode, peak picking. Subclasses implement :meth:`_batch`."""

    name: str = "attribution"
    per_output: bool = True        # False: one map for all outputs (soft attention)

    def __init__(self, batch_size: int = 256, peak_window: int = 5) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if peak_window < 1:
            raise ValueError(f"peak_window must be >= 1, got {peak_window}")
        self.batch_size, self.peak_window = int(batch_size), int(peak_window)

    def applies_to(self, net: nn.Module) -> bool:
        return True

    @abstractmethod
    def _batch(self, net: nn.Module, x: torch.Tensor, output: int
               ) -> tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
        """Per-base scores ``(n, L)``, the optional raw track ``(n, L')`` and, where the raw track is in
        moved coordinates, each sequence's shift ``(n,)`` (None: not moved) of one float batch."""

    def _position_map(self, net: nn.Module, length: int) -> Optional[PositionMap]:
        return None

    def peaks_of(self, scores: np.ndarray, raw: Optional[np.ndarray], pmap: Optional[PositionMap],
                 span: Optional[np.ndarray] = None, shift: Optional[np.ndarray] = None) -> np.ndarray:
        """Centre of the ``peak_window``-bp window with the largest summed score (ties: first), among
        the windows that lie wholly inside each sequence's ``span`` (``(n, L)`` bool), as the windows
        of the sequence unpadded do; for a span shorter than the window, among the windows centred in
        it. Padding is never a peak. ``shift``: see :attr:`AttributionResult.shift` (per-base scores
        are never moved)."""
        if self.peak_window == 1 or scores.shape[1] < self.peak_window:
            return (scores if span is None else np.where(span, scores, -np.inf)).argmax(axis=1)
        kernel = np.ones(self.peak_window)
        sums = np.stack([np.convolve(row, kernel, mode="valid") for row in scores])
        if span is not None:
            whole = np.lib.stride_tricks.sliding_window_view(span, self.peak_window, axis=1).all(axis=2)
            centred = span[:, np.arange(sums.shape[1]) + self.peak_window // 2]
            allowed = np.where(whole.any(axis=1, keepdims=True), whole, centred)
            sums = np.where(allowed | ~allowed.any(axis=1, keepdims=True), sums, -np.inf)
        return sums.argmax(axis=1) + self.peak_window // 2

    def __call__(self, net: nn.Module, x: np.ndarray, output: int = 0) -> AttributionResult:
        if not self.applies_to(net):
            raise ValueError(f"{self.name} does not apply to this model")
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[1] != 4:
            raise ValueError(f"sequences must have shape (N, 4, L), got {x.shape}")
        n_outputs = int(getattr(net, "n_outputs", 1))
        if not 0 <= output < n_outputs:
            raise ValueError(f"output {output} out of range for a model with {n_outputs} outputs")
        was_training = net.training
        net.eval()
        try:
            scores, raws, shifts = [], [], []
            for lo in range(0, len(x), self.batch_size):
                s, r, moved = self._batch(net, to_float(x[lo:lo + self.batch_size]), output)
                scores.append(s)
                raws.append(r)
                shifts.append(np.zeros(len(s), dtype=int) if moved is None else np.asarray(moved, dtype=int))
        finally:
            net.train(was_training)
        length = x.shape[2]
        score = np.concatenate(scores) if scores else np.zeros((0, length))
        raw = np.concatenate(raws) if raws and raws[0] is not None else None
        shift = np.concatenate(shifts) if shifts else np.zeros(0, dtype=int)
        shift = shift if shift.any() else None
        pmap = self._position_map(net, length) if raw is not None else None
        mask = span_mask(torch.from_numpy(x.any(axis=1, keepdims=True).astype(np.float32))) if len(x) else None
        span = None if mask is None else mask.numpy()
        if span is not None:  # padding is no part of a sequence (ISM would write a base there): it scores 0
            score = np.where(span, score, 0.0)
        peaks = self.peaks_of(score, raw, pmap, span, shift) if len(score) else np.zeros(0, dtype=int)
        return AttributionResult(self.name, score, np.asarray(peaks, dtype=int),
                                 output if self.per_output else None, raw, pmap, shift)
