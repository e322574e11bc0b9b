"""The task kit: what a task plugin needs, at one public import path.

    from rnnbench.taskkit import Classification, SyntheticTask, size_options

Its names are `__all__` below (the one list; docs/guide/api.md shows each with its
signature). They fall into these groups:

- data: in-memory splits served a batch at a time, length bucketing, consecutive
  windows over streams for stateful language models, seeded splits (training data
  from the run seed; validation and test from the fixed VAL_SEED and TEST_SEED),
  SyntheticTask (base class of generated tasks: define generate(n, seed)) and
  size_options;
- objectives (rnnbench.taskkit.objectives): head, loss, metrics and baseline;
- sequence to sequence (rnnbench.taskkit.seq2seq; targets as rnnbench.contract.seq2seq
  defines them);
- files, text and caching: local and hub loading, columns, vocabularies and
  tokenising, the prepared-data cache;
- pretrained embeddings: vectors read from text / .npy / .npz, aligned to a vocabulary;
- trees: PTB-bracket trees, node pools and batches that carry a level-major TreeBatch
  (rnnbench.contract.trees).

Baselines (the trivial predictor's value of the main metric on the test split):
Classification: accuracy of the training split's majority label scored on test (so
it may fall below 1/C on balanced data); Regression: MSE of the training mean;
StepClassification: cross-entropy (nats/step) of the training step-label frequencies;
StepRegression: MSE of the training mean sequence (each step's mean target).

Names from the data, file and text modules load on first use (from the first of
_SOURCES that defines them), so importing the kit does not import Lightning or
`datasets`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rnnbench._api import lazy_names
from rnnbench.contract.params import Param
from rnnbench.contract.specs import Task
from rnnbench.taskkit.objectives import (
    IGNORE_INDEX,
    Classification,
    ObjectiveTask,
    Regression,
    StepClassification,
    StepRegression,
)

if TYPE_CHECKING:
    import torch

# where the lazily loaded names live (modules, not names: the names are __all__); the
# torch-free contract modules come first, so a task's spec can use their names cheaply
_SOURCES = (
    "rnnbench.contract.seq2seq",
    "rnnbench.contract.trees",
    "rnnbench.data.modules",
    "rnnbench.data.files",
    "rnnbench.data.cache",
    "rnnbench.data.text",
    "rnnbench.data.tabular",
    "rnnbench.data.columns",
    "rnnbench.taskkit.seq2seq",
    "rnnbench.data.embeddings",
    "rnnbench.data.embedding_align",
    "rnnbench.data.trees",
)

VAL_SEED = 1_000_003  # generator seed of every run's validation split
TEST_SEED = 2_000_003  # generator seed of every run's test split

#: generate(n, seed) -> {"inputs", "lengths", "target", ...}: tensors with first dim n
Generator = Callable[[int, int], Mapping[str, "torch.Tensor"]]


def loading_code() -> list[str]:
    """Source files of the kit's file-loading and tokenising code, for cache keys
    (`PreparedCache.key(..., code=[__file__, *loading_code()])`)."""
    return [
        str(importlib.import_module(m).__file__)
        for m in (
            "rnnbench.data.text",
            "rnnbench.data.files",
            "rnnbench.data.tabular",
            "rnnbench.data.columns",
        )
    ]


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


def check_generated_size(options: Mapping[str, Any]) -> None:
    """Refuse sizes whose data cannot fit, before generating it: a lower bound of one
    float32 per example and step (train + validation + test examples x seq_len)."""
    from rnnbench.contract.memory import check_memory

    examples = sum(int(options.get(k, 0)) for k in ("train_size", "val_size", "test_size"))
    steps = int(options.get("seq_len", 1))
    check_memory(
        examples * steps * 4,
        f"task.train_size + val_size + test_size = {examples:,} examples of "
        f"task.seq_len {steps:,} steps",
    )


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
        self._datamodule = InMemoryDataModule(
            self._build, batch_size=batch_size, eval_batch_size=max(batch_size, 256)
        )

    def _build(self) -> tuple:
        if self.splits is None:
            o = self.options
            check_generated_size(o)
            self.splits = seeded_splits(
                self.generate, (o["train_size"], o["val_size"], o["test_size"]), self.seed
            )
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
    "Regression",
    "Seq2SeqTarget",
    "StepClassification",
    "StepRegression",
    "StreamWindows",
    "SyntheticTask",
    "TensorBatches",
    "TextMetric",
    "TokenAccuracy",
    "TokenSequences",
    "TreeBatches",
    "TreePool",
    "Vectors",
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
    "max_children_of",
    "pad_sequences",
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

__getattr__, __dir__ = lazy_names(__name__, __all__, _SOURCES)
