"""Recurrent building blocks for model plugins (public through `rnnbench.nn`): input
encoding, fused recurrences with packing, custom cell stacks, masks and pooling.
Shapes: B batch, T time, E embedding, H hidden.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnbench.contract.specs import ModelContext


class InputEncoder(nn.Module):
    """Token ids (B, T) -> embeddings (B, T, E); real features (B, T, F) pass through.

    `output_size` is E for tokens and F for features.
    """

    def __init__(self, context: ModelContext, embedding_dim: int) -> None:
        super().__init__()
        if context.input_kind == "tokens":
            self.embedding: nn.Embedding | None = nn.Embedding(
                context.vocab_size, embedding_dim, padding_idx=context.padding_idx
            )
            self.output_size = embedding_dim
        else:
            self.embedding = None
            self.output_size = int(context.feature_size or 0)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.embedding is not None:
            return self.embedding(inputs)  # (B, T, E)
        return inputs.float()  # (B, T, F)


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, T) bool mask, True at real positions."""
    positions = torch.arange(max_len, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)


def run_rnn(
    rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor, state=None, sequence: bool = True
):
    """Run a fused torch recurrence over a padded batch.

    x: (B, T, E); lengths: (B,). Returns (outputs (B, T, H*dirs) with zeros at padded
    positions, final state at each sequence's true length). Packs only when lengths
    differ, so equal-length batches take the plain fused path. sequence=False: a caller
    that reads only the final state skips unpacking the outputs, which may then be None.
    """
    total = x.shape[1]
    cpu_lengths = lengths.detach().to("cpu")
    if bool((cpu_lengths == total).all()):
        return rnn(x, state)
    if hasattr(rnn, "forward_padded"):  # a recurrence that masks itself (rnnbench.nn.gru.GRU)
        return rnn.forward_padded(x, lengths, state)
    packed = pack_padded_sequence(x, cpu_lengths, batch_first=True, enforce_sorted=False)
    out, final = rnn(packed, state)
    if not sequence:
        return None, final
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=total)
    return out, final


def drop_read_output(
    dropout: nn.Module, reads: str, sequence: torch.Tensor, pooled: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Output dropout on the field the task reads (`context.output`: "sequence" or
    "pooled") and not on the other, which nobody reads: dropping a (B, T, H) sequence
    that a pooled task ignores was 14% of an LSTM's training step on the CPU."""
    if reads == "sequence":
        return dropout(sequence), pooled
    return sequence, dropout(pooled)


def final_hidden(h_n: torch.Tensor, bidirectional: bool) -> torch.Tensor:
    """h_n: (layers*dirs, B, H) -> (B, H*dirs): the top layer's final state(s).

    For a bidirectional layer: forward state at the true last position, concatenated
    with the backward state after reading back to position 0.
    """
    if bidirectional:
        return torch.cat([h_n[-2], h_n[-1]], dim=-1)
    return h_n[-1]


class FusedRecurrent(nn.Module):
    """Input encoder -> dropout -> fused nn.RNN/nn.LSTM/nn.GRU stack -> dropout (on the
    output the task reads).

    forward(inputs (B, T) or (B, T, F), lengths (B,), state) -> ModelOutput with
      sequence (B, T, H*dirs), zeros at padded positions;
      pooled   (B, H*dirs), the top layer's final state(s) at each true length;
      state    the recurrence's final state, for the next consecutive window;
      hidden   the top layer's outputs h_1..h_T.
    """

    def __init__(
        self,
        rnn_type: type[nn.RNNBase],
        context: ModelContext,
        embedding_dim: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        bidirectional: bool = False,
        **rnn_kwargs,
    ) -> None:
        super().__init__()
        self.encoder = InputEncoder(context, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        self.reads = context.output
        self.bidirectional = bidirectional
        self.rnn = rnn_type(
            self.encoder.output_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            **rnn_kwargs,
        )
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, state=None):
        from rnnbench.contract.specs import ModelOutput

        x = self.dropout(self.encoder(inputs))  # (B, T, E)
        out, final = run_rnn(self.rnn, x, lengths, state)  # (B, T, H*dirs)
        h_n = final[0] if isinstance(final, tuple) else final  # (layers*dirs, B, H)
        sequence, pooled = drop_read_output(
            self.dropout, self.reads, out, final_hidden(h_n, self.bidirectional)
        )
        return ModelOutput(sequence=sequence, pooled=pooled, state=final)

    def forward_unrolled(self, inputs: torch.Tensor, lengths: torch.Tensor):
        """The same recurrence one step at a time, returning (ModelOutput, [h_1..h_T]).

        h_t: (layers, B, H), the state passed to step t+1 and read by the output, so
        dL/dh_t is the total derivative through time. Unidirectional models only;
        padded steps keep the state (as packing would).
        """
        from rnnbench.contract.specs import ModelOutput

        if self.bidirectional:
            raise ValueError("forward_unrolled needs a unidirectional recurrence")
        x = self.dropout(self.encoder(inputs))  # (B, T, E)
        mask = length_mask(lengths, x.shape[1])  # (B, T)
        state, hidden, outputs = None, [], []
        for x_t, m in zip(x.unbind(1), mask.unbind(1), strict=True):
            _, new = self.rnn(x_t.unsqueeze(1), state)
            if state is not None:  # padded sequences keep their state
                keep = m.view(1, -1, 1)
                new = (
                    tuple(torch.where(keep, n, o) for n, o in zip(new, state, strict=True))
                    if isinstance(new, tuple)
                    else torch.where(keep, new, state)
                )
            state = new
            h = state[0] if isinstance(state, tuple) else state  # (layers, B, H)
            hidden.append(h)
            outputs.append(h[-1] * m.unsqueeze(1))
        sequence, pooled = drop_read_output(
            self.dropout, self.reads, torch.stack(outputs, dim=1), hidden[-1][-1]
        )
        return ModelOutput(sequence=sequence, pooled=pooled, state=state), hidden


# --- Stacks of custom recurrent cells -------------------------------------------------


def keep_state(mask_t: torch.Tensor | None, new: tuple, old: tuple) -> tuple:
    """Per-sequence state update at one step: `new` where mask_t (B,) is True, `old`
    (the state at the true length) at padded steps. States are tuples of (B, ·)."""
    if mask_t is None:
        return new
    keep = mask_t.unsqueeze(1)  # (B, 1)
    return tuple(torch.where(keep, n, o) for n, o in zip(new, old, strict=True))


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence within its true length; padded positions stay in place.

    x: (B, T, ...) ; lengths: (B,)."""
    T = x.shape[1]
    t = torch.arange(T, device=x.device).unsqueeze(0)  # (1, T)
    lengths = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    index = torch.where(t < lengths, lengths - 1 - t, t)  # (B, T)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


class CellStack(nn.Module):
    """Input encoder -> dropout -> stacked (optionally bidirectional) custom recurrent
    layers -> dropout on the output the task reads; the `FusedRecurrent` contract.

    `make_layer(input_size) -> nn.Module` builds one direction of one layer, called
    as layer(x (B, T, I), mask (B, T) bool or None, state or None, steps list or None)
    -> (outputs (B, T, H) zero at padded steps, final state: a tuple whose first
    element is h (B, H) at each true length). A `steps` list receives every step's
    h_t (B, H) as used downstream (for `forward_unrolled`).
    forward -> ModelOutput with state = [final state of each layer's forward direction].
    """

    def __init__(
        self,
        context,
        embedding_dim: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        bidirectional: bool,
        make_layer,
    ) -> None:
        super().__init__()
        self.encoder = InputEncoder(context, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        self.reads = context.output
        self.bidirectional = bidirectional
        dirs = 2 if bidirectional else 1
        self.layers = nn.ModuleList()
        for layer in range(num_layers):
            size = self.encoder.output_size if layer == 0 else hidden_size * dirs
            self.layers.append(nn.ModuleList(make_layer(size) for _ in range(dirs)))
        self.output_size = hidden_size * dirs

    def forward_unrolled(self, inputs: torch.Tensor, lengths: torch.Tensor):
        """(ModelOutput, [h_1..h_T]) with h_t (B, H) the top layer's step states."""
        if self.bidirectional:
            raise ValueError("forward_unrolled needs a unidirectional recurrence")
        hidden: list[torch.Tensor] = []
        return self.forward(inputs, lengths, steps=hidden), hidden

    def forward(
        self, inputs: torch.Tensor, lengths: torch.Tensor, state=None, steps: list | None = None
    ):
        from rnnbench.contract.specs import ModelOutput

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
