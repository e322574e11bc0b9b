"""Gated recurrent unit (Cho et al. 2014) on torch's fused `nn.GRU`.

    r_t = σ(W_r x_t + U_r h_{t-1} + b_r)        z_t = σ(W_z x_t + U_z h_{t-1} + b_z)
    n_t = tanh(W_n x_t + r_t ⊙ (U_n h_{t-1} + b_hn) + b_in)
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
"""

from __future__ import annotations

from rnnbench import ModelContext, ModelSpec, Param, ParamSet, hookimpl
from rnnbench.nn import FusedRecurrent, recurrent_params


def build_gru(context: ModelContext, embedding_dim: int = 64, hidden_size: int = 128,
              num_layers: int = 1, dropout: float = 0.0, bidirectional: bool = False):
    from torch import nn

    return FusedRecurrent(nn.GRU, context, embedding_dim, hidden_size, num_layers, dropout,
                          bidirectional)


GRU = ModelSpec(
    name="gru", builder=build_gru,
    params=ParamSet((*recurrent_params(),
                     Param("bidirectional", bool, False, "read both ways (not causal)"))),
    causal=lambda hp: not hp.get("bidirectional", False), stateful=True,
    hidden_states=lambda hp: not hp.get("bidirectional", False),
    description="GRU on fused nn.GRU", reference="Cho et al. 2014",
)


@hookimpl
def register_models(register):
    register(GRU)
