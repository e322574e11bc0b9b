"""The optional vocabulary methods of a token task (documented protocol).

A `Task` with token inputs may define them; the core uses them to install pretrained
embeddings (`train.embeddings`) and to export a trained run's embeddings
(`rnnbench export-embeddings`). The built-in text-classification task defines all
three, language modelling the first two.

    vocabulary() -> list[str]
        the token of every input id, in id order (len == ModelContext.vocab_size);
        needed for train.embeddings and export-embeddings.
    token_counts() -> torch.Tensor
        (V,) long: occurrences of each id in the training split (padding excluded),
        for the training-token coverage of pretrained vectors; optional.
    restrict_vocabulary(keep: torch.Tensor) -> None
        keep (V,) bool: cut the vocabulary to the kept ids (the task keeps its padding
        and unknown ids regardless) and map the others to unknown, in every split;
        called after prepare() and before context(); needed for
        train.embeddings_restrict.
"""

from __future__ import annotations

from typing import Any


def task_vocabulary(task: Any) -> list[str] | None:
    """The task's tokens by id, or None when it does not say."""
    method = getattr(task, "vocabulary", None)
    return list(method()) if callable(method) else None
