"""Gated recurrent unit (Cho et al. 2014) on `rnnbench.nn.GRU`: torch's `nn.GRU` (its
parameters, fused kernel), with its own recurrence where the CPU kernel is slow.

    r_t = σ(W_r x_t + U_r h_{t-1} + b_r)        z_t = σ(W_z x_t + U_z h_{t-1} + b_z)
    n_t = tanh(W_n x_t + r_t ⊙ (U_n h_{t-1} + b_hn) + b_in)
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

`init` sets U_r, U_z, U_n (fused kernel kept): default (torch's draw, times
`init_scale` = s) or orthogonal (each (H, H) block s·Q, Saxe et al. 2014). identity is
refused: the IRNN recipe is for the Elman recurrence, and no per-gate-block s·I is offered.
"""

from __future__ import annotations

from rnnbench import ModelContext, ModelSpec, Param, ParamSet, hookimpl
from rnnbench.params import init_params, recurrent_params


def build_gru(
    context: ModelContext,
    embedding_dim: int = 64,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    bidirectional: bool = False,
    init: str = "default",
    init_scale: float = 1.0,
):
    from rnnbench.nn import GRU, FusedRecurrent, init_fused_

    # nn.GRU's parameters and math; its own recurrence where torch's CPU kernel is slow
    model = FusedRecurrent(
        GRU, context, embedding_dim, hidden_size, num_layers, dropout, bidirectional
    )
    init_fused_(model.rnn, init, init_scale)
    return model


GRU = ModelSpec(
    name="gru",
    builder=build_gru,
    params=ParamSet(
        (
            *recurrent_params(),
            Param("bidirectional", bool, False, "read both ways (not causal)"),
            *init_params(refuse_identity=True),
        )
    ),
    causal=lambda hp: not hp.get("bidirectional", False),
    stateful=True,
    hidden_states=lambda hp: not hp.get("bidirectional", False),
    description="GRU on nn.GRU (fused; own recurrence at small CPU widths)",
    reference="Cho et al. 2014; Saxe et al. 2014 (orthogonal)",
    width="hidden_size",
    embedding="encoder.embedding",
    embedding_dim="embedding_dim",
)


@hookimpl
def register_models(register):
    register(GRU)
