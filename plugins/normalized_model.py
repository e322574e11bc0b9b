"""Normalised recurrences: layer-normalised LSTM and GRU (Ba, Kiros & Hinton 2016) and the
batch-normalised LSTM (Cooijmans et al. 2017). Own models, unidirectional, with the
custom-cell fast path: the input term of all steps is projected (and normalised) at once,
then the recurrence iterates over `unbind(1)`. LN(z; α, β) normalises z over its last
dimension: α ⊙ (z - mean(z)) / std(z) + β.

ln-lstm (Ba et al. 2016's layer-normalised LSTM; the 4H summed inputs of the blocks
i, f, g, o are normalised jointly; b is β of the input term):
    [i~; f~; g~; o~] = LN(W x_t; α_x, b) + LN(U h_{t-1}; α_h)
    c_t = σ(f~) ⊙ c_{t-1} + σ(i~) ⊙ tanh(g~)
    h_t = σ(o~) ⊙ tanh(LN(c_t; α_c, β_c))
ln-gru (the same recipe on the GRU of plugins/gru.py; the gates r, z (2H) and the
candidate (H) are normalised separately, for the input and the recurrent term):
    [r~; z~] = LN(W_rz x_t; α_1, b_rz) + LN(U_rz h_{t-1}; α_2)
    n_t = tanh(LN(W_n x_t; α_3, b_n) + σ(r~) ⊙ LN(U_n h_{t-1}; α_4, β_4))
    h_t = (1 - σ(z~)) ⊙ n_t + σ(z~) ⊙ h_{t-1}
bn-lstm (Cooijmans et al. 2017; BN with no shift on the two terms, b instead):
    [i~; f~; g~; o~] = BN_t(W x_t; γ_x) + BN_t(U h_{t-1}; γ_h) + b
    c_t = σ(f~) ⊙ c_{t-1} + σ(i~) ⊙ tanh(g~)
    h_t = σ(o~) ⊙ tanh(BN_t(c_t; γ_c, β_c))
  BN_t uses statistics of step t: in training the batch's (over the sequences still
  running at t), each step's running averages kept up to the longest training length;
  in evaluation the running averages, step t > that length reusing the last one. Every
  γ starts at 0.1, β_c at 0. Not stateful: a second window would restart at step 0.

The forget-gate bias starts at `forget_bias`; `init` sets U per (H, H) gate block
(default or orthogonal; identity is refused) as in plugins/lstm.py.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnbench import ModelContext
from rnnbench.nn import CellStack, init_recurrent_, keep_state


def _run(inputs: torch.Tensor, mask: torch.Tensor | None, state: tuple, steps, step_fn):
    """The time loop shared by the cells. inputs (B, T, ·): the input terms of all steps;
    step_fn(t, input_t (B, ·), state, mask_t (B,) or None) -> new state (h first).
    Returns (outputs (B, T, H) zero at padded steps, final state at the true lengths)."""
    masks = mask.unbind(1) if mask is not None else [None] * inputs.shape[1]
    outputs = []
    for t, (gx, m) in enumerate(zip(inputs.unbind(1), masks, strict=True)):
        state = keep_state(m, step_fn(t, gx, state, m), state)
        h = state[0]
        outputs.append(h if m is None else h * m.unsqueeze(1))
        if steps is not None:
            steps.append(h)
    return torch.stack(outputs, dim=1), state


class LayerNormLSTMLayer(nn.Module):
    """One LN-LSTM layer: forward(x (B, T, E), mask, state (h, c) or None, steps)."""

    def __init__(
        self, input_size: int, hidden_size: int, forget_bias: float, init: str, init_scale: float
    ):
        super().__init__()
        H = self.hidden_size = hidden_size
        self.input_proj = nn.Linear(input_size, 4 * H, bias=False)  # W
        self.recurrent = nn.Linear(H, 4 * H, bias=False)  # U
        init_recurrent_(self.recurrent.weight, init, init_scale)
        self.norm_x = nn.LayerNorm(4 * H)  # α_x, b
        self.norm_h = nn.LayerNorm(4 * H, bias=False)  # α_h
        self.norm_c = nn.LayerNorm(H)  # α_c, β_c
        with torch.no_grad():
            self.norm_x.bias[H : 2 * H] = forget_bias

    def forward(self, x, mask, state=None, steps=None):
        B, H = x.shape[0], self.hidden_size
        state = state or (x.new_zeros(B, H), x.new_zeros(B, H))
        projected = self.norm_x(self.input_proj(x))  # (B, T, 4H)
        return _run(projected, mask, state, steps, self.step)

    def step(self, t, gx, state, m):
        h, c = state
        i, f, g, o = (gx + self.norm_h(self.recurrent(h))).chunk(4, dim=1)  # (B, H) each
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(self.norm_c(c)), c


class LayerNormGRULayer(nn.Module):
    """One LN-GRU layer: forward(x (B, T, E), mask, state (h,) or None, steps)."""

    def __init__(self, input_size: int, hidden_size: int, init: str, init_scale: float):
        super().__init__()
        H = self.hidden_size = hidden_size
        self.input_proj = nn.Linear(input_size, 3 * H, bias=False)  # W_rz; W_n
        self.recurrent = nn.Linear(H, 3 * H, bias=False)  # U_rz; U_n
        init_recurrent_(self.recurrent.weight, init, init_scale)
        self.norm_x_gates = nn.LayerNorm(2 * H)  # α_1, b_rz
        self.norm_x_new = nn.LayerNorm(H)  # α_3, b_n
        self.norm_h_gates = nn.LayerNorm(2 * H, bias=False)  # α_2
        self.norm_h_new = nn.LayerNorm(H)  # α_4, β_4

    def forward(self, x, mask, state=None, steps=None):
        B, H = x.shape[0], self.hidden_size
        state = state or (x.new_zeros(B, H),)
        wx = self.input_proj(x)  # (B, T, 3H)
        projected = torch.cat(
            [self.norm_x_gates(wx[..., : 2 * H]), self.norm_x_new(wx[..., 2 * H :])], dim=-1
        )  # (B, T, 3H)
        return _run(projected, mask, state, steps, self.step)

    def step(self, t, gx, state, m):
        (h,) = state
        H = self.hidden_size
        uh = self.recurrent(h)  # (B, 3H)
        r, z = torch.sigmoid(gx[:, : 2 * H] + self.norm_h_gates(uh[:, : 2 * H])).chunk(2, 1)
        n = torch.tanh(gx[:, 2 * H :] + r * self.norm_h_new(uh[:, 2 * H :]))
        return ((1 - z) * n + z * h,)


class StepBatchNorm(nn.Module):
    """Batch normalisation with statistics per time step (Cooijmans et al. 2017).

    forward(x (B, T, F) holding steps start..start+T-1, mask (B, T) bool or None,
    start) -> (B, T, F). Buffers running_mean / running_var (L, F) hold step 0..L-1's
    running averages, L the longest training length so far (they grow in training;
    loading a state dict resizes them to the saved L). Evaluation at step t >= L uses
    step L-1's; before any training, mean 0 and variance 1.
    """

    def __init__(
        self,
        features: int,
        gamma: float = 0.1,
        shift: bool = True,
        momentum: float = 0.1,
        eps: float = 1e-5,
    ):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.full((features,), gamma))  # γ
        self.bias = nn.Parameter(torch.zeros(features)) if shift else None  # β
        self.register_buffer("running_mean", torch.zeros(0, features))
        self.register_buffer("running_var", torch.ones(0, features))
        self.register_load_state_dict_pre_hook(self._resize_to_saved)

    def _resize_to_saved(self, module, state_dict, prefix, *args) -> None:
        for name in ("running_mean", "running_var"):
            saved = state_dict.get(prefix + name)
            if saved is not None and saved.shape != getattr(self, name).shape:
                setattr(self, name, torch.empty_like(saved, device=self.weight.device))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, start: int) -> torch.Tensor:
        B, T, F = x.shape
        if self.training:
            self._reserve(start + T)
            if mask is None and B > 1:  # torch's fused kernel, steps as T*F channels
                return self._fused(
                    x,
                    self.running_mean[start : start + T],
                    self.running_var[start : start + T],
                    True,
                )
            return self._masked(x, mask, start)
        L = self.running_mean.shape[0]
        if L == 0:
            mean, var = x.new_zeros(T, F), x.new_ones(T, F)
        elif start + T <= L:
            mean, var = self.running_mean[start : start + T], self.running_var[start : start + T]
        else:  # steps beyond the longest training length reuse the last one's
            slots = torch.arange(start, start + T, device=x.device).clamp(max=L - 1)
            mean, var = self.running_mean[slots], self.running_var[slots]
        return self._fused(x, mean, var, False)

    def _fused(self, x, mean, var, training: bool) -> torch.Tensor:
        """F.batch_norm on x (B, T, F) viewed as (B, T*F); in training it updates the
        running rows `mean`, `var` (views (T, F) of the buffers) in place."""
        B, T, F = x.shape
        weight = self.weight.repeat(T)
        bias = self.bias.repeat(T) if self.bias is not None else None
        out = torch.nn.functional.batch_norm(
            x.reshape(B, T * F),
            mean.reshape(-1),
            var.reshape(-1),
            weight,
            bias,
            training,
            self.momentum,
            self.eps,
        )
        return out.view(B, T, F)

    def _masked(self, x, mask, start: int) -> torch.Tensor:
        """Training statistics over the sequences running at each step (mask (B, T))."""
        w = (mask.unsqueeze(-1) if mask is not None else x.new_ones(*x.shape[:2], 1)).to(x.dtype)
        count = w.sum(0)  # (T, 1)
        mean = (x * w).sum(0) / count.clamp(min=1)  # (T, F)
        var = ((x - mean) ** 2 * w).sum(0) / count.clamp(min=1)
        self._update(start, mean.detach(), var.detach(), count)
        out = (x - mean) * torch.rsqrt(var + self.eps) * self.weight
        return out + self.bias if self.bias is not None else out

    @torch.no_grad()
    def _reserve(self, steps: int) -> None:
        """Grow the running rows to `steps`; new steps start at mean 0, variance 1."""
        L, F = self.running_mean.shape
        if steps > L:
            self.running_mean = torch.cat(
                [self.running_mean, self.running_mean.new_zeros(steps - L, F)]
            )
            self.running_var = torch.cat(
                [self.running_var, self.running_var.new_ones(steps - L, F)]
            )

    @torch.no_grad()
    def _update(self, start: int, mean, var, count) -> None:
        """Running averages of steps start.. from masked statistics (T, F), count (T, 1):
        a step's mean moves when a sequence ran there, its variance when two did."""
        end = start + mean.shape[0]
        unbiased = var * count / (count - 1).clamp(min=1)
        for buffer, value, enough in (
            (self.running_mean, mean, count > 0),
            (self.running_var, unbiased, count > 1),
        ):
            old = buffer[start:end]
            buffer[start:end] = torch.where(enough, old.lerp(value, self.momentum), old)


class BatchNormLSTMLayer(nn.Module):
    """One BN-LSTM layer: forward(x (B, T, E), mask, state (h, c) or None, steps)."""

    def __init__(
        self, input_size: int, hidden_size: int, forget_bias: float, init: str, init_scale: float
    ):
        super().__init__()
        H = self.hidden_size = hidden_size
        self.input_proj = nn.Linear(input_size, 4 * H, bias=False)  # W
        self.recurrent = nn.Linear(H, 4 * H, bias=False)  # U
        init_recurrent_(self.recurrent.weight, init, init_scale)
        self.bias = nn.Parameter(torch.zeros(4 * H))  # b, gate blocks i, f, g, o
        with torch.no_grad():
            self.bias[H : 2 * H] = forget_bias
        self.norm_x = StepBatchNorm(4 * H, shift=False)  # γ_x
        self.norm_h = StepBatchNorm(4 * H, shift=False)  # γ_h
        self.norm_c = StepBatchNorm(H)  # γ_c, β_c

    def forward(self, x, mask, state=None, steps=None):
        B, H = x.shape[0], self.hidden_size
        state = state or (x.new_zeros(B, H), x.new_zeros(B, H))
        projected = self.norm_x(self.input_proj(x), mask, 0) + self.bias  # (B, T, 4H)
        return _run(projected, mask, state, steps, self.step)

    def step(self, t, gx, state, m):
        h, c = state
        m = m.unsqueeze(1) if m is not None else None  # (B, 1)
        uh = self.norm_h(self.recurrent(h).unsqueeze(1), m, t).squeeze(1)  # (B, 4H)
        i, f, g, o = (gx + uh).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        normed = self.norm_c(c.unsqueeze(1), m, t).squeeze(1)
        return torch.sigmoid(o) * torch.tanh(normed), c


def build_ln_lstm(
    context: ModelContext,
    embedding_dim: int = 64,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    forget_bias: float = 1.0,
    init: str = "default",
    init_scale: float = 1.0,
) -> nn.Module:
    return CellStack(
        context,
        embedding_dim,
        hidden_size,
        num_layers,
        dropout,
        False,
        lambda size: LayerNormLSTMLayer(size, hidden_size, forget_bias, init, init_scale),
    )


def build_ln_gru(
    context: ModelContext,
    embedding_dim: int = 64,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    init: str = "default",
    init_scale: float = 1.0,
) -> nn.Module:
    return CellStack(
        context,
        embedding_dim,
        hidden_size,
        num_layers,
        dropout,
        False,
        lambda size: LayerNormGRULayer(size, hidden_size, init, init_scale),
    )


def build_bn_lstm(
    context: ModelContext,
    embedding_dim: int = 64,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    forget_bias: float = 1.0,
    init: str = "default",
    init_scale: float = 1.0,
) -> nn.Module:
    return CellStack(
        context,
        embedding_dim,
        hidden_size,
        num_layers,
        dropout,
        False,
        lambda size: BatchNormLSTMLayer(size, hidden_size, forget_bias, init, init_scale),
    )
