"""Batched decoding for seq2seq models (the model contract of rnnbench.contract.seq2seq):
greedy, and beam search with the B·K hypotheses as one batch. The only Python loop is
over output steps; every step is one `decode_step` call on all rows.

Both return (tokens (B, U') long, lengths (B,) long): each row is its hypothesis up to
and including its first EOS, padding_idx after it; U' <= max_length, and decoding stops
as soon as every row (every beam) has emitted EOS. A row that never emits EOS has
length max_length. Neither ever emits padding_idx or bos_id (their logits are masked
before the softmax: p is over the ordinary ids and EOS), and beam search accepts any
width K >= 1, also K above the vocabulary size (slots without a distinct hypothesis
keep log-probability -inf and are never the answer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from rnnbench.contract.seq2seq import Seq2SeqTarget, sequence_lengths


def allowed_logits(logits: torch.Tensor, spec: Seq2SeqTarget) -> torch.Tensor:
    """(N, V) logits with padding_idx and bos_id at -inf: a decoder never emits them."""
    return logits.index_fill(
        -1, torch.tensor([spec.padding_idx, spec.bos_id], device=logits.device), -torch.inf
    )


@torch.no_grad()
def greedy_decode(
    model: Any,
    head: Callable,
    inputs: torch.Tensor,
    lengths: torch.Tensor,
    spec: Seq2SeqTarget,
    max_length: int | None = None,
):
    """The most probable token at every step, fed back as the next decoder input."""
    steps = max_length or spec.max_length
    B = lengths.shape[0]
    state = model.encode(inputs, lengths)
    tokens = torch.full((B,), spec.bos_id, dtype=torch.long, device=lengths.device)  # (B,)
    done = torch.zeros(B, dtype=torch.bool, device=lengths.device)
    out = []
    for _ in range(steps):
        features, state = model.decode_step(tokens, state)  # (B, D)
        tokens = allowed_logits(head(features), spec).argmax(-1)  # (B,)
        tokens = tokens.masked_fill(done, spec.padding_idx)
        out.append(tokens)
        done = done | (tokens == spec.eos_id)
        if bool(done.all()):
            break
    decoded = torch.stack(out, dim=1)  # (B, U')
    return decoded, sequence_lengths(decoded, spec.eos_id)


@torch.no_grad()
def beam_decode(
    model: Any,
    head: Callable,
    inputs: torch.Tensor,
    lengths: torch.Tensor,
    spec: Seq2SeqTarget,
    beam_width: int | None = None,
    max_length: int | None = None,
):
    """Beam search of width K: at every step each of the K live hypotheses of an example
    is extended by every token and the K best sums of log-probabilities are kept
    (a finished hypothesis extends only by padding, at no cost). The answer is the
    hypothesis with the best log-probability per token (length-normalised, so that
    short hypotheses are not favoured merely for being short). K = 1 is greedy."""
    K = beam_width or spec.beam_width
    steps = max_length or spec.max_length
    B = lengths.shape[0]
    device = lengths.device
    state = model.select_state(
        model.encode(inputs, lengths), torch.arange(B, device=device).repeat_interleave(K)
    )  # B·K rows
    tokens = torch.full((B * K,), spec.bos_id, dtype=torch.long, device=device)  # (B·K,)
    score = torch.full((B, K), -torch.inf, device=device)
    score[:, 0] = 0.0  # one live hypothesis per example at the start
    done = torch.zeros(B * K, dtype=torch.bool, device=device)
    history = torch.empty(B * K, 0, dtype=torch.long, device=device)  # (B·K, t)
    for _ in range(steps):
        features, state = model.decode_step(tokens, state)  # (B·K, D)
        logp = allowed_logits(head(features), spec).log_softmax(-1)  # (B·K, V)
        V = logp.shape[-1]
        finished = torch.full_like(logp, -torch.inf)
        finished[:, spec.padding_idx] = 0.0  # a finished hypothesis only pads, for free
        logp = torch.where(done[:, None], finished, logp)
        total = (score[:, :, None] + logp.view(B, K, V)).view(B, K * V)  # (B, K·V)
        score, best = total.topk(K, dim=1)  # (B, K)
        parent = best // V + torch.arange(B, device=device)[:, None] * K  # (B, K) rows
        parent, tokens = parent.view(-1), (best % V).view(-1)  # (B·K,)
        state = model.select_state(state, parent)
        history = torch.cat([history[parent], tokens[:, None]], dim=1)
        done = done[parent] | (tokens == spec.eos_id)
        if bool(done.all()):
            break
    hyp_lengths = sequence_lengths(history, spec.eos_id).view(B, K)  # (B, K)
    pick = (score / hyp_lengths).argmax(1) + torch.arange(B, device=device) * K  # (B,)
    decoded = history[pick]  # (B, U')
    return decoded, sequence_lengths(decoded, spec.eos_id)


def decode(
    model: Any, head: Callable, inputs: torch.Tensor, lengths: torch.Tensor, spec: Seq2SeqTarget
):
    """Greedy when spec.beam_width is 1, else beam search of that width."""
    if spec.beam_width == 1:
        return greedy_decode(model, head, inputs, lengths, spec)
    return beam_decode(model, head, inputs, lengths, spec)
