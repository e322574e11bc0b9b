"""LSTM (Hochreiter & Schmidhuber 1997; forget gate of Gers et al. 2000) on torch's
fused `nn.LSTM`, with the forget-gate bias initialised to 1 as recommended by
Jozefowicz et al. 2015 ("An Empirical Exploration of Recurrent Network Architectures").

    i_t = σ(W_i x_t + U_i h_{t-1} + b_i)      f_t = σ(W_f x_t + U_f h_{t-1} + b_f)
    g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)   o_t = σ(W_o x_t + U_o h_{t-1} + b_o)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t           h_t = o_t ⊙ tanh(c_t)
"""

from __future__ import annotations

from rnnbench import ModelContext, ModelSpec, Param, ParamSet, hookimpl
from rnnbench.nn import FusedRecurrent, recurrent_params
from rnnbench.params import Choice


def build_lstm(
    context: ModelContext,
    embedding_dim: int = 64,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    bidirectional: bool = False,
    forget_bias: float = 1.0,
):
    from torch import nn

    model = FusedRecurrent(nn.LSTM, context, embedding_dim, hidden_size, num_layers, dropout,
                           bidirectional)
    # torch orders the gate blocks (i, f, g, o); b_f = b_ih[f] + b_hh[f] = forget_bias.
    for name, bias in model.rnn.named_parameters():
        if name.startswith("bias_"):
            bias.data[hidden_size : 2 * hidden_size].fill_(forget_bias / 2)
    return model


LSTM = ModelSpec(
    name="lstm",
    builder=build_lstm,
    params=ParamSet((
        *recurrent_params(),
        Param("bidirectional", bool, False, "read the sequence both ways (not causal)"),
        Param("forget_bias", float, 1.0, "initial forget-gate bias", space=Choice((0.0, 1.0))),
    )),
    causal=lambda hp: not hp.get("bidirectional", False),
    stateful=True,
    description="LSTM on fused nn.LSTM (cuDNN / oneDNN)",
    reference="Hochreiter & Schmidhuber 1997; Gers et al. 2000; Jozefowicz et al. 2015",
)


@hookimpl
def register_models(register):
    register(LSTM)
