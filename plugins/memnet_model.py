"""End-To-End Memory Network (Sukhbaatar, Szlam, Weston & Fergus 2015, NeurIPS).

Memories are built from the input sequence; a query reads them in K hops:

    m_i = Σ_j l_j ⊙ A x_ij + T_A(i)          input memory    (B, N, d)
    c_i = Σ_j l_j ⊙ C x_ij + T_C(i)          output memory   (B, N, d)
    p   = softmax(u^k · m_i)                  attention       (B, N)
    o   = Σ_i p_i c_i ;  u^{k+1} = u^k + o                   (B, d)

- Position encoding (paper §4.1): l_kj = (1 - j/J) - (k/d)(1 - 2j/J), j = 1..J words
  of the memory, k = 1..d.
- Temporal encoding T_A(i), T_C(i): learned, indexed by recency (0 = newest memory);
  only the `memory_size` newest memories are kept.
- Adjacent weight tying: A^{k+1} = C^k (and T_A^{k+1} = T_C^k), so K hops use K+1
  embedding tables.
- Linear start (paper §4.2): for the first `linear_start_steps` training steps the
  softmax is removed (p = u · m), then re-inserted.

Classification (pooled output): memories are the task's sentences when it gives a
sentence-end token, otherwise consecutive windows of `window` tokens; the query u^1
is a learned vector; the output is u^{K+1}.

Language modelling (sequence output, paper §5): each previous word is one memory (no
position encoding), the query is the constant vector 0.1, and the memory at step t
holds the `memory_size` words up to t; the last words are carried as state into the
next window.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnbench import ModelContext, ModelOutput
from rnnbench.nn import length_mask

LM_QUERY = 0.1  # the paper's constant query for language modelling


def position_encoding(j: torch.Tensor, J: torch.Tensor, d: int) -> torch.Tensor:
    """l_kj for word positions j (1-based) in memories of length J: (...,) -> (..., d)."""
    k = torch.arange(1, d + 1, device=j.device, dtype=torch.float32) / d  # (d,)
    ratio = (j.float() / J.clamp(min=1).float()).unsqueeze(-1)  # (..., 1)
    return (1 - ratio) - k * (1 - 2 * ratio)


class MemN2N(nn.Module):
    def __init__(
        self,
        context: ModelContext,
        embedding_dim: int,
        hops: int,
        memory_size: int,
        window: int,
        linear_start_steps: int,
    ):
        super().__init__()
        d, V = embedding_dim, context.vocab_size
        self.language_model = context.output == "sequence"
        self.segment_token = context.segment_token
        self.padding_idx = context.padding_idx if context.padding_idx is not None else 0
        self.hops, self.memory_size, self.window = hops, memory_size, window
        # tables 0..K: hop k reads memories with table k (A^k) and table k+1 (C^k)
        self.embeddings = nn.ModuleList(nn.Embedding(V, d) for _ in range(hops + 1))
        self.temporal = nn.Parameter(torch.randn(hops + 1, memory_size, d) * 0.1)  # T_A, T_C
        for table in self.embeddings:
            nn.init.normal_(table.weight, std=0.1)
        if not self.language_model:
            self.query = nn.Parameter(torch.randn(d) * 0.1)  # learned u^1
        self.linear_start_steps = linear_start_steps
        self.register_buffer("steps_seen", torch.zeros((), dtype=torch.long))
        self.output_size = d

    def attend(self, scores: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """scores, valid: (..., N) -> attention weights (..., N), zero on invalid memories."""
        if int(self.steps_seen) < self.linear_start_steps:
            return scores * valid
        weights = scores.masked_fill(~valid, float("-inf")).softmax(dim=-1)
        return weights.nan_to_num(0.0)  # a row with no valid memory reads nothing

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, state=None) -> ModelOutput:
        if self.training:
            self.steps_seen += 1
        if self.language_model:
            return self._language_model(inputs, state)
        return self._classify(inputs, lengths)

    # ------------------------------------------------------------ classification
    def _memory_layout(self, tokens: torch.Tensor, valid: torch.Tensor):
        """Memory index and 1-based word position of every token: (B, T) each."""
        B, T = tokens.shape
        t = torch.arange(T, device=tokens.device).expand(B, T)
        if self.segment_token is None:
            return t // self.window, t % self.window + 1
        ends = (tokens == self.segment_token) & valid  # a sentence ends at its marker
        memory = torch.cumsum(ends.long(), dim=1) - ends.long()  # markers before t
        starts = torch.ones_like(ends)
        starts[:, 1:] = ends[:, :-1]
        first = torch.cummax(torch.where(starts, t, torch.zeros_like(t)), dim=1).values
        return memory, t - first + 1

    def _classify(self, tokens: torch.Tensor, lengths: torch.Tensor) -> ModelOutput:
        B, T = tokens.shape
        d = self.output_size
        valid = length_mask(lengths, T)  # (B, T)
        memory, j = self._memory_layout(tokens, valid)  # (B, T) each
        memory = memory.masked_fill(~valid, 0)
        N = int(memory.max()) + 1
        words = torch.zeros(B, N, device=tokens.device).scatter_add_(1, memory, valid.float())
        J = words.gather(1, memory)  # (B, T) length of each token's memory
        weight = position_encoding(j, J, d) * valid.unsqueeze(-1)  # (B, T, d)
        count = (memory.masked_fill(~valid, -1).max(dim=1).values + 1).unsqueeze(1)  # (B, 1)
        age = count - 1 - torch.arange(N, device=tokens.device).unsqueeze(0)  # (B, N), 0 = newest
        present = (age >= 0) & (age < self.memory_size)  # (B, N)
        age = age.clamp(0, self.memory_size - 1)
        index = memory.unsqueeze(-1).expand(B, T, d)

        def memories(k: int) -> torch.Tensor:  # (B, N, d)
            bag = torch.zeros(B, N, d, device=tokens.device)
            bag.scatter_add_(1, index, weight * self.embeddings[k](tokens))
            return bag + self.temporal[k][age]

        u = self.query.expand(B, d)  # (B, d)
        m = memories(0)
        for k in range(self.hops):
            c = memories(k + 1)  # adjacent tying: C^k = A^{k+1}
            p = self.attend(torch.einsum("bnd,bd->bn", m, u), present)  # (B, N)
            u = u + torch.einsum("bn,bnd->bd", p, c)
            m = c
        return ModelOutput(pooled=u)

    # --------------------------------------------------------- language modelling
    def _language_model(self, tokens: torch.Tensor, state) -> ModelOutput:
        """Banded attention over the stream: query t reads words t, t-1, ..., t-M+1.

        Equivalent to building the M memories of every step, without materialising a
        (B, T, M, d) tensor: scores are u_t · A w_s for all stream positions s, masked
        to the band, plus u_t · T_A(t - s) read from a (B, T, M) table by distance.
        """
        B, T = tokens.shape
        M, d = self.memory_size, self.output_size
        history = state if state is not None else tokens.new_zeros(B, 0)
        P = history.shape[1]
        full = torch.cat([history, tokens], dim=1)  # (B, S), S = P + T
        S = full.shape[1]
        device = tokens.device
        distance = (P + torch.arange(T, device=device)).unsqueeze(1) - torch.arange(
            S, device=device
        )
        band = (distance >= 0) & (distance < M)  # (T, S): word s is in step t's memory
        by_distance = distance.clamp(0, M - 1).expand(B, T, S)  # recency index of word s
        # position of the word at distance r from step t, for reading weights by recency
        source = (P + torch.arange(T, device=device)).unsqueeze(1) - torch.arange(M, device=device)
        present = (source >= 0).expand(B, T, M)  # (B, T, M)
        source = source.clamp(min=0).expand(B, T, M)

        u = tokens.new_full((B, T, d), LM_QUERY, dtype=torch.float32)  # constant query
        words_in = self.embeddings[0](full)  # (B, S, d)
        for k in range(self.hops):
            words_out = self.embeddings[k + 1](full)  # (B, S, d), adjacent tying
            scores = torch.einsum("btd,bsd->bts", u, words_in)  # content: u_t · A w_s
            recency = torch.einsum("btd,md->btm", u, self.temporal[k])  # u_t · T_A(r)
            scores = scores + recency.gather(2, by_distance)  # (B, T, S)
            p = self.attend(scores, band.expand(B, T, S))  # (B, T, S), zero off the band
            p_by_distance = p.gather(2, source) * present  # (B, T, M)
            u = (
                u
                + torch.einsum("bts,bsd->btd", p, words_out)
                + torch.einsum("btm,md->btd", p_by_distance, self.temporal[k + 1])
            )
            words_in = words_out
        carry = full[:, -(M - 1) :] if M > 1 else full[:, :0]
        return ModelOutput(sequence=u, state=carry)


def build_memnet(
    context: ModelContext,
    embedding_dim: int = 64,
    hops: int = 3,
    memory_size: int = 50,
    window: int = 4,
    linear_start_steps: int = 0,
) -> MemN2N:
    return MemN2N(context, embedding_dim, hops, memory_size, window, linear_start_steps)
