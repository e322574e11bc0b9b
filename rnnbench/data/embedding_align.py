"""Aligning pretrained vectors to a task's vocabulary.

For each id i of the task's vocabulary (V tokens) the row of the file's token:
exact match first, then (with `lowercase`) the first file token whose lower-cased
form equals the task token's lower-cased form. Tokens found in neither way get a
seeded random vector N(0, s^2), s the standard deviation of all the file's values,
so that they start on the file's scale; the padding row is zero.

Coverage: the share of the vocabulary found (the padding id left out) and, when the
task gives its training-token counts, the share of training tokens (occurrences)
whose token was found.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnnbench.data.embeddings import Vectors


@dataclass
class Alignment:
    matrix: torch.Tensor  # (V, E) float32: the rows to install
    found: torch.Tensor  # (V,) bool: taken from the file
    exact: int  # ids matched exactly
    lowercased: int  # ids matched only through lower-casing
    vocab_coverage: float  # share of the vocabulary (padding left out) found
    token_coverage: float | None  # share of training tokens found, when counts are known
    real: int  # ids that are not padding

    @property
    def missing(self) -> int:
        """Ids (padding left out) seeded at random."""
        return self.real - int(self.found.sum())


def align(
    vocab: list[str],
    vectors: Vectors,
    *,
    lowercase: bool = False,
    seed: int = 0,
    padding_idx: int | None = 0,
    counts: torch.Tensor | None = None,
) -> Alignment:
    """The (V, E) matrix for `vocab` from `vectors` (see the module docstring);
    `counts` (V,) are training-split occurrences per id, or None."""
    index = {token: n for n, token in enumerate(vectors.tokens)}
    lower: dict[str, int] = {}
    if lowercase:
        for n, token in enumerate(vectors.tokens):
            lower.setdefault(token.lower(), n)
    rows = torch.full((len(vocab),), -1, dtype=torch.long)  # (V,) file row per id, -1: none
    exact = lowered = 0
    for i, token in enumerate(vocab):
        if i == padding_idx:
            continue
        row: int | None = index.get(token)
        if row is not None:
            exact += 1
        elif lowercase and (row := lower.get(token.lower())) is not None:
            lowered += 1
        if row is not None:
            rows[i] = row
    found = rows >= 0  # (V,)
    dim = vectors.dim
    scale = float(vectors.vectors.std()) if vectors.vectors.numel() > 1 else 1.0
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(len(vocab), dim, generator=generator) * scale  # (V, E)
    matrix[found] = vectors.vectors[rows[found]]
    real = torch.ones(len(vocab), dtype=torch.bool)
    if padding_idx is not None and 0 <= padding_idx < len(vocab):
        matrix[padding_idx] = 0.0
        real[padding_idx] = False
    vocab_coverage = float(found[real].float().mean()) if bool(real.any()) else 0.0
    token_coverage = None
    if counts is not None:
        counts = counts.to(torch.float64) * real  # (V,) no padding occurrences
        total = float(counts.sum())
        token_coverage = float(counts[found].sum()) / total if total else 0.0
    return Alignment(matrix, found, exact, lowered, vocab_coverage, token_coverage, int(real.sum()))


def restricted_ids(keep: torch.Tensor, unk_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For a vocabulary cut to the ids where `keep` (V,) is True (padding 0 and unk_id
    always kept): (old id -> new id (V,), with dropped ids mapped to the unknown's new
    id; the kept old ids in order (V',))."""
    keep = keep.clone().to(torch.bool)
    keep[0] = True
    keep[unk_id] = True
    new = torch.cumsum(keep.long(), 0) - 1  # (V,) new id of each kept token
    mapping = torch.where(keep, new, new[unk_id])
    return mapping, torch.nonzero(keep).flatten()
