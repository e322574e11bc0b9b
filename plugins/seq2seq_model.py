"""RNN encoder-decoder (N-vs-M) with optional attention.

Sutskever, Vinyals & Le 2014, "Sequence to Sequence Learning with Neural Networks";
Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder";
Bahdanau, Cho & Bengio 2015 (additive attention); Luong, Pham & Manning 2015
(multiplicative "general" attention).

Encoder (fused nn.RNN/LSTM/GRU, `num_layers`, optionally bidirectional, packed):
    h_s = Enc(E_x x_s)                            s = 1..S   memory (B, S, He), He = H·dirs
    c   = [h→_S ; h←_1] of the top layer          the context vector (B, He)
Decoder (same cell, `num_layers`, H units), y_0 = BOS, for t = 1..U:
    context="init"  (Cho 2014 / Sutskever 2014)  s_0 = tanh(W_b c),  x_t = E_y y_{t-1}
    context="input" (c at every step)             s_0 = 0,  x_t = [E_y y_{t-1} ; c]
    attention="none":      s_t = Dec(x_t, s_{t-1});              o_t = s_t
    attention="bahdanau":  e_ts = vᵀ tanh(W_a s_{t-1} + U_a h_s), α_t = softmax_s(e_t)
                           a_t = Σ_s α_ts h_s;  s_t = Dec([x_t ; a_t], s_{t-1})
                           o_t = tanh(W_o [s_t ; a_t])
    attention="luong":     s_t = Dec(x_t, s_{t-1});  e_ts = s_tᵀ W_a h_s (general)
                           a_t = Σ_s α_ts h_s;  o_t = tanh(W_c [a_t ; s_t])
The task's head maps o_t (D = H) to p(y_t | y_<t, x). Source positions >= length are
masked out of α. Bahdanau's readout is simplified: the paper's deep output is a maxout
over U_o s_{t-1} + V_o E_y y_{t-1} + C_o a_t, here one tanh layer over [s_t ; a_t]
(as in Luong's attentional hidden state), so that both kinds share the head; and s_0
comes from c (context="init"), not from the backward encoder's first state alone. For an LSTM, s_0's cell state starts at zero. Luong's attention is
computed after the recurrence and without input feeding, so teacher forcing runs the
fused decoder over all U steps at once; Bahdanau's reads s_{t-1} before each step, so
its decoder runs step by step.

Model contract (rnnbench.contract.seq2seq): forward (teacher forcing), encode,
decode_step and select_state, with the decoder state a dict of tensors.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnbench import ModelContext, ModelOutput
from rnnbench.nn import InputEncoder, final_hidden, length_mask, run_rnn

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Attention(nn.Module):
    """Scores of a query (N, H) or (N, U, H) against memory (N, S, He), masked softmax
    over S, and the weighted sum of the memory: (N[, U], He)."""

    def __init__(self, kind: str, query_size: int, memory_size: int) -> None:
        super().__init__()
        self.kind = kind
        if kind == "bahdanau":
            self.query = nn.Linear(query_size, query_size, bias=False)  # W_a
            self.key = nn.Linear(memory_size, query_size)  # U_a
            self.v = nn.Linear(query_size, 1, bias=False)
        else:
            self.key = nn.Linear(memory_size, query_size, bias=False)  # W_a of s_tᵀ W_a h_s

    def weights(self, query, keys, mask):
        """α: (N, U, S), each row a distribution over the real source positions
        (query (N, H) gives U = 1; keys (N, S, H) = key(memory); mask (N, S))."""
        q = query.unsqueeze(1) if query.dim() == 2 else query  # (N, U, H)
        if self.kind == "bahdanau":
            e = self.v(torch.tanh(self.query(q).unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)
        else:
            e = q @ keys.transpose(1, 2)  # (N, U, S)
        return e.masked_fill(~mask.unsqueeze(1), -torch.inf).softmax(-1)

    def forward(self, query, keys, memory, mask):
        context = self.weights(query, keys, mask) @ memory  # (N, U, He)
        return context.squeeze(1) if query.dim() == 2 else context


class EncoderDecoder(nn.Module):
    def __init__(
        self,
        context: ModelContext,
        embedding_dim: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        cell: str,
        bidirectional: bool,
        context_mode: str,
        attention: str,
    ) -> None:
        super().__init__()
        target = context.target
        rnn = CELLS[cell]
        self.cell, self.context_mode, self.attention_kind = cell, context_mode, attention
        self.layers, self.hidden = num_layers, hidden_size
        self.bidirectional = bidirectional
        between = dropout if num_layers > 1 else 0.0
        memory = hidden_size * (2 if bidirectional else 1)  # He
        self.source = InputEncoder(context, embedding_dim)
        self.encoder = rnn(
            self.source.output_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=between,
            bidirectional=bidirectional,
        )
        self.embed = nn.Embedding(target.vocab_size, embedding_dim, padding_idx=target.padding_idx)
        step_in = (
            embedding_dim
            + (memory if context_mode == "input" else 0)
            + (memory if attention == "bahdanau" else 0)
        )
        self.decoder = rnn(step_in, hidden_size, num_layers, batch_first=True, dropout=between)
        if context_mode == "init":
            self.bridge = nn.Linear(memory, num_layers * hidden_size)  # W_b
        if attention != "none":
            self.attend = Attention(attention, hidden_size, memory)
            self.combine = nn.Linear(hidden_size + memory, hidden_size)  # W_o or W_c
        self.dropout = nn.Dropout(dropout)
        self.output_size = hidden_size  # D

    # ------------------------------------------------------------------ encoder
    def encode(self, inputs: torch.Tensor, lengths: torch.Tensor) -> dict:
        """The decoder's state before step 1 (every tensor has its rows on dim 0,
        except "rnn", the recurrence's (L, N, H) state or (h, c) pair)."""
        x = self.dropout(self.source(inputs))  # (B, S, E)
        memory, final = run_rnn(self.encoder, x, lengths)  # (B, S, He)
        h_n = final[0] if isinstance(final, tuple) else final  # (L·dirs, B, H)
        summary = final_hidden(h_n, self.bidirectional)  # c: (B, He)
        B = summary.shape[0]
        if self.context_mode == "init":
            h0 = torch.tanh(self.bridge(summary)).view(B, self.layers, self.hidden)
            h0 = h0.transpose(0, 1).contiguous()  # (L, B, H)
        else:
            h0 = summary.new_zeros(self.layers, B, self.hidden)
        state = {
            "rnn": (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0,
            "summary": summary,
            "memory": memory,
            "mask": length_mask(lengths, memory.shape[1]),
        }  # (B, S)
        if self.attention_kind != "none":
            state["keys"] = self.attend.key(memory)  # (B, S, H)
        return state

    def select_state(self, state: dict, index: torch.Tensor) -> dict:
        out = {k: v.index_select(0, index) for k, v in state.items() if k != "rnn"}
        rnn = state["rnn"]
        out["rnn"] = (
            tuple(h.index_select(1, index) for h in rnn)
            if isinstance(rnn, tuple)
            else rnn.index_select(1, index)
        )
        return out

    # ------------------------------------------------------------------ decoder
    def _top(self, rnn_state) -> torch.Tensor:
        return (rnn_state[0] if isinstance(rnn_state, tuple) else rnn_state)[-1]  # (N, H)

    def _inputs(self, tokens: torch.Tensor, state: dict) -> torch.Tensor:
        x = self.dropout(self.embed(tokens))  # (N[, U], E)
        if self.context_mode == "input":
            c = (
                state["summary"]
                if x.dim() == 2
                else state["summary"].unsqueeze(1).expand(-1, x.shape[1], -1)
            )
            x = torch.cat([x, c], dim=-1)  # (N[, U], E + He)
        return x

    def decode_step(self, tokens: torch.Tensor, state: dict):
        """tokens (N,) -> (o_t (N, D), the state after step t)."""
        x = self._inputs(tokens, state)  # (N, E')
        rnn_state = state["rnn"]
        if self.attention_kind == "bahdanau":
            a = self.attend(self._top(rnn_state), state["keys"], state["memory"], state["mask"])
            x = torch.cat([x, a], dim=-1)  # (N, E' + He)
        out, rnn_state = self.decoder(x.unsqueeze(1), rnn_state)
        s = out[:, 0]  # (N, H)
        if self.attention_kind == "bahdanau":
            o = torch.tanh(self.combine(torch.cat([s, a], dim=-1)))
        elif self.attention_kind == "luong":
            a = self.attend(s, state["keys"], state["memory"], state["mask"])  # (N, He)
            o = torch.tanh(self.combine(torch.cat([a, s], dim=-1)))
        else:
            o = s
        return self.dropout(o), {**state, "rnn": rnn_state}

    def forward(
        self,
        inputs: torch.Tensor,
        lengths: torch.Tensor,
        state=None,
        *,
        decoder_inputs: torch.Tensor,
        decoder_lengths: torch.Tensor,
    ) -> ModelOutput:
        """Teacher forcing: decoder_inputs (B, U) = BOS y_1 .. -> sequence (B, U, D).
        Positions >= decoder_lengths are computed but never read (the decoder is causal)."""
        enc = self.encode(inputs, lengths)
        if self.attention_kind == "bahdanau":  # s_{t-1} feeds the attention: step by step
            outputs, step_state = [], enc
            for tokens in decoder_inputs.unbind(1):
                o, step_state = self.decode_step(tokens, step_state)
                outputs.append(o)
            return ModelOutput(sequence=torch.stack(outputs, dim=1))  # (B, U, D)
        s, _ = self.decoder(self._inputs(decoder_inputs, enc), enc["rnn"])  # (B, U, H)
        if self.attention_kind == "luong":
            a = self.attend(s, enc["keys"], enc["memory"], enc["mask"])  # (B, U, He)
            s = torch.tanh(self.combine(torch.cat([a, s], dim=-1)))
        return ModelOutput(sequence=self.dropout(s))  # (B, U, D)


def build_seq2seq(
    task_context: ModelContext,
    /,
    embedding_dim: int = 64,
    hidden_size: int = 128,
    num_layers: int = 1,
    dropout: float = 0.0,
    cell: str = "gru",
    bidirectional: bool = False,
    context: str = "init",
    attention: str = "none",
) -> EncoderDecoder:
    if task_context.target is None:
        from rnnbench import ConfigError

        raise ConfigError(
            "model seq2seq: the task gives no target side (ModelContext.target); "
            "pair it with a task whose output is seq2seq"
        )
    return EncoderDecoder(
        task_context,
        embedding_dim,
        hidden_size,
        num_layers,
        dropout,
        cell,
        bidirectional,
        context,
        attention,
    )
