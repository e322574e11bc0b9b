"""A drop-in `nn.GRU` with a faster path on the CPU at small widths (exported by
rnnbench.nn as `GRU`). It narrows, but does not close, the gap to `nn.LSTM` of the same
width there: 2.5-2.9x the fused LSTM's time at hidden 32-64 against torch's 3.9-4.6x
(results/benchmarks.md, issue 31's table); matching it needs a fused GRU kernel.

Why torch's GRU is slow on the CPU at small widths (profile in benchmarks/gru_kernels.py,
results/benchmarks.md): nn.LSTM runs oneDNN's fused RNN primitive (about 1 ATen call per
time step, forward and backward together), but torch sends only the LSTM there; nn.GRU
runs ATen's generic loop, a gru_cell of separate ops per step recorded by autograd (about
90 ATen calls per step with the backward). At hidden 32-64 that per-op overhead, not the
arithmetic, is the cost: about 3x the LSTM although a GRU does 3/4 of its work.

At those widths `GRU` runs its own recurrence: the input projection of all steps in one
matmul (autograd), then `GRURecurrence`, an autograd Function whose forward (7 kernels a
step) and backward (3 a step) write into preallocated buffers and record no per-step
graph; what does not carry the recurrence is computed for all steps at once. Elsewhere
(wider layers, CUDA, bf16/half, autocast, PackedSequence input) it is torch's kernel.

Same module, same math: the parameters, their names, initialisation and state_dict are
nn.GRU's (r, z, n gate blocks), so parameter counts, budgets and checkpoints do not
change; outputs and gradients equal the fused kernel's to float rounding
(tests/test_gru_dispatch.py holds it in float64).

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1} = n_t + z_t ⊙ (h_{t-1} - n_t)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

#: widest hidden size that takes the unfused path on the CPU (the crossover measured in
#: benchmarks/gru_kernels.py: above it torch's kernel is as fast or faster)
UNFUSED_MAX_HIDDEN = 64


class GRURecurrence(torch.autograd.Function):
    """One direction of one layer over a padded batch, with a hand-written backward.

    forward(gi (B, T, 3H) = W_i x_t + b_i for every step, h0 (B, H), w_hh (3H, H),
            b_hh (3H,), mask (B, T) bool, True at real steps, or None)
      -> (out (B, T, H): h_t, 0 at padded steps; h_n (B, H): h at each true length)
    At a padded step the state is kept (what packing does).

    Cost per step: forward 7 kernels (one addmm), backward 3 (one addmm). Everything that
    does not carry the recurrence (the gates' local derivatives, the weight gradients) is
    computed for all steps at once, before or after the loop.
    """

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh, mask):
        B, T, H3 = gi.shape
        H = H3 // 3
        w_rz, w_n = w_hh[: 2 * H].t(), w_hh[2 * H :].t()  # (H, 2H), (H, H)
        b_n = b_hh[2 * H :]
        gi = gi.transpose(0, 1)  # time-major views (T, B, 3H): steps are contiguous blocks
        gi_rz = (gi[..., : 2 * H] + b_hh[: 2 * H]).unbind(0)  # T x (B, 2H), both biases in
        gi_n = gi[..., 2 * H :].unbind(0)  # T x (B, H)
        # every step writes its results into these (T, B, ·) buffers (no stacking after)
        states, rzs = gi.new_empty(T, B, H), gi.new_empty(T, B, 2 * H)  # h_t, σ([r; z])
        ns, ghns = gi.new_empty(T, B, H), gi.new_empty(T, B, H)  # n_t, W_hn h_{t-1} + b_hn
        keep = mask.t().unsqueeze(2).unbind(0) if mask is not None else None  # T x (B, 1)
        h = h0
        steps = zip(
            gi_rz,
            gi_n,
            rzs.unbind(0),
            rzs[..., :H].unbind(0),
            rzs[..., H:].unbind(0),
            ghns.unbind(0),
            ns.unbind(0),
            states.unbind(0),
            strict=True,
        )
        for t, (gi_rz_t, gi_n_t, rz, r, z, ghn, n, state) in enumerate(steps):
            torch.addmm(gi_rz_t, h, w_rz, out=rz).sigmoid_()  # (B, 2H)
            torch.addmm(b_n, h, w_n, out=ghn)  # (B, H)
            torch.addcmul(gi_n_t, r, ghn, out=n).tanh_()  # (B, H)
            if keep is None:
                h = torch.addcmul(n, z, h - n, out=state)  # n + z (h - n)
            else:  # a padded step keeps h
                h = torch.where(keep[t], torch.addcmul(n, z, h - n), h, out=state)
        out = states * mask.t().unsqueeze(2) if mask is not None else states
        ctx.save_for_backward(w_hh, h0, states, rzs, ns, ghns, mask)
        ctx.mark_non_differentiable(*(() if mask is None else (mask,)))
        return out.transpose(0, 1), h.clone()  # h_n: its own tensor, not a view of out

    @staticmethod
    def backward(ctx, d_out, d_hn):
        w_hh, h0, states, rz, n, ghn, mask = ctx.saved_tensors  # time-major (T, B, ·)
        T, B, H = states.shape
        prev = torch.cat([h0.unsqueeze(0), states[:-1]])  # h_{t-1} (T, B, H)
        r, z = rz[..., :H], rz[..., H:]
        # local derivatives of every step, all steps at once (T, B, H):
        dn_dh = (1 - z) * (1 - n * n)  # d n_pre / d h_t  (through the tanh)
        dz_dh = (prev - n) * z * (1 - z)  # d z_pre / d h_t  (through the σ)
        dr_dh = dn_dh * ghn * r * (1 - r)  # d r_pre / d h_t
        direct = z  # d h_t / d h_{t-1} outside W_h
        if d_out is not None:
            d_out = d_out.transpose(0, 1)  # (T, B, H)
        if mask is not None:  # a padded step passes dh on unchanged and has no gate terms
            m = mask.t().unsqueeze(2).to(states.dtype)  # (T, B, 1)
            dn_dh, dz_dh, dr_dh = dn_dh * m, dz_dh * m, dr_dh * m
            direct = z * m + (1 - m)
            d_out = d_out * m if d_out is not None else None
        # d(W_h h_{t-1} + b_h)/d h_t for the r, z, n blocks: (T, B, 3, H)
        k = torch.stack([dr_dh, dz_dh, dn_dh * r], 2)
        # dL/dh_t (total) for t = T-1 .. 0: dh_{t-1} = d_out_{t-1} + dh_t ⊙ direct_t
        #   + (k_t ⊙ dh_t) W_h; three kernels a step
        zeros = states.new_zeros(B, H)
        d_out_steps = d_out.unbind(0) if d_out is not None else (zeros,) * T
        dh = d_out_steps[T - 1] + (d_hn if d_hn is not None else zeros)
        k_steps, direct_steps = k.unbind(0), direct.unbind(0)
        dhs = states.new_empty(T + 1, B, H)  # dhs[t] = dL/dh_t; dhs[-1] ends as dL/dh_0
        dhs[T - 1] = dh
        dh_steps = dhs.unbind(0)
        for t in range(T - 1, -1, -1):
            d_gh = k_steps[t] * dh_steps[t].unsqueeze(1)  # (B, 3, H)
            below = d_out_steps[t - 1] if t else zeros
            torch.addmm(
                torch.addcmul(below, dh_steps[t], direct_steps[t]),
                d_gh.view(B, 3 * H),
                w_hh,
                out=dh_steps[t - 1],
            )  # t = 0: dhs[-1]
        dh, dhs = dhs[T], dhs[:T]
        d_gh = (k * dhs.unsqueeze(2)).view(T * B, 3 * H)  # gradient of W_h h_{t-1} + b_h
        d_gi = d_gh.clone().view(T, B, 3 * H)
        d_gi[..., 2 * H :] = dhs * dn_dh  # the n block's input term is outside r ⊙ (.)
        d_w_hh = d_gh.t() @ prev.view(T * B, H)  # (3H, H)
        d_b_hh = d_gh.sum(0)
        return (d_gi.transpose(0, 1), dh if ctx.needs_input_grad[1] else None, d_w_hh, d_b_hh, None)


class GRU(nn.GRU):
    """nn.GRU whose forward runs `GRURecurrence` when that is the faster path (see the
    module docstring); `forward_padded` takes a padded batch with lengths, so that callers
    such as `rnnbench.nn.run_rnn` need not pack for it."""

    def unfused(self, x: torch.Tensor) -> bool:
        """Whether input x takes the own recurrence: CPU, float32/64, no autocast, a
        width at which torch's kernel is the slower one."""
        return (
            x.device.type == "cpu"
            and x.dtype in (torch.float32, torch.float64)
            and self.hidden_size <= UNFUSED_MAX_HIDDEN
            and self.proj_size == 0
            and not torch.is_autocast_enabled("cpu")
        )

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence) or not self.unfused(input):
            return super().forward(input, hx)
        unbatched = input.dim() == 2
        x = input.unsqueeze(0 if self.batch_first else 1) if unbatched else input
        if hx is not None and unbatched:
            hx = hx.unsqueeze(1)
        x = x if self.batch_first else x.transpose(0, 1)  # (B, T, I)
        out, h_n = self.recurrence(x, None, hx)
        out = out if self.batch_first else out.transpose(0, 1)
        if unbatched:
            return out.squeeze(0 if self.batch_first else 1), h_n.squeeze(1)
        return out, h_n

    def forward_padded(self, x: torch.Tensor, lengths: torch.Tensor, hx=None):
        """x: (B, T, I) batch first, padded; lengths: (B,). Returns (out (B, T, D*H), zero
        at padded steps; h_n (layers*D, B, H) at each true length), as packing would."""
        if not self.batch_first:
            raise ValueError("forward_padded takes batch-first input")
        if not self.unfused(x):
            total = x.shape[1]
            packed = pack_padded_sequence(
                x, lengths.detach().to("cpu"), batch_first=True, enforce_sorted=False
            )
            out, h_n = super().forward(packed, hx)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=total)
            return out, h_n
        return self.recurrence(x, lengths, hx)

    def recurrence(self, x: torch.Tensor, lengths: torch.Tensor | None, hx):
        """x (B, T, I) -> (out (B, T, D*H), h_n (layers*D, B, H)), every layer and
        direction through GRURecurrence."""
        from rnnbench.nn import length_mask, reverse_padded

        B, T, _ = x.shape
        dirs = 2 if self.bidirectional else 1
        if hx is None:
            hx = x.new_zeros(self.num_layers * dirs, B, self.hidden_size)
        mask = None
        if lengths is not None and not bool((lengths == T).all()):
            mask = length_mask(lengths, T)  # (B, T) bool
        elif self.bidirectional:
            lengths = torch.full((B,), T, device=x.device)
        finals = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(dirs):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                seq = layer_input if not direction else reverse_padded(layer_input, lengths)
                gi = F.linear(
                    seq,
                    getattr(self, "weight_ih" + suffix),
                    getattr(self, "bias_ih" + suffix) if self.bias else None,
                )
                b_hh = (
                    getattr(self, "bias_hh" + suffix)
                    if self.bias
                    else gi.new_zeros(3 * self.hidden_size)
                )
                out, h_n = GRURecurrence.apply(
                    gi,
                    hx[layer * dirs + direction],
                    getattr(self, "weight_hh" + suffix),
                    b_hh,
                    mask,
                )
                outputs.append(out if not direction else reverse_padded(out, lengths))
                finals.append(h_n)
            layer_input = outputs[0] if dirs == 1 else torch.cat(outputs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        return layer_input, torch.stack(finals, 0)
