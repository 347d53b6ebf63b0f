"""The paper's soft attention over positions (Genetic Architect, Sec. 3 / Fig. 2).

scores = BN(conv_1ch(tanh(BN(conv_hidden(h)))))    one score per position
           (conv_hidden of width ``kernel_size``, conv_1ch of width ``out_kernel_size``; both 'same')
weights = softmax(scores) over positions
out = sum_t weights_t * h_t                          one vector per sequence

The last forward pass's weights are kept on ``last_weights`` (shape ``(batch, length)``) so
interpretation can read where the model looked.
"""

import torch
from torch import nn

from genarch.model.masking import batch_norm_masked


class SoftAttentionPool(nn.Module):
    def __init__(self, channels: int, hidden: int = 32, kernel_size: int = 1, out_kernel_size: int = 1,
                 conv_bias: bool = True) -> None:
        super().__init__()
        # conv_bias=False drops the biases that the batch norm after each conv makes redundant (Tables 3-4 presets)
        self.score_hidden = nn.Conv1d(channels, hidden, kernel_size, padding=kernel_size // 2, bias=conv_bias)
        self.bn_hidden = nn.BatchNorm1d(hidden)
        self.score_out = nn.Conv1d(hidden, 1, out_kernel_size, padding=out_kernel_size // 2, bias=conv_bias)
        self.bn_out = nn.BatchNorm1d(1)
        self.last_weights: "torch.Tensor | None" = None

    def attention(self, h: torch.Tensor, mask: "torch.Tensor | None" = None) -> torch.Tensor:
        """Attention weights ``(batch, length)`` for features ``h`` of shape ``(batch, channels, length)``;
        with a span ``mask`` (``(batch, length)`` bool) padding gets weight 0."""
        # batch norm in training takes its statistics from the span (the same as bn(h) without a mask)
        hidden = torch.tanh(batch_norm_masked(self.bn_hidden, self.score_hidden(h), mask))
        if mask is not None and self.score_out.kernel_size[0] > 1:
            hidden = hidden * mask[:, None, :].to(hidden.dtype)  # a wide scoring conv reads zeros past the span
        scores = batch_norm_masked(self.bn_out, self.score_out(hidden), mask).squeeze(1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=-1)

    def forward(self, h: torch.Tensor, mask: "torch.Tensor | None" = None) -> torch.Tensor:
        weights = self.attention(h, mask)
        self.last_weights = weights.detach()
        return torch.einsum("bcl,bl->bc", h, weights)
