"""A trained run's input embeddings as a word2vec text file (`rnnbench export-embeddings`).

The run is rebuilt on the CPU from its recorded settings with its best checkpoint's
weights (rnnbench.training.restore, as for `rnnbench generate`); the export checks that
its task has token inputs and lists its vocabulary, finds the input nn.Embedding (rnnbench.training.embeddings.find_embedding) and writes

    N E                         header: vectors, dimension
    TOKEN v_1 ... v_E           one line per vocabulary token (Task.vocabulary())

leaving out the padding id and tokens that the format cannot hold (empty or with
whitespace, e.g. the space of a character-level vocabulary). Values are written
with 9 significant digits, which reproduce float32 exactly, so the file reloads
(`train.embeddings=OUT`) to the same tensor. OUT is written beside and renamed: an
error leaves nothing; a name ending in .gz is gzipped.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import ConfigError, IncompatibleError
from rnnbench.contract.vocabulary import task_vocabulary


@dataclass
class Exported:
    path: Path
    vectors: int
    dim: int
    skipped: list[str]  # tokens left out (padding and unwritable ones)


def export_embeddings(
    results_dir: Path,
    run_id: str,
    out: Path,
    registry: Any,
    tracker: Any = None,
    where: str | None = None,
) -> Exported:
    """`tracker`: the tracking store whose logged model restores the run when its folder
    under results_dir/runs is gone (rnnbench.training.restore)."""
    from rnnbench.training.embeddings import find_embedding
    from rnnbench.training.restore import restore_run

    def has_token_inputs(model_spec: Any, task_spec: Any) -> None:
        if task_spec.input_kind != "tokens":
            raise IncompatibleError(
                f"--run {run_id}: task {task_spec.name!r} has no token "
                "inputs, hence no input embeddings"
            )

    prepared = restore_run(
        results_dir, run_id, registry, tracker=tracker, where=where, check=has_token_inputs
    ).prepared
    tokens = task_vocabulary(prepared.task)
    if tokens is None:
        raise IncompatibleError(
            f"--run {run_id}: task {prepared.config.task!r} does not list "
            "its vocabulary (Task.vocabulary(); rnnbench.contract.vocabulary)"
        )
    weight = find_embedding(prepared.system.model, prepared.model_spec, len(tokens)).weight
    padding = prepared.task.context().padding_idx
    return write_vectors(out, tokens, weight.detach().float().cpu(), padding)


def write_vectors(out: Path, tokens: list[str], weight: Any, padding_idx: int | None) -> Exported:
    """Write (V, E) `weight` with `tokens` in the text format (see the module docstring)."""
    keep = [
        i
        for i, t in enumerate(tokens)
        if i != padding_idx and t and not any(c.isspace() for c in t)
    ]
    skipped = [tokens[i] for i in range(len(tokens)) if i not in set(keep)]
    rows = weight[keep].numpy()  # (N, E)
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    try:
        opener = gzip.open if out.name.endswith(".gz") else open
        with opener(partial, "wt", encoding="utf-8", newline="\n") as fh:
            fh.write(f"{len(keep)} {rows.shape[1]}\n")
            for i, row in zip(keep, rows, strict=True):
                fh.write(tokens[i] + " " + " ".join(f"{v:.9g}" for v in row.tolist()) + "\n")
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"{out}: cannot be written ({exc.strerror or exc})") from None
    return Exported(out, len(keep), int(rows.shape[1]), skipped)
