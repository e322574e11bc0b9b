"""LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000) and the
variants compared by Greff et al. 2017 ("LSTM: A Search Space Odyssey").

Greff's vanilla LSTM, our `peephole` (z is their block input, our g):
    i_t = σ(W_i x_t + U_i h_{t-1} + p_i ⊙ c_{t-1} + b_i)
    f_t = σ(W_f x_t + U_f h_{t-1} + p_f ⊙ c_{t-1} + b_f)
    g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    o_t = σ(W_o x_t + U_o h_{t-1} + p_o ⊙ c_t + b_o)
    h_t = o_t ⊙ tanh(c_t)
Each other variant changes one thing in it:
    vanilla / np  no peepholes (p = 0): torch's fused `nn.LSTM`, Greff's NP
    nig   no input gate:        i_t = 1
    nfg   no forget gate:       f_t = 1
    nog   no output gate:       o_t = 1
    niaf  no input activation:  g_t = W_g x_t + U_g h_{t-1} + b_g
    noaf  no output activation: h_t = o_t ⊙ c_t
    cifg  coupled input and forget gate: i_t = 1 - f_t (Greff writes f_t = 1 - i_t;
          the same family with the gate's sign flipped), peepholes p_f and p_o kept
    fgr   full gate recurrence: the gates also read all gates of the previous step,
          i_t, f_t, o_t += R_•i i_{t-1} + R_•f f_{t-1} + R_•o o_{t-1} (inside σ), with
          i_0 = f_0 = o_0 = 0; the state carries (h, c, [i; f; o])
    coupled  i_t = 1 - f_t without peepholes (this harness's CIFG before Greff's full
          set; kept for existing configs): CIFG on the NP base

The forget-gate bias starts at `forget_bias` (1.0, Jozefowicz et al. 2015).
`init` sets every U block: default (torch's draw, times `init_scale` = s) or
orthogonal (s·Q per (H, H) gate block, Saxe et al. 2014); identity is refused.
The variants run a custom cell: the input projections W x_t + b of all steps are
computed in one matmul, then the recurrence iterates over `unbind(1)`.
"""

from __future__ import annotations

import torch
from rnnbench_models.lstm import CELLS, COUPLED, FUSED
from torch import nn

from rnnbench import ModelContext
from rnnbench.nn import CellStack, FusedRecurrent, init_fused_, init_recurrent_, keep_state


class VariantLSTMLayer(nn.Module):
    """One direction of one layer of a Greff variant (any key of CELLS).

    forward(x (B, T, E), mask (B, T) bool or None, state or None, steps list or None)
      -> outputs (B, T, H) (zero where mask is False), final state at the true lengths:
         (h, c) each (B, H), or (h, c, gates (B, 3H)) for fgr.
    Parameters: input_proj (W; b) (G*H, E), recurrent (U) (G*H, H) in the order of
    `blocks`; peep (len(peep_gates), H); gate_recurrent (R) (3H, 3H) for fgr.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        variant: str,
        forget_bias: float,
        init: str = "default",
        init_scale: float = 1.0,
    ):
        super().__init__()
        self.variant = variant
        self.hidden_size = H = hidden_size
        self.blocks, self.peep_gates, self.input_act, self.output_act, self.fgr = CELLS[variant]
        self.coupled = variant in COUPLED
        self.n_gates = len(self.blocks)
        self.input_proj = nn.Linear(input_size, self.n_gates * H)  # W, b
        self.recurrent = nn.Linear(H, self.n_gates * H, bias=False)  # U
        init_recurrent_(self.recurrent.weight, init, init_scale)
        if "f" in self.blocks:
            forget = self.blocks.index("f")
            with torch.no_grad():
                self.input_proj.bias[forget * H : (forget + 1) * H] = forget_bias
        if self.peep_gates:  # p_i, p_f, p_o (those of the variant's gates)
            self.peep = nn.Parameter(torch.empty(len(self.peep_gates), H).uniform_(-0.1, 0.1))
        if self.fgr:  # R: [i; f; o]_{t-1} (3H) -> gate inputs [i; f; o] (3H)
            self.gate_recurrent = nn.Linear(3 * H, 3 * H, bias=False)  # torch's draw

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, state=None, steps=None):
        B, T, _ = x.shape
        H = self.hidden_size
        if state is None:
            state = (x.new_zeros(B, H), x.new_zeros(B, H)) + (
                (x.new_zeros(B, 3 * H),) if self.fgr else ()
            )
        projected = self.input_proj(x)  # (B, T, G*H), all steps at once
        masks = mask.unbind(1) if mask is not None else [None] * T
        peep = (
            dict(zip(self.peep_gates, self.peep.unbind(0), strict=True)) if self.peep_gates else {}
        )
        outputs = []
        for gx, m in zip(projected.unbind(1), masks, strict=True):
            new = self.step(gx, state, peep)
            state = keep_state(m, new, state)
            h = state[0]
            outputs.append(h if m is None else h * m.unsqueeze(1))
            if steps is not None:
                steps.append(h)
        return torch.stack(outputs, dim=1), state

    def step(self, gx: torch.Tensor, state: tuple, peep: dict) -> tuple:
        """One step from gx = W x_t + b (B, G*H) and the previous state."""
        h, c = state[0], state[1]
        pre = dict(
            zip(self.blocks, (gx + self.recurrent(h)).split(self.hidden_size, 1), strict=True)
        )  # block -> (B, H)
        if self.fgr:
            r_i, r_f, r_o = self.gate_recurrent(state[2]).chunk(3, dim=1)
            pre["i"], pre["f"], pre["o"] = pre["i"] + r_i, pre["f"] + r_f, pre["o"] + r_o
        if "f" in pre:
            f = torch.sigmoid(pre["f"] + peep["f"] * c if "f" in peep else pre["f"])
        if self.coupled:
            i = 1 - f
        elif "i" in pre:
            i = torch.sigmoid(pre["i"] + peep["i"] * c if "i" in peep else pre["i"])
        g = torch.tanh(pre["g"]) if self.input_act else pre["g"]
        written = i * g if ("i" in pre or self.coupled) else g
        c_new = f * c + written if "f" in pre else c + written
        out = torch.tanh(c_new) if self.output_act else c_new
        if "o" in pre:
            o = torch.sigmoid(pre["o"] + peep["o"] * c_new if "o" in peep else pre["o"])
            out = o * out
        if self.fgr:
            return out, c_new, torch.cat([i, f, o], dim=1)
        return out, c_new


class VariantLSTM(CellStack):
    """Stacked (optionally bidirectional) Greff-variant LSTM with the same ModelOutput
    contract as `rnnbench.nn.FusedRecurrent`."""

    def __init__(
        self,
        context: ModelContext,
        embedding_dim: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        bidirectional: bool,
        variant: str,
        forget_bias: float,
        init: str = "default",
        init_scale: float = 1.0,
    ):
        super().__init__(
            context,
            embedding_dim,
            hidden_size,
            num_layers,
            dropout,
            bidirectional,
            lambda size: VariantLSTMLayer(
                size, hidden_size, variant, forget_bias, init, init_scale
            ),
        )


def build_lstm(
    context: ModelContext,
    embedding_dim: int = 64,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    bidirectional: bool = False,
    forget_bias: float = 1.0,
    variant: str = "vanilla",
    init: str = "default",
    init_scale: float = 1.0,
) -> nn.Module:
    if variant not in FUSED:
        return VariantLSTM(
            context,
            embedding_dim,
            hidden_size,
            num_layers,
            dropout,
            bidirectional,
            variant,
            forget_bias,
            init,
            init_scale,
        )
    model = FusedRecurrent(
        nn.LSTM, context, embedding_dim, hidden_size, num_layers, dropout, bidirectional
    )
    init_fused_(model.rnn, init, init_scale)
    # torch orders the gate blocks (i, f, g, o); b_f = b_ih[f] + b_hh[f] = forget_bias.
    for name, bias in model.rnn.named_parameters():
        if name.startswith("bias_"):
            bias.data[hidden_size : 2 * hidden_size].fill_(forget_bias / 2)
    return model
