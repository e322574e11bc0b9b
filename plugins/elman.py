"""Elman RNN (Elman 1990) and the bidirectional RNN (Schuster & Paliwal 1997), on
torch's fused `nn.RNN`.

    h_t = f(U x_t + W h_{t-1} + b),  f = tanh or relu
    bidirectional: [→h_t ; ←h_t], the backward pass reading from the true end.

Initialisation of W (`init`, gain `init_scale` = s; the fused kernel is kept, only the
starting weights change):
    default     torch's U(-1/√H, 1/√H) draw, times s
    identity    W = s·I and every bias b = 0: with f = relu this is the IRNN of Le,
                Jaitly & Hinton 2015 (s = 1 there); U keeps torch's draw
    orthogonal  W = s·Q, Q a random orthogonal matrix (Saxe et al. 2014)
"""

from __future__ import annotations

from rnnbench import ModelContext, ModelSpec, Param, ParamSet, hookimpl
from rnnbench.params import init_params, recurrent_params


def build_rnn(
    context: ModelContext,
    embedding_dim: int = 64,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    nonlinearity: str = "tanh",
    bidirectional: bool = False,
    init: str = "default",
    init_scale: float = 1.0,
):
    from torch import nn

    from rnnbench.nn import FusedRecurrent, init_fused_

    model = FusedRecurrent(
        nn.RNN,
        context,
        embedding_dim,
        hidden_size,
        num_layers,
        dropout,
        bidirectional,
        nonlinearity=nonlinearity,
    )
    init_fused_(model.rnn, init, init_scale)
    return model


def build_birnn(context: ModelContext, **hparams):
    return build_rnn(context, bidirectional=True, **hparams)


NONLINEARITY = Param(
    "nonlinearity", str, "tanh", "f in h_t = f(U x_t + W h_{t-1} + b)", choices=("tanh", "relu")
)
PARAMS = ParamSet((*recurrent_params(), NONLINEARITY, *init_params()))

RNN = ModelSpec(
    name="rnn",
    builder=build_rnn,
    params=PARAMS,
    causal=True,
    stateful=True,
    hidden_states=True,
    description="Elman RNN on fused nn.RNN (tanh or relu; identity init = IRNN)",
    reference="Elman 1990; Le, Jaitly & Hinton 2015 (IRNN); Saxe et al. 2014 (orthogonal)",
    width="hidden_size",
    embedding="encoder.embedding",
    embedding_dim="embedding_dim",
)
BIRNN = ModelSpec(
    name="birnn",
    builder=build_birnn,
    params=PARAMS,
    causal=False,
    description="bidirectional Elman RNN: forward and backward passes concatenated",
    reference="Schuster & Paliwal 1997; Le et al. 2015 (identity init); Saxe et al. 2014",
    width="hidden_size",
    embedding="encoder.embedding",
    embedding_dim="embedding_dim",
)


@hookimpl
def register_models(register):
    register(RNN)
    register(BIRNN)
