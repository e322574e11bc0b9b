"""AWD-LSTM (Merity, Keskar & Socher 2017, "Regularizing and Optimizing LSTM Language
Models"): a stack of single-layer fused recurrences with every regulariser of the paper.

    words (B, T) --embedding dropout (whole words, p = dropout_embedding)--> (B, T, E)
      --locked dropout (dropout_input)--> layer 1 (W_hh weight-dropped, weight_drop)
      --locked dropout (dropout_hidden)--> layer 2 ... --> layer L
      --locked dropout (dropout)--> sequence (B, T, D), D = E when last_layer_embedding
                                     (the tied configuration of the paper), else H

Locked dropout is variational dropout (Gal & Ghahramani 2016): one mask per sequence
and layer, the same at every step. Weight drop re-samples a DropConnect mask on each
layer's raw W_hh per batch and keeps the fused kernel. AR/TAR (paper section 4.6):
while training, `penalty` = ar * mean(dropped top output ** 2) + tar * mean(change of
the raw top output between steps ** 2), which the harness adds to the task loss
(rnnbench.training.system). Tie the embedding and the softmax with train.tie_embeddings
(Press & Wolf 2017; Inan et al. 2017); NT-ASGD is train.optimizer=asgd.

The paper's PTB model (the defaults below): embedding 400, 3 layers of 1150 (the last
400), dropouts 0.4 output / 0.3 between layers / 0.65 input / 0.1 embedding, weight
drop 0.5, AR 2, TAR 1, tied, NT-ASGD at lr 30, bptt 70, batch 80, clip 0.25.
`cell` swaps the LSTM for the fused GRU or tanh RNN with the same regularisers.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnbench import Choice, FloatRange, ModelContext, ModelSpec, Param, ParamSet, hookimpl
from rnnbench.nn import run_rnn
from rnnbench.nn_regularisers import (
    LockedDropout,
    WeightDrop,
    activation_regularisation,
    embedded_dropout,
)

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class AWDLSTM(nn.Module):
    """forward(inputs (B, T) token ids, lengths (B,), state: list of each layer's state or
    None) -> ModelOutput(sequence (B, T, D) after the output dropout, pooled (B, D) the
    top layer's state at each true length, state [per layer]); `penalty` holds the last
    training forward's AR + TAR (None in eval mode)."""

    def __init__(self, context: ModelContext, embedding_dim: int, hidden_size: int,
                 num_layers: int, dropout: float, dropout_hidden: float, dropout_input: float,
                 dropout_embedding: float, weight_drop: float, ar: float, tar: float,
                 last_layer_embedding: bool, cell: str) -> None:
        super().__init__()
        self.embedding = nn.Embedding(context.vocab_size, embedding_dim,
                                      padding_idx=context.padding_idx)
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
            for i, h in zip(inputs, sizes, strict=True))
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
        self.penalty = activation_regularisation(sequence, raw, self.ar, self.tar) \
            if self.training and (self.ar or self.tar) else None
        h_n = finals[-1][0] if isinstance(finals[-1], tuple) else finals[-1]  # (1, B, D)
        return ModelOutput(sequence=sequence, pooled=h_n[-1], state=finals)


def build_awd_lstm(context: ModelContext, embedding_dim: int = 400, hidden_size: int = 1150,
                   num_layers: int = 3, dropout: float = 0.4, dropout_hidden: float = 0.3,
                   dropout_input: float = 0.65, dropout_embedding: float = 0.1,
                   weight_drop: float = 0.5, ar: float = 2.0, tar: float = 1.0,
                   last_layer_embedding: bool = True, cell: str = "lstm") -> nn.Module:
    return AWDLSTM(context, embedding_dim, hidden_size, num_layers, dropout, dropout_hidden,
                   dropout_input, dropout_embedding, weight_drop, ar, tar,
                   last_layer_embedding, cell)


def _rate(name: str, default: float, help: str) -> Param:
    return Param(name, float, default, help, minimum=0.0, maximum=0.95,
                 space=FloatRange(0.0, 0.7))


AWD_LSTM = ModelSpec(
    name="awd-lstm",
    builder=build_awd_lstm,
    params=ParamSet((
        Param("embedding_dim", int, 400, "token embedding size", minimum=1,
              space=Choice((200, 400))),
        Param("hidden_size", int, 1150, "hidden units of every layer but the last when "
              "last_layer_embedding", minimum=1, space=Choice((256, 512, 1150))),
        Param("num_layers", int, 3, "stacked single-layer recurrences", minimum=1),
        _rate("dropout", 0.4, "locked dropout on the top layer's output"),
        _rate("dropout_hidden", 0.3, "locked dropout between layers"),
        _rate("dropout_input", 0.65, "locked dropout on the embeddings"),
        _rate("dropout_embedding", 0.1, "embedding dropout: whole words"),
        _rate("weight_drop", 0.5, "DropConnect on each layer's W_hh, per batch"),
        Param("ar", float, 2.0, "activation regularisation: ar * mean(h_t^2) of the dropped "
              "top output", minimum=0.0),
        Param("tar", float, 1.0, "temporal AR: tar * mean((h_t - h_{t-1})^2) of the raw top "
              "output", minimum=0.0),
        Param("last_layer_embedding", bool, True, "the last layer has embedding_dim units "
              "(the paper's configuration for tied weights)"),
        Param("cell", str, "lstm", "the fused recurrence of every layer",
              choices=tuple(CELLS)),
    )),
    inputs=frozenset({"tokens"}),
    causal=True,
    stateful=True,
    description="AWD-LSTM: locked, embedding and weight-dropped (W_hh) dropout, AR/TAR",
    reference="Merity, Keskar & Socher 2017; Gal & Ghahramani 2016; Wan et al. 2013",
    width="hidden_size", embedding="embedding", embedding_dim="embedding_dim",
)


@hookimpl
def register_models(register):
    register(AWD_LSTM)
