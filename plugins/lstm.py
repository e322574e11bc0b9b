"""LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000) and
two classic variants compared by Greff et al. 2017 ("LSTM: A Search Space Odyssey").

vanilla (torch's fused `nn.LSTM`):
    i_t = σ(W_i x_t + U_i h_{t-1} + b_i)      f_t = σ(W_f x_t + U_f h_{t-1} + b_f)
    g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)   o_t = σ(W_o x_t + U_o h_{t-1} + b_o)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t           h_t = o_t ⊙ tanh(c_t)
peephole (Gers & Schmidhuber 2000): the gates also see the cell,
    i_t, f_t += p_i ⊙ c_{t-1}, p_f ⊙ c_{t-1} (inside σ);  o_t += p_o ⊙ c_t
coupled input-forget gate (CIFG): i_t = 1 - f_t, so c_t = f_t ⊙ c_{t-1} + (1 - f_t) ⊙ g_t

The forget-gate bias starts at `forget_bias` (1.0, Jozefowicz et al. 2015).
The variants run a custom cell: the input projections W x_t + b of all steps are
computed in one matmul, then the recurrence iterates over `unbind(1)`.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnbench import Choice, ModelContext, ModelOutput, ModelSpec, Param, ParamSet, hookimpl
from rnnbench.nn import (
    FusedRecurrent,
    InputEncoder,
    drop_read_output,
    length_mask,
    recurrent_params,
)


class VariantLSTMLayer(nn.Module):
    """One direction of a peephole or coupled-gate LSTM layer.

    forward(x (B, T, E), mask (B, T) bool or None, state (h, c) each (B, H) or None)
      -> outputs (B, T, H) (zero where mask is False), final (h, c) at the true lengths.
    """

    def __init__(self, input_size: int, hidden_size: int, variant: str, forget_bias: float):
        super().__init__()
        self.variant = variant
        self.hidden_size = hidden_size
        # gate blocks: peephole (i, f, g, o); coupled (f, g, o)
        self.n_gates = 4 if variant == "peephole" else 3
        self.input_proj = nn.Linear(input_size, self.n_gates * hidden_size)  # W, b
        self.recurrent = nn.Linear(hidden_size, self.n_gates * hidden_size, bias=False)  # U
        forget = 1 if variant == "peephole" else 0
        with torch.no_grad():
            self.input_proj.bias[forget * hidden_size : (forget + 1) * hidden_size] = forget_bias
        if variant == "peephole":
            self.peep = nn.Parameter(torch.empty(3, hidden_size).uniform_(-0.1, 0.1))  # p_i, p_f, p_o

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, state=None, steps=None):
        """`steps`, if a list, receives every step's h_t (B, H) as used downstream."""
        B, T, _ = x.shape
        H = self.hidden_size
        if state is None:
            h = x.new_zeros(B, H)
            c = x.new_zeros(B, H)
        else:
            h, c = state
        projected = self.input_proj(x)  # (B, T, G*H), all steps at once
        masks = mask.unbind(1) if mask is not None else [None] * T
        outputs = []
        for gx, m in zip(projected.unbind(1), masks, strict=True):
            gates = gx + self.recurrent(h)  # (B, G*H)
            if self.variant == "peephole":
                i_x, f_x, g_x, o_x = gates.chunk(4, dim=1)
                i = torch.sigmoid(i_x + self.peep[0] * c)
                f = torch.sigmoid(f_x + self.peep[1] * c)
                c_new = f * c + i * torch.tanh(g_x)
                o = torch.sigmoid(o_x + self.peep[2] * c_new)
            else:  # coupled
                f_x, g_x, o_x = gates.chunk(3, dim=1)
                f = torch.sigmoid(f_x)
                c_new = f * c + (1 - f) * torch.tanh(g_x)
                o = torch.sigmoid(o_x)
            h_new = o * torch.tanh(c_new)
            if m is not None:  # padded steps keep the state and output zeros
                keep = m.unsqueeze(1)
                h_new = torch.where(keep, h_new, h)
                c_new = torch.where(keep, c_new, c)
                outputs.append(h_new * keep)
            else:
                outputs.append(h_new)
            h, c = h_new, c_new
            if steps is not None:
                steps.append(h)
        return torch.stack(outputs, dim=1), (h, c)


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence within its true length; padded positions stay in place.

    x: (B, T, ...) ; lengths: (B,)."""
    T = x.shape[1]
    t = torch.arange(T, device=x.device).unsqueeze(0)  # (1, T)
    lengths = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    index = torch.where(t < lengths, lengths - 1 - t, t)  # (B, T)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


class VariantLSTM(nn.Module):
    """Stacked (optionally bidirectional) peephole / coupled LSTM with the same
    ModelOutput contract as `rnnbench.nn.FusedRecurrent`."""

    def __init__(self, context: ModelContext, embedding_dim: int, hidden_size: int,
                 num_layers: int, dropout: float, bidirectional: bool, variant: str,
                 forget_bias: float):
        super().__init__()
        self.encoder = InputEncoder(context, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        self.reads = context.output
        self.bidirectional = bidirectional
        dirs = 2 if bidirectional else 1
        self.layers = nn.ModuleList()
        for layer in range(num_layers):
            size = self.encoder.output_size if layer == 0 else hidden_size * dirs
            self.layers.append(nn.ModuleList(
                VariantLSTMLayer(size, hidden_size, variant, forget_bias) for _ in range(dirs)))
        self.output_size = hidden_size * dirs

    def forward_unrolled(self, inputs: torch.Tensor, lengths: torch.Tensor):
        """(ModelOutput, [h_1..h_T]) with h_t (B, H) the top layer's step states."""
        if self.bidirectional:
            raise ValueError("forward_unrolled needs a unidirectional recurrence")
        hidden: list[torch.Tensor] = []
        return self.forward(inputs, lengths, steps=hidden), hidden

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, state=None,
                steps: list | None = None) -> ModelOutput:
        x = self.dropout(self.encoder(inputs))  # (B, T, E)
        T = x.shape[1]
        mask = None if bool((lengths == T).all()) else length_mask(lengths, T)  # (B, T)
        finals = []
        for index, directions in enumerate(self.layers):
            if index:
                x = self.dropout(x)
            top = steps if index == len(self.layers) - 1 else None
            forward_out, final = directions[0](x, mask, state[index] if state else None, top)
            finals.append(final)
            if self.bidirectional:
                reversed_out, back_final = directions[1](reverse_padded(x, lengths), mask)
                x = torch.cat([forward_out, reverse_padded(reversed_out, lengths)], dim=-1)
                pooled = torch.cat([final[0], back_final[0]], dim=-1)  # (B, 2H)
            else:
                x = forward_out  # (B, T, H)
                pooled = final[0]
        sequence, pooled = drop_read_output(self.dropout, self.reads, x, pooled)
        return ModelOutput(sequence=sequence, pooled=pooled, state=finals)


def build_lstm(
    context: ModelContext,
    embedding_dim: int = 64,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    bidirectional: bool = False,
    forget_bias: float = 1.0,
    variant: str = "vanilla",
) -> nn.Module:
    if variant != "vanilla":
        return VariantLSTM(context, embedding_dim, hidden_size, num_layers, dropout,
                           bidirectional, variant, forget_bias)
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
        Param("variant", str, "vanilla", "vanilla (fused), peephole, or coupled input-forget gate",
              choices=("vanilla", "peephole", "coupled"),
              space=Choice(("vanilla", "peephole", "coupled"))),
    )),
    causal=lambda hp: not hp.get("bidirectional", False),
    stateful=True,
    hidden_states=lambda hp: not hp.get("bidirectional", False),
    description="LSTM: fused nn.LSTM, or peephole / coupled-gate variants (custom cell)",
    reference="Hochreiter & Schmidhuber 1997; Gers et al. 2000; Jozefowicz et al. 2015; "
              "Greff et al. 2017",
)


@hookimpl
def register_models(register):
    register(LSTM)
