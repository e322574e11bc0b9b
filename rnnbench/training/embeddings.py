"""Pretrained input embeddings for any token model (`--set train.embeddings=PATH`).

The run reads the vectors (rnnbench.data.embeddings, cached by the file's digest),
aligns them to the task's vocabulary (rnnbench.data.embedding_align; the task lists
its tokens through `vocabulary()`, rnnbench.contract.vocabulary), sets the model's
embedding size from the file, builds the model, then copies the (V, E) matrix into
the model's input nn.Embedding and freezes it or leaves it trainable.

Which embedding: `ModelSpec.embedding` (a dotted attribute path such as
"encoder.embedding"), else the model's single nn.Embedding with vocab_size rows. Which
hyperparameter sizes it: `ModelSpec.embedding_dim`, else "embedding_dim" when the
model has one. An explicit `model.embedding_dim` that differs from the file's
dimension is an error (`rnnbench run`); in a sweep the file's dimension replaces a
sampled one.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import ConfigError, IncompatibleError, RnnbenchError
from rnnbench.contract.params import Param
from rnnbench.contract.vocabulary import task_vocabulary

OPTIONS = (
    Param(
        "embeddings",
        str,
        "",
        "pretrained input vectors: word2vec/GloVe/fastText text (.gz too), or .npy/.npz "
        "with train.embeddings_vocab ('': none, embeddings learned from scratch)",
    ),
    Param("embeddings_vocab", str, "", "vocabulary of a .npy/.npz matrix, one token per line"),
    Param("embeddings_array", str, "", "array name in a .npz (default: its only array)"),
    Param(
        "embeddings_lowercase",
        bool,
        False,
        "match a token missing from the file by its lower-cased form",
    ),
    Param(
        "embeddings_restrict",
        bool,
        False,
        "limit the task's vocabulary to tokens found in the file (the others are unknown)",
    ),
    Param(
        "embeddings_freeze", bool, False, "keep the pretrained embeddings fixed (else fine-tuned)"
    ),
)


@dataclass
class LoadedEmbeddings:
    path: str
    file_tokens: int  # distinct tokens in the file
    alignment: Any  # rnnbench.data.embedding_align.Alignment
    freeze: bool

    @property
    def dim(self) -> int:
        return int(self.alignment.matrix.shape[1])

    def metrics(self) -> dict[str, float]:
        a = self.alignment
        out = {
            "embeddings_vocab_coverage": a.vocab_coverage,
            "embeddings_found": float(int(a.found.sum())),
            "embeddings_missing": float(a.missing),
        }
        if a.token_coverage is not None:
            out["embeddings_token_coverage"] = a.token_coverage
        return out

    def params(self) -> dict[str, Any]:
        return {"embeddings.dim": self.dim, "embeddings.file_tokens": self.file_tokens}

    def summary(self) -> str:
        a = self.alignment
        found = int(a.found.sum())
        tokens = (
            f", {a.token_coverage:.1%} of training tokens" if a.token_coverage is not None else ""
        )
        lowered = f", {a.lowercased:,} lower-cased" if a.lowercased else ""
        return (
            f"embeddings: {self.path}: {self.file_tokens:,} vectors of {self.dim}; found "
            f"{found:,} of {a.real:,} vocabulary tokens ({a.vocab_coverage:.1%}{lowered})"
            f"{tokens}; {a.missing:,} seeded at random; "
            f"{'frozen' if self.freeze else 'fine-tuned'}"
        )


def dim_param(model_spec: Any) -> str | None:
    if model_spec.embedding_dim:
        return model_spec.embedding_dim
    return "embedding_dim" if "embedding_dim" in model_spec.params else None


def _files(train: Mapping[str, Any]) -> tuple[Path, Path | None]:
    path = Path(train["embeddings"]).expanduser()
    vocab = Path(train["embeddings_vocab"]).expanduser() if train["embeddings_vocab"] else None
    return path, vocab


def check_request(
    model_spec: Any,
    task_spec: Any,
    explicit_model: Mapping[str, Any],
    model_params: Mapping[str, Any],
    train: Mapping[str, Any],
) -> None:
    """Config-time checks of train.embeddings* (nothing is written)."""
    from rnnbench.data.embeddings import is_numpy, load_vectors

    if not train["embeddings"]:
        for key in ("embeddings_vocab", "embeddings_array"):
            if train[key]:
                raise ConfigError(f"train.{key}: set without train.embeddings")
        return
    if task_spec.input_kind != "tokens":
        raise IncompatibleError(
            f"train.embeddings: task {task_spec.name!r} has "
            f"{task_spec.input_kind} inputs; embeddings need token inputs"
        )
    path, vocab = _files(train)
    for key, file in (("embeddings", path), ("embeddings_vocab", vocab)):
        if file is not None and not file.is_file():
            raise ConfigError(f"train.{key}: no such file {file}")
    if is_numpy(path) and vocab is None:
        raise ConfigError(
            f"train.embeddings_vocab: required for the NumPy matrix {path} "
            "(one token per line, line i naming row i)"
        )
    name = dim_param(model_spec)
    if name is not None and name in explicit_model:
        dim = load_vectors(path, vocab, train["embeddings_array"]).dim
        if model_params[name] != dim:
            raise ConfigError(
                f"model.{name}={model_params[name]} conflicts with "
                f"train.embeddings: {path} holds {dim}-dimensional vectors "
                f"(leave model.{name} unset: the size comes from the file)"
            )


def prepare_embeddings(config: Any, model_spec: Any, task: Any) -> LoadedEmbeddings | None:
    """Read and align train.embeddings for the prepared task (restricting its vocabulary
    when asked); None without train.embeddings. `embedding_size` gives the model's
    embedding size the vectors set."""
    from rnnbench.data.embedding_align import align
    from rnnbench.data.embeddings import load_vectors

    train = config.train
    if not train["embeddings"]:
        return None
    path, vocab_file = _files(train)
    vectors = load_vectors(path, vocab_file, train["embeddings_array"])

    def aligned():
        vocab = task_vocabulary(task)
        if vocab is None:
            raise IncompatibleError(
                f"train.embeddings: task {config.task!r} does not list its "
                "vocabulary (Task.vocabulary(); rnnbench.contract.vocabulary)"
            )
        counts = task.token_counts() if callable(getattr(task, "token_counts", None)) else None
        return align(
            vocab,
            vectors,
            lowercase=train["embeddings_lowercase"],
            seed=train["seed"],
            padding_idx=task.context().padding_idx,
            counts=counts,
        )

    alignment = aligned()
    if train["embeddings_restrict"]:
        restrict = getattr(task, "restrict_vocabulary", None)
        if not callable(restrict):
            raise IncompatibleError(
                f"train.embeddings_restrict: task {config.task!r} cannot "
                "restrict its vocabulary (no restrict_vocabulary method)"
            )
        restrict(alignment.found)
        alignment = aligned()
    loaded = LoadedEmbeddings(str(path), len(vectors.tokens), alignment, train["embeddings_freeze"])
    print(f"rnnbench: {loaded.summary()}", file=sys.stderr)
    return loaded


def embedding_size(model_spec: Any, loaded: LoadedEmbeddings | None) -> dict[str, int]:
    """{the model's embedding-size hyperparameter: the vectors' dimension}, derived from
    the loaded vectors (E of the aligned (V, E) matrix); {} without vectors or without
    such a hyperparameter."""
    name = dim_param(model_spec)
    if loaded is None or name is None:
        return {}
    return {name: loaded.dim}


def find_embedding(model: Any, model_spec: Any, vocab_size: int) -> Any:
    """The model's input nn.Embedding (see the module docstring)."""
    from torch import nn

    if model_spec.embedding:
        try:
            module = model.get_submodule(model_spec.embedding)
        except AttributeError:
            module = None
        if not isinstance(module, nn.Embedding):
            raise RnnbenchError(
                f"model {model_spec.name!r}: ModelSpec.embedding "
                f"{model_spec.embedding!r} is not an nn.Embedding of the model"
            )
        return module
    found = [
        m for m in model.modules() if isinstance(m, nn.Embedding) and m.num_embeddings == vocab_size
    ]
    if len(found) != 1:
        raise IncompatibleError(
            f"model {model_spec.name!r} has {len(found)} nn.Embedding modules of {vocab_size:,} "
            "rows: its spec must name the input one (ModelSpec.embedding) to take "
            "pretrained vectors"
        )
    return found[0]


def install_embeddings(model: Any, model_spec: Any, loaded: LoadedEmbeddings | None) -> None:
    """Copy the aligned (V, E) matrix into the model's input embedding."""
    import torch

    if loaded is None:
        return
    matrix = loaded.alignment.matrix  # (V, E)
    module = find_embedding(model, model_spec, int(matrix.shape[0]))
    if tuple(module.weight.shape) != tuple(matrix.shape):
        raise IncompatibleError(
            f"model {model_spec.name!r}: its input embedding is {tuple(module.weight.shape)}, "
            f"the aligned vectors {tuple(matrix.shape)} (ModelSpec.embedding_dim names the "
            "hyperparameter that sizes it)"
        )
    with torch.no_grad():
        module.weight.copy_(matrix.to(module.weight.dtype))
    module.weight.requires_grad_(not loaded.freeze)
