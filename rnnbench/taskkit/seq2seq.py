"""Task-side pieces for seq2seq tasks (public through `rnnbench.taskkit`):

    TokenSequences   objective: head (…, D) -> (…, V) logits, teacher-forced
                     cross-entropy per target token, metrics of the decoded output
    ExactMatch, TokenAccuracy   torchmetrics over decoded ids (B, U') vs target (B, U)
    sequence_scores  the same two figures for any hypotheses (baselines)
    pad_sequences    ragged id lists -> (B, U) LongTensor and (B,) lengths
    decode_options   the task option `beam` (validation/test decoding width)

Targets follow rnnbench.contract.seq2seq: y_1 .. y_n EOS, then padding. A hypothesis
is its ids up to and including its first EOS. Exact match: the hypothesis equals the
target (same length, same ids). Token accuracy: the fraction of target positions
(EOS included) where the hypothesis has the same id (micro-averaged over tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric

from rnnbench.contract.seq2seq import decode_options, sequence_lengths  # noqa: F401  (kit name)


def pad_sequences(rows: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, max len) ids padded with `pad`, and (B,) lengths."""
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    out = torch.full((len(rows), int(lengths.max()) if len(rows) else 0), pad, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
    return out, lengths


def sequence_scores(hypotheses: torch.Tensor, target: torch.Tensor, eos_id: int, pad: int):
    """(exact (B,) bool, correct target tokens (B,), target tokens (B,)) of hypotheses
    (B, U') against targets (B, U); ids after a hypothesis's first EOS do not count."""
    width = max(hypotheses.shape[1], target.shape[1])
    hyp = F.pad(hypotheses, (0, width - hypotheses.shape[1]), value=pad)  # (B, W)
    ref = F.pad(target, (0, width - target.shape[1]), value=pad)  # (B, W)
    positions = torch.arange(width, device=hyp.device)[None, :]
    ref_len = sequence_lengths(ref, eos_id)  # (B,)
    hyp = hyp.masked_fill(positions >= sequence_lengths(hyp, eos_id)[:, None], pad)
    ref = ref.masked_fill(positions >= ref_len[:, None], pad)
    real = positions < ref_len[:, None]  # (B, W)
    same = hyp == ref
    exact = same.all(1)
    return exact, (same & real).sum(1), ref_len


class ExactMatch(Metric):
    """Fraction of sequences decoded exactly (higher is better)."""

    higher_is_better = True
    full_state_update = False

    def __init__(self, eos_id: int, pad: int) -> None:
        super().__init__()
        self.eos_id, self.pad = eos_id, pad
        self.add_state("hits", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")

    def update(self, hypotheses: torch.Tensor, target: torch.Tensor) -> None:
        exact, _, _ = sequence_scores(hypotheses, target, self.eos_id, self.pad)
        self.hits += exact.sum()
        self.total += exact.numel()

    def compute(self) -> torch.Tensor:
        return self.hits.float() / self.total.clamp(min=1)


class TokenAccuracy(ExactMatch):
    """Fraction of target tokens (EOS included) decoded at their position."""

    def update(self, hypotheses: torch.Tensor, target: torch.Tensor) -> None:
        _, correct, count = sequence_scores(hypotheses, target, self.eos_id, self.pad)
        self.hits += correct.sum()
        self.total += count.sum()


class TextMetric(Metric):
    """A torchmetrics text metric (BLEUScore, CharErrorRate, ...) over decoded ids:
    `text(ids) -> str` turns one hypothesis or target (EOS and padding removed) into
    the string it scores."""

    full_state_update = False

    def __init__(
        self,
        metric: Metric,
        text: Callable[[list[int]], str],
        eos_id: int,
        nested_references: bool = False,
    ) -> None:
        super().__init__()
        self.inner, self.text, self.eos_id = metric, text, eos_id
        self.nested = nested_references  # BLEU takes a list of references per hypothesis

    def _strings(self, ids: torch.Tensor) -> list[str]:
        lengths = sequence_lengths(ids, self.eos_id).tolist()
        rows = ids.tolist()
        return [
            self.text([t for t in row[:n] if t != self.eos_id])
            for row, n in zip(rows, lengths, strict=True)
        ]

    def update(
        self,
        hypotheses: torch.Tensor,
        target: torch.Tensor,
        references: Sequence[str] | None = None,
    ) -> None:
        """references: the reference strings themselves (B of them), when the target ids
        lose text (an <unk>, a truncation) that the score must see."""
        hyps = self._strings(hypotheses)
        refs = list(references) if references is not None else self._strings(target)
        self.inner.update(hyps, [[r] for r in refs] if self.nested else refs)

    def compute(self) -> torch.Tensor:
        return self.inner.compute()

    def reset(self) -> None:
        super().reset()
        self.inner.reset()


class TokenSequences:
    """The objective of a seq2seq task (see the module docstring): logits (B, U, V),
    cross-entropy averaged over real target tokens; metrics `exact` and `token_acc`
    (and `extra`, e.g. {"bleu": lambda: TextMetric(...)}) on decoded ids."""

    def __init__(
        self,
        vocab_size: int,
        eos_id: int,
        pad: int,
        extra: Mapping[str, Callable[[], Metric]] | None = None,
    ) -> None:
        self.vocab_size, self.eos_id, self.pad = vocab_size, eos_id, pad
        self.extra = dict(extra or {})

    def head(self, in_features: int) -> nn.Module:
        return nn.Linear(in_features, self.vocab_size)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(
            logits.reshape(-1, self.vocab_size), target.reshape(-1), ignore_index=self.pad
        )

    def metrics(self) -> dict[str, Metric]:
        return {
            "exact": ExactMatch(self.eos_id, self.pad),
            "token_acc": TokenAccuracy(self.eos_id, self.pad),
            **{name: make() for name, make in self.extra.items()},
        }

    def update_metrics(
        self, metrics: Mapping[str, Metric], hypotheses: torch.Tensor, target: torch.Tensor
    ) -> None:
        for metric in metrics.values():
            metric.update(hypotheses, target)

    def baseline(self, hypotheses: torch.Tensor, target: torch.Tensor) -> float:
        """Exact match of a trivial predictor's hypotheses (B, U') on the test targets."""
        exact, _, _ = sequence_scores(hypotheses, target, self.eos_id, self.pad)
        return float(exact.float().mean())


def loss_weight(batch: Mapping[str, Any]) -> int:
    """Target tokens in a seq2seq batch (what its mean loss averages over)."""
    return int(batch["target_lengths"].sum())


seq2seq_loss_weight = loss_weight  # its name in rnnbench.taskkit
