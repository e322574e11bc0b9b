"""The task kit: what a task plugin needs, at one public import path.

    from rnnbench.taskkit import Classification, SyntheticTask, size_options

Data
  TensorBatches, InMemoryDataModule, BucketBatchSampler   in-memory splits, a batch at a time
  StreamWindows                consecutive windows over B streams (stateful language models)
  seeded_splits, VAL_SEED, TEST_SEED   train from the run seed, validation/test fixed
  SyntheticTask                base class of generated tasks: define generate(n, seed)
  size_options                 the options seq_len, train_size, val_size, test_size
Objectives (head, loss, metrics, baseline)
  ObjectiveTask                mixin delegating to `self.objective`
  Classification, Regression, StepClassification, StepRegression, IGNORE_INDEX
Sequence to sequence (rnnbench.contract.seq2seq; loaded on first use)
  Seq2SeqTarget, TokenSequences, ExactMatch, TokenAccuracy, TextMetric,
  sequence_scores, pad_sequences, decode_options, seq2seq_loss_weight
Files, text and caching
  resolve_local, local_files, check_file, load_local, load_hub, column
  Vocabulary, EOS, detect_level, tokenize_batch, encode_batch
  PreparedCache, file_digests, datasets_version, loading_code
Embeddings
  load_vectors, Vectors         pretrained vectors from text / .npy / .npz files (cached)
  align, restricted_ids         vectors aligned to a vocabulary; a vocabulary cut to them
Trees (rnnbench.contract.trees: batches that also carry a level-major TreeBatch)
  ParsedTree, parse_ptb, read_ptb_file   labelled PTB-bracket trees, errors with file:line
  TreePool, TreeBatches, collate_trees   flat node pools, batches with "tree", "node_target"
  NO_LABEL, max_children_of, heights

Baselines (the trivial predictor's value of the main metric on the test split):
Classification: accuracy of the training split's majority label scored on test (so
it may fall below 1/C on balanced data); Regression: MSE of the training mean;
StepClassification: cross-entropy (nats/step) of the training step-label frequencies;
StepRegression: MSE of the training mean sequence (each step's mean target).

Names from the data, file and text modules load on first use, so importing the kit
does not import Lightning or `datasets`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rnnbench.contract.params import Param
from rnnbench.contract.specs import Task
from rnnbench.objectives import (
    IGNORE_INDEX,
    Classification,
    ObjectiveTask,
    Regression,
    StepClassification,
    StepRegression,
)

if TYPE_CHECKING:
    import torch

    from rnnbench.contract.seq2seq import Seq2SeqTarget
    from rnnbench.data.cache import PreparedCache, datasets_version, file_digests
    from rnnbench.data.columns import class_names_file, pick_columns, read_class_names, say_once
    from rnnbench.data.embedding_align import align, restricted_ids
    from rnnbench.data.embeddings import Vectors, load_vectors
    from rnnbench.data.files import (
        check_file,
        column,
        load_hub,
        load_local,
        local_files,
        resolve_local,
    )
    from rnnbench.data.modules import (
        BucketBatchSampler,
        InMemoryDataModule,
        StreamWindows,
        TensorBatches,
    )
    from rnnbench.data.tabular import FORMAT_CHOICES, read_tables
    from rnnbench.data.text import EOS, Vocabulary, detect_level, encode_batch, tokenize_batch
    from rnnbench.data.trees import (
        NO_LABEL,
        ParsedTree,
        TreeBatches,
        TreePool,
        collate_trees,
        heights,
        max_children_of,
        parse_ptb,
        read_ptb_file,
    )
    from rnnbench.seq2seq_kit import (
        ExactMatch,
        TextMetric,
        TokenAccuracy,
        TokenSequences,
        decode_options,
        pad_sequences,
        sequence_scores,
    )
    from rnnbench.seq2seq_kit import loss_weight as seq2seq_loss_weight

_LAZY = {
    "rnnbench.data.modules": ("BucketBatchSampler", "InMemoryDataModule", "StreamWindows",
                      "TensorBatches"),
    "rnnbench.data.files": ("check_file", "column", "load_hub", "load_local", "local_files",
                           "resolve_local"),
    "rnnbench.data.cache": ("PreparedCache", "datasets_version", "file_digests"),
    "rnnbench.data.text": ("EOS", "Vocabulary", "detect_level", "encode_batch", "tokenize_batch"),
    "rnnbench.data.tabular": ("FORMAT_CHOICES", "read_tables"),
    "rnnbench.data.columns": ("class_names_file", "pick_columns", "read_class_names",
                              "say_once"),
    "rnnbench.seq2seq_kit": ("ExactMatch", "TextMetric", "TokenAccuracy", "TokenSequences",
                             "pad_sequences", "sequence_scores"),
    "rnnbench.contract.seq2seq": ("decode_options",),  # torch-free: usable in a task's spec
    "rnnbench.data.embeddings": ("Vectors", "load_vectors"),
    "rnnbench.data.embedding_align": ("align", "restricted_ids"),
    "rnnbench.contract.trees": ("NO_LABEL",),  # torch-free: usable in a task's spec
    "rnnbench.data.trees": ("ParsedTree", "TreeBatches", "TreePool", "collate_trees",
                            "heights", "max_children_of", "parse_ptb", "read_ptb_file"),
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}
_RENAMED = {"seq2seq_loss_weight": ("rnnbench.seq2seq_kit", "loss_weight"),
            "Seq2SeqTarget": ("rnnbench.contract.seq2seq", "Seq2SeqTarget")}

VAL_SEED = 1_000_003  # generator seed of every run's validation split
TEST_SEED = 2_000_003  # generator seed of every run's test split

#: generate(n, seed) -> {"inputs", "lengths", "target", ...}: tensors with first dim n
Generator = Callable[[int, int], Mapping[str, "torch.Tensor"]]


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        module, attr = _RENAMED[name]
        return getattr(importlib.import_module(module), attr)
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'rnnbench.taskkit' has no attribute {name!r}")
    # looked up on every access (not cached here), so that the kit always hands out
    # what its home module holds now
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)


def loading_code() -> list[str]:
    """Source files of the kit's file-loading and tokenising code, for cache keys
    (`PreparedCache.key(..., code=[__file__, *loading_code()])`)."""
    return [importlib.import_module(m).__file__
            for m in ("rnnbench.data.text", "rnnbench.data.files", "rnnbench.data.tabular",
                      "rnnbench.data.columns")]


def size_options(seq_len: int, seq_help: str, train: int, val: int, test: int) -> tuple:
    """The four size options of a generated task, with their defaults."""
    return (
        Param("seq_len", int, seq_len, seq_help, minimum=1),
        Param("train_size", int, train, "training examples", minimum=1),
        Param("val_size", int, val, "validation examples (fixed set)", minimum=1),
        Param("test_size", int, test, "test examples (fixed set)", minimum=1),
    )


def seeded_splits(generate: Generator, sizes: tuple[int, int, int], seed: int) -> tuple:
    """(train, validation, test) TensorBatches of `sizes` examples: training data from
    the run's seed (seed + 1), validation and test from VAL_SEED and TEST_SEED, so that
    every run of a task is scored on the same examples."""
    from rnnbench.data.modules import TensorBatches

    seeds = (seed + 1, VAL_SEED, TEST_SEED)
    return tuple(TensorBatches(**generate(n, s)) for n, s in zip(sizes, seeds, strict=True))


class SyntheticTask(ObjectiveTask, Task):
    """Base class of a task generated in memory from the seed (nothing stored on disk).

    A subclass sets `input_kind` and `output` (as in its TaskSpec) and `self.objective`
    (in `__init__`, after checking its options), and defines
    `generate(n, seed) -> {"inputs", "lengths", "target"}` and `context()`. The options
    must include train_size, val_size and test_size (see `size_options`).
    `baseline()` is the objective's baseline on the training and test targets; a
    seq2seq task (output "seq2seq") defines its own, the score of its trivial output
    (see tasks/seq2seq.py), else it reports none.
    """

    input_kind = "tokens"
    output = "pooled"

    def __init__(self, options: Mapping[str, Any], batch_size: int, seed: int) -> None:
        from rnnbench.data.modules import InMemoryDataModule

        self.options = dict(options)
        self.seed = seed
        self.splits: tuple | None = None
        self._datamodule = InMemoryDataModule(self._build, batch_size=batch_size,
                                              eval_batch_size=max(batch_size, 256))

    def _build(self) -> tuple:
        if self.splits is None:
            o = self.options
            self.splits = seeded_splits(self.generate,
                                        (o["train_size"], o["val_size"], o["test_size"]),
                                        self.seed)
        return self.splits

    @property
    def datamodule(self):
        return self._datamodule

    def prepare(self) -> None:
        self._datamodule.setup()

    def describe(self) -> dict[str, Any]:
        return dict(self.options)

    def baseline(self) -> float | None:
        if self.output == "seq2seq":  # TokenSequences.baseline scores hypotheses instead
            return None
        train, _, test = self._build()
        return self.objective.baseline(train.tensors["target"], test.tensors["target"])

    def generate(self, n: int, seed: int) -> Mapping[str, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} must define generate(n, seed)")


__all__ = [
    "EOS",
    "FORMAT_CHOICES",
    "IGNORE_INDEX",
    "NO_LABEL",
    "TEST_SEED",
    "VAL_SEED",
    "BucketBatchSampler",
    "Classification",
    "ExactMatch",
    "InMemoryDataModule",
    "ObjectiveTask",
    "ParsedTree",
    "PreparedCache",
    "Seq2SeqTarget",
    "Regression",
    "StepClassification",
    "StepRegression",
    "StreamWindows",
    "SyntheticTask",
    "TensorBatches",
    "TextMetric",
    "TokenAccuracy",
    "TokenSequences",
    "Vectors",
    "TreeBatches",
    "TreePool",
    "Vocabulary",
    "align",
    "check_file",
    "class_names_file",
    "collate_trees",
    "column",
    "datasets_version",
    "decode_options",
    "detect_level",
    "encode_batch",
    "file_digests",
    "heights",
    "load_hub",
    "load_local",
    "load_vectors",
    "loading_code",
    "local_files",
    "pad_sequences",
    "max_children_of",
    "parse_ptb",
    "pick_columns",
    "read_class_names",
    "read_ptb_file",
    "read_tables",
    "resolve_local",
    "restricted_ids",
    "say_once",
    "seeded_splits",
    "seq2seq_loss_weight",
    "sequence_scores",
    "size_options",
    "tokenize_batch",
]
