"""AWD-LSTM's nn.Module (Merity, Keskar & Socher 2017); the spec and its equations are in
rnnbench_models.awd_lstm. Imported when a model is built, so that listing and describing
plugins does not import torch.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnbench import ModelContext
from rnnbench.nn import (
    LockedDropout,
    WeightDrop,
    activation_regularisation,
    embedded_dropout,
    run_rnn,
)

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}  # the fused recurrence of a layer


class AWDLSTM(nn.Module):
    """forward(inputs (B, T) token ids, lengths (B,), state: list of each layer's state or
    None) -> ModelOutput(sequence (B, T, D) after the output dropout, pooled (B, D) the
    top layer's state at each true length, state [per layer]); `penalty` holds the last
    training forward's AR + TAR (None in eval mode)."""

    def __init__(
        self,
        context: ModelContext,
        embedding_dim: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        dropout_hidden: float,
        dropout_input: float,
        dropout_embedding: float,
        weight_drop: float,
        ar: float,
        tar: float,
        last_layer_embedding: bool,
        cell: str,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(
            context.vocab_size, embedding_dim, padding_idx=context.padding_idx
        )
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)  # the paper's code
        self.dropout_embedding = dropout_embedding
        self.input_drop = LockedDropout(dropout_input)
        self.hidden_drop = LockedDropout(dropout_hidden)
        self.output_drop = LockedDropout(dropout)
        self.ar, self.tar = ar, tar
        sizes = [hidden_size] * num_layers
        if last_layer_embedding:
            sizes[-1] = embedding_dim
        inputs = [embedding_dim, *sizes[:-1]]
        self.layers = nn.ModuleList(
            WeightDrop(CELLS[cell](i, h, num_layers=1, batch_first=True), weight_drop)
            for i, h in zip(inputs, sizes, strict=True)
        )
        self.output_size = sizes[-1]
        self.penalty: torch.Tensor | None = None

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, state=None):
        from rnnbench import ModelOutput

        x = embedded_dropout(self.embedding, inputs, self.dropout_embedding, self.training)
        x = self.input_drop(x)  # (B, T, E)
        finals = []
        for index, layer in enumerate(self.layers):
            if index:
                x = self.hidden_drop(x)
            x, final = run_rnn(layer, x, lengths, state[index] if state else None)  # (B, T, H_l)
            finals.append(final)
        raw = x  # (B, T, D), the top layer's output
        sequence = self.output_drop(raw)
        self.penalty = (
            activation_regularisation(sequence, raw, self.ar, self.tar)
            if self.training and (self.ar or self.tar)
            else None
        )
        h_n = finals[-1][0] if isinstance(finals[-1], tuple) else finals[-1]  # (1, B, D)
        return ModelOutput(sequence=sequence, pooled=h_n[-1], state=finals)


def build_awd_lstm(
    context: ModelContext,
    embedding_dim: int = 400,
    hidden_size: int = 1150,
    num_layers: int = 3,
    dropout: float = 0.4,
    dropout_hidden: float = 0.3,
    dropout_input: float = 0.65,
    dropout_embedding: float = 0.1,
    weight_drop: float = 0.5,
    ar: float = 2.0,
    tar: float = 1.0,
    last_layer_embedding: bool = True,
    cell: str = "lstm",
) -> nn.Module:
    return AWDLSTM(
        context,
        embedding_dim,
        hidden_size,
        num_layers,
        dropout,
        dropout_hidden,
        dropout_input,
        dropout_embedding,
        weight_drop,
        ar,
        tar,
        last_layer_embedding,
        cell,
    )
