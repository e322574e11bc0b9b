"""Elman RNN (Elman 1990) and the bidirectional RNN (Schuster & Paliwal 1997), on
torch's fused `nn.RNN`.

    h_t = f(U x_t + W h_{t-1} + b),  f = tanh or relu
    bidirectional: [→h_t ; ←h_t], the backward pass reading from the true end.
"""

from __future__ import annotations

from rnnbench import ModelContext, ModelSpec, Param, ParamSet, hookimpl
from rnnbench.nn import FusedRecurrent, recurrent_params


def build_rnn(context: ModelContext, embedding_dim: int = 64, hidden_size: int = 128,
              num_layers: int = 1, dropout: float = 0.0, nonlinearity: str = "tanh",
              bidirectional: bool = False):
    from torch import nn

    return FusedRecurrent(nn.RNN, context, embedding_dim, hidden_size, num_layers, dropout,
                          bidirectional, nonlinearity=nonlinearity)


def build_birnn(context: ModelContext, **hparams):
    return build_rnn(context, bidirectional=True, **hparams)


NONLINEARITY = Param("nonlinearity", str, "tanh", "f in h_t = f(U x_t + W h_{t-1} + b)",
                     choices=("tanh", "relu"))

RNN = ModelSpec(
    name="rnn", builder=build_rnn, params=ParamSet((*recurrent_params(), NONLINEARITY)),
    causal=True, stateful=True, hidden_states=True,
    description="Elman RNN on fused nn.RNN (tanh or relu)", reference="Elman 1990",
)
BIRNN = ModelSpec(
    name="birnn", builder=build_birnn, params=ParamSet((*recurrent_params(), NONLINEARITY)),
    causal=False,
    description="bidirectional Elman RNN: forward and backward passes concatenated",
    reference="Schuster & Paliwal 1997",
)


@hookimpl
def register_models(register):
    register(RNN)
    register(BIRNN)
