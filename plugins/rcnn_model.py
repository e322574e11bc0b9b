"""Recurrent Convolutional Neural Network for text classification (Lai, Xu, Liu &
Zhao 2015, AAAI).

    c_l(w_i) = f(W_l c_l(w_{i-1}) + W_sl e(w_{i-1}))   left context: the forward
                                                      recurrence's state at i-1
    c_r(w_i) = f(W_r c_r(w_{i+1}) + W_sr e(w_{i+1}))   right context: the backward
                                                      recurrence's state at i+1
    x_i = [c_l(w_i); e(w_i); c_r(w_i)]                (B, T, 2C + E)
    y_i = tanh(W x_i + b)                             (B, T, H)    latent semantic vector
    y   = max_i y_i over the true positions only      (B, H)       max-pooling over time
    (the task's head is the output layer)

The contexts of the first and last words are zero vectors (the paper's learned
c_l(w_1), c_r(w_n) initial states are the recurrences' zero initial states here).
`cell` picks the recurrence: the paper's simple recurrent layer (rnn), or lstm / gru.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnbench import ModelContext, ModelOutput
from rnnbench.nn import InputEncoder, length_mask, run_rnn

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RCNN(nn.Module):
    def __init__(
        self,
        context: ModelContext,
        embedding_dim: int,
        context_size: int,
        hidden_size: int,
        dropout: float,
        cell: str,
    ):
        super().__init__()
        self.encoder = InputEncoder(context, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        E = self.encoder.output_size
        self.contexts = CELLS[cell](E, context_size, batch_first=True, bidirectional=True)
        self.latent_proj = nn.Linear(2 * context_size + E, hidden_size)  # W, b
        self.context_size = context_size
        self.output_size = hidden_size

    def latent(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """y_i = tanh(W [c_l; e; c_r] + b) for every position: (B, T, H)."""
        e = self.dropout(self.encoder(inputs))  # (B, T, E)
        out, _ = run_rnn(self.contexts, e, lengths)  # (B, T, 2C), zeros at padding
        forward, backward = out.split(self.context_size, dim=-1)  # (B, T, C) each
        zeros = forward.new_zeros(forward[:, :1].shape)  # (B, 1, C)
        left = torch.cat([zeros, forward[:, :-1]], dim=1)  # c_l(w_i) = →h_{i-1}
        right = torch.cat([backward[:, 1:], zeros], dim=1)  # c_r(w_i) = ←h_{i+1} (0 past the end)
        return torch.tanh(self.latent_proj(torch.cat([left, e, right], dim=-1)))

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, state=None) -> ModelOutput:
        y = self.latent(inputs, lengths)  # (B, T, H)
        mask = length_mask(lengths, y.shape[1]).unsqueeze(-1)  # (B, T, 1)
        pooled = y.masked_fill(~mask, float("-inf")).max(dim=1).values  # (B, H)
        return ModelOutput(pooled=self.dropout(pooled))


def build_rcnn(
    context: ModelContext,
    embedding_dim: int = 128,
    context_size: int = 64,
    hidden_size: int = 128,
    dropout: float = 0.3,
    cell: str = "rnn",
) -> RCNN:
    return RCNN(context, embedding_dim, context_size, hidden_size, dropout, cell)
