"""Regularisers of recurrent language models, as AWD-LSTM combines them (Merity, Keskar &
Socher 2017, "Regularizing and Optimizing LSTM Language Models"). Public helpers for
model plugins; `plugins/awd_lstm.py` uses all of them. Shapes: B batch, T time, D
features, V vocabulary, H hidden.

    LockedDropout      one dropout mask per sequence, the same at every time step
                       (variational dropout, Gal & Ghahramani 2016)
    embedded_dropout   drops whole words: rows of the embedding matrix (Gal &
                       Ghahramani 2016, section 4.2; AWD-LSTM's `embedded_dropout`)
    WeightDrop         DropConnect (Wan et al. 2013) on a fused recurrence's hidden-to-
                       hidden matrix W_hh, re-sampled at every forward (one batch) on the
                       raw weight, so the fused kernel (oneDNN / cuDNN) still runs
    activation_regularisation   AR and TAR (Merity et al. 2017, section 4.6)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LockedDropout(nn.Module):
    """x (B, T, D) -> x * m / (1 - p) with one Bernoulli(1 - p) mask m (B, 1, D) for all
    T steps; the identity in eval mode or at p = 0."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask  # (B, T, D), the mask broadcast over T


def embedded_dropout(
    embedding: nn.Embedding, words: torch.Tensor, p: float, training: bool
) -> torch.Tensor:
    """words (B, T) -> (B, T, E) with each vocabulary row dropped with probability p
    (a dropped word is zero wherever it occurs in the batch) and the kept rows scaled
    by 1 / (1 - p); plain lookup in eval mode or at p = 0."""
    weight = embedding.weight  # (V, E)
    if training and p > 0.0:
        mask = weight.new_empty(weight.shape[0], 1).bernoulli_(1 - p) / (1 - p)  # (V, 1)
        weight = weight * mask
    return F.embedding(
        words,
        weight,
        embedding.padding_idx,
        embedding.max_norm,
        embedding.norm_type,
        embedding.scale_grad_by_freq,
        embedding.sparse,
    )


class WeightDrop(nn.Module):
    """A single-layer fused recurrence (nn.LSTM / nn.GRU / nn.RNN, one direction) whose
    W_hh (`weight_hh_l0`, (G*H, H)) is dropped element-wise with probability p at every
    training forward (DropConnect, the mask fixed across the batch's time steps).

    The trained parameter is `weight_hh_raw`; the module's `weight_hh_l0` is a plain
    tensor recomputed from it before each call (AWD-LSTM's WeightDrop), which torch's
    RNNBase picks up for its fused kernel. In eval mode the raw weight is used as is.
    forward(x, state) is the wrapped module's.
    """

    def __init__(self, rnn: nn.RNNBase, p: float) -> None:
        super().__init__()
        if rnn.num_layers != 1 or rnn.bidirectional:
            raise ValueError("WeightDrop wraps a single-layer, one-direction recurrence")
        self.rnn = rnn
        self.p = p
        self.weight_hh_raw = nn.Parameter(rnn.weight_hh_l0.detach().clone())
        del rnn._parameters["weight_hh_l0"]
        self._set_weight(self.weight_hh_raw)

    def _set_weight(self, weight: torch.Tensor) -> None:
        # a plain tensor (a view of a Parameter is not one), so that nn.Module does not
        # register it; RNNBase.__setattr__ also refreshes its _flat_weights
        self.rnn.weight_hh_l0 = weight.view_as(weight)

    def forward(self, x, state=None):
        weight = self.weight_hh_raw
        if self.training and self.p > 0.0:
            weight = F.dropout(weight, self.p, training=True)  # new mask every batch
        self._set_weight(weight)
        return self.rnn(x, state)


def activation_regularisation(
    dropped: torch.Tensor, raw: torch.Tensor, ar: float, tar: float
) -> torch.Tensor:
    """AR + TAR of a top-layer output (B, T, H) (Merity et al. 2017, eq. in section 4.6):
    ar * mean(dropped ** 2) + tar * mean((raw[:, 1:] - raw[:, :-1]) ** 2); AWD-LSTM
    penalises the dropped output's size (AR) and the raw output's changes (TAR)."""
    penalty = dropped.new_zeros(())
    if ar:
        penalty = penalty + ar * dropped.pow(2).mean()
    if tar and raw.shape[1] > 1:
        penalty = penalty + tar * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    return penalty
