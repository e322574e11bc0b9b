"""The sequence-to-sequence (N-vs-M) contract: a source sequence in, a target sequence
with its own length out (Sutskever et al. 2014; Cho et al. 2014).

A task declares `TaskSpec(output="seq2seq")` and its `context()` carries a
`Seq2SeqTarget` in `ModelContext.target`; a model declares `"seq2seq"` in
`ModelSpec.outputs`. No other model or task changes: `compatibility()` refuses a
seq2seq task with a model that does not list the kind, and a seq2seq model with a
task that needs another kind.

Batch contract (besides "inputs" and "lengths", the source as for every task):
    "target":         LongTensor (B, U) target ids y_1 .. y_n EOS, then padding_idx
    "target_lengths": LongTensor (B,) n + 1 (the EOS counts), 1 <= target_lengths <= U

Model contract (all four; shapes with N rows, N = B for greedy, B·K for a beam of K):
    model(inputs, lengths, decoder_inputs=(B, U), decoder_lengths=(B,))
        -> ModelOutput(sequence=(B, U, D)), D = model.output_size: teacher forcing,
        decoder_inputs = BOS y_1 .. y_n (`decoder_inputs()` below); sequence[:, u]
        depends on the source and decoder_inputs[:, :u+1] only, and positions >=
        decoder_lengths (and source positions >= lengths) change nothing else.
    model.encode(inputs, lengths) -> state      the decoder's state before step 1
    model.decode_step(tokens (N,), state) -> (features (N, D), state)
        one decoder step: the same features that teacher forcing gives at that
        position when fed the same tokens.
    model.select_state(state, index (N',)) -> state   rows `index` of every tensor in
        the state (beam search expands B rows to B·K and reorders them).
The task's head maps (…, D) features to (…, vocab_size) logits; training is teacher-
forced; validation and test metrics come from decoding with the model's own
predictions fed back (greedy, or a beam of `beam_width`), see rnnbench.training.decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

SEQ2SEQ = "seq2seq"  # the output kind
TARGET_KEYS = ("target", "target_lengths")


def decode_options(beam: int = 1) -> tuple:
    """The task option `beam`: validation/test decoding width (1: greedy)."""
    from rnnbench.contract.params import Param

    return (
        Param("beam", int, beam, "beam width of validation/test decoding (1: greedy)", minimum=1),
    )


@dataclass(frozen=True)
class Seq2SeqTarget:
    """The target side of a seq2seq task, in `ModelContext.target`.

    vocab_size:  target ids are in [0, vocab_size); the head's output size.
    bos_id / eos_id / padding_idx: begin-of-sequence (decoder input at step 1), end of
                 sequence (the last real target token) and padding ids; all distinct.
    max_length:  the most tokens decoding produces (EOS included).
    beam_width:  K for validation/test decoding: 1 is greedy, K > 1 beam search.
    """

    vocab_size: int
    bos_id: int
    eos_id: int
    padding_idx: int
    max_length: int
    beam_width: int = 1

    def problem(self) -> str | None:
        """None when consistent, else one line saying what is wrong."""
        ids = (self.bos_id, self.eos_id, self.padding_idx)
        if len(set(ids)) != 3:
            return f"bos_id, eos_id and padding_idx must differ, got {ids}"
        if not all(0 <= i < self.vocab_size for i in ids):
            return f"special ids {ids} must lie in [0, vocab_size={self.vocab_size})"
        if self.max_length < 1 or self.beam_width < 1:
            return (
                f"max_length and beam_width must be >= 1, got {self.max_length}, {self.beam_width}"
            )
        return None


def decoder_inputs(
    target: torch.Tensor, target_lengths: torch.Tensor, spec: Seq2SeqTarget
) -> torch.Tensor:
    """Teacher-forcing inputs (B, U): BOS y_1 .. y_n, padding_idx after each row's
    target_lengths (the target shifted right by one, its EOS dropped)."""
    import torch

    shifted = torch.cat([torch.full_like(target[:, :1], spec.bos_id), target[:, :-1]], dim=1)
    positions = torch.arange(target.shape[1], device=target.device)  # (U,)
    return shifted.masked_fill(positions[None, :] >= target_lengths[:, None], spec.padding_idx)


def sequence_lengths(tokens: torch.Tensor, eos_id: int) -> torch.Tensor:
    """(B, U) decoded ids -> (B,) tokens up to and including the first EOS (U when a
    row has none)."""
    import torch

    is_eos = tokens == eos_id  # (B, U)
    first = torch.where(
        is_eos.any(1),
        is_eos.int().argmax(1),
        torch.full_like(is_eos[:, 0], tokens.shape[1] - 1, dtype=torch.long),
    )
    return first + 1
