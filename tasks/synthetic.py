"""Synthetic long-dependency problems, generated deterministically from the seed.

- `adding`  (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015): input
  (T, 2), channel 0 ~ U(0, 1), channel 1 marks one position in each half; the target
  is the sum of the two marked values; MSE. Predicting 1 scores ~0.167; solved < 0.01.
- `copy` (Arjovsky et al. 2016): 10 symbols from {1..8}, T-1 blanks, a delimiter,
  10 blanks; the model must output blanks, then the 10 symbols. Memoryless baseline
  cross-entropy 10·ln(8)/(T+20); solved when recall accuracy >= 99%.
- `listops` (Nangia & Bowman 2018; long-range form of Tay et al. 2021): nested
  prefix expressions of MAX, MIN, MED, SM (sum mod 10) over digits; label 0..9.
  Batches also carry each expression's tree (batch["tree"], rnnbench.TreeBatch) for
  tree models: an operator node reads its operator token and has its arguments as
  children, a digit is a leaf; the token sequence is the same for sequential models.

Built on the public task kit (`rnnbench.taskkit.SyntheticTask`): the training set
depends on the run's seed; validation and test sets are fixed, so every run is scored
on the same data. Nothing is stored on disk. ListOps' baseline is the kit's majority
accuracy (the training majority scored on test).
"""

from __future__ import annotations

import math
import random
import statistics

from rnnbench import ConfigError, ModelContext, Param, ParamSet, TaskSpec, hookimpl
from rnnbench.taskkit import (
    TEST_SEED,
    VAL_SEED,
    Classification,
    Regression,
    StepClassification,
    SyntheticTask,
    seeded_splits,
    size_options,
)

# SyntheticTask, size_options and the split seeds lived here before the task kit and
# stay importable from this module.
__all__ = ["ADDING", "COPY", "LISTOPS", "TEST_SEED", "VAL_SEED", "SyntheticTask", "size_options"]


# ---------------------------------------------------------------------- adding
class AddingTask(SyntheticTask):
    input_kind = "features"
    metric_unit = "MSE"
    baseline_name = "predict 1"

    def __init__(self, options, batch_size, seed):
        if options["seq_len"] < 2:
            raise ConfigError(
                f"task.seq_len: the adding problem needs >= 2, got {options['seq_len']}"
            )
        super().__init__(options, batch_size, seed)
        self.objective = Regression()

    def generate(self, n: int, seed: int) -> dict:
        import torch

        g = torch.Generator().manual_seed(seed)
        T = self.options["seq_len"]
        half = T // 2
        values = torch.rand(n, T, generator=g)  # (N, T)
        first = torch.randint(0, half, (n,), generator=g)
        second = torch.randint(half, T, (n,), generator=g)
        markers = torch.zeros(n, T)
        rows = torch.arange(n)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        return {
            "inputs": torch.stack([values, markers], dim=-1),  # (N, T, 2)
            "lengths": torch.full((n,), T, dtype=torch.long),
            "target": values[rows, first] + values[rows, second],  # (N,)
        }

    def context(self) -> ModelContext:
        return ModelContext(input_kind="features", output="pooled", feature_size=2)

    def baseline(self) -> float:
        """Always predicting 1, the expected sum: ~1/6."""
        return Regression.constant_mse(1.0, self._build()[2].tensors["target"])


# ------------------------------------------------------------------------ copy
COPY_SYMBOLS = 10  # symbols to remember
COPY_CLASSES = 10  # 0 blank, 1..8 symbols, 9 delimiter


class CopyTask(SyntheticTask):
    output = "sequence"
    metric_unit = "nats/step"
    baseline_name = "memoryless"

    def __init__(self, options, batch_size, seed):
        super().__init__(options, batch_size, seed)
        self.objective = StepClassification(COPY_CLASSES)

    def generate(self, n: int, seed: int) -> dict:
        import torch

        g = torch.Generator().manual_seed(seed)
        T = self.options["seq_len"]
        length = T + 2 * COPY_SYMBOLS
        symbols = torch.randint(1, 9, (n, COPY_SYMBOLS), generator=g)  # (N, 10)
        inputs = torch.zeros(n, length, dtype=torch.long)
        inputs[:, :COPY_SYMBOLS] = symbols
        inputs[:, COPY_SYMBOLS + T - 1] = 9  # delimiter
        target = torch.zeros(n, length, dtype=torch.long)
        target[:, -COPY_SYMBOLS:] = symbols
        return {
            "inputs": inputs,
            "lengths": torch.full((n,), length, dtype=torch.long),
            "target": target,
        }

    def context(self) -> ModelContext:
        return ModelContext(input_kind="tokens", output="sequence", vocab_size=COPY_CLASSES)

    def loss_weight(self, batch) -> int:
        return int(batch["target"].numel())

    def metrics(self):
        from torchmetrics.classification import MulticlassAccuracy

        return {"recall_acc": MulticlassAccuracy(COPY_CLASSES, average="micro")}

    def update_metrics(self, metrics, prediction, batch) -> None:
        metrics["recall_acc"].update(
            prediction[:, -COPY_SYMBOLS:].argmax(-1), batch["target"][:, -COPY_SYMBOLS:]
        )

    def baseline(self) -> float:
        return COPY_SYMBOLS * math.log(8) / (self.options["seq_len"] + 2 * COPY_SYMBOLS)


# --------------------------------------------------------------------- listops
LISTOPS_OPS = ("[MAX", "[MIN", "[MED", "[SM")
LISTOPS_VOCAB = ("<pad>", *map(str, range(10)), *LISTOPS_OPS, "]")
LISTOPS_ID = {tok: i for i, tok in enumerate(LISTOPS_VOCAB)}


def listops_apply(op: str, args: list[int]) -> int:
    if op == "[MAX":
        return max(args)
    if op == "[MIN":
        return min(args)
    if op == "[MED":
        return int(statistics.median_low(args))
    return sum(args) % 10


def listops_expression(rng: random.Random, depth: int, max_args: int) -> tuple[list[str], int]:
    """A random expression (tokens, value) of nesting depth at most `depth`."""
    if depth == 0 or rng.random() < 0.3:
        digit = rng.randrange(10)
        return [str(digit)], digit
    op = rng.choice(LISTOPS_OPS)
    tokens, values = [op], []
    for _ in range(rng.randint(2, max_args)):
        sub_tokens, sub_value = listops_expression(rng, depth - 1, max_args)
        tokens += sub_tokens
        values.append(sub_value)
    tokens.append("]")
    return tokens, listops_apply(op, values)


def listops_tree(row: list[int]):
    """The expression tree of one token row (ids, no padding) as a ParsedTree: every
    token is a word (position = its index), operators and digits are nodes."""
    from rnnbench.taskkit import ParsedTree

    tree, stack = ParsedTree(), []
    for token in row:
        name = LISTOPS_VOCAB[token]
        if name == "]":
            stack.pop()
            tree.words.append(name)
            continue
        node = tree.add(stack[-1] if stack else None)
        tree.read(node, name)
        if name in LISTOPS_OPS:
            stack.append(node)
    return tree


class ListOpsTask(SyntheticTask):
    metric_unit = "accuracy"
    baseline_name = "training majority class"

    def __init__(self, options, batch_size, seed):
        if options["seq_len"] < 5:
            raise ConfigError(f"task.seq_len: listops needs >= 5 tokens, got {options['seq_len']}")
        super().__init__(options, batch_size, seed)
        self.objective = Classification(10)

    def generate(self, n: int, seed: int) -> dict:
        import torch

        rng = random.Random(seed)
        max_len, depth, max_args = (self.options[k] for k in ("seq_len", "depth", "max_args"))
        rows, labels = [], []
        while len(rows) < n:
            tokens, value = listops_expression(rng, depth, max_args)
            if len(tokens) > 1 and len(tokens) <= max_len:  # skip bare digits and overlong ones
                rows.append([LISTOPS_ID[t] for t in tokens])
                labels.append(value)
        longest = max(map(len, rows))
        inputs = torch.zeros(n, longest, dtype=torch.long)
        for i, row in enumerate(rows):
            inputs[i, : len(row)] = torch.tensor(row)
        return {
            "inputs": inputs,
            "lengths": torch.tensor(list(map(len, rows))),
            "target": torch.tensor(labels),
        }

    def _build(self) -> tuple:
        """The kit's seeded splits, each with its expressions' trees."""
        from rnnbench.taskkit import TreeBatches, TreePool

        if self.splits is None:
            o = self.options
            plain = seeded_splits(
                self.generate, (o["train_size"], o["val_size"], o["test_size"]), self.seed
            )
            self.splits = tuple(
                TreeBatches(
                    TreePool.build(
                        [
                            listops_tree(row[:n].tolist())
                            for row, n in zip(
                                split.tensors["inputs"], split.tensors["lengths"], strict=True
                            )
                        ],
                        o["max_args"],
                    ),
                    trim=(),
                    **split.tensors,
                )
                for split in plain
            )
        return self.splits

    def context(self) -> ModelContext:
        return ModelContext(
            input_kind="tokens",
            output="pooled",
            vocab_size=len(LISTOPS_VOCAB),
            padding_idx=0,
            max_children=self.options["max_args"],
        )


ADDING = TaskSpec(
    name="adding",
    factory=AddingTask,
    input_kind="features",
    output="pooled",
    options=ParamSet(size_options(50, "sequence length T", 5000, 500, 1000)),
    monitor="val_loss",
    mode="min",
    main_metric="mse",
    solved=lambda m: m.get("mse", math.inf) < 0.01,
    synthetic=True,
    length_option="seq_len",
    description="adding problem: sum of two marked values in a length-T sequence (MSE)",
)
COPY = TaskSpec(
    name="copy",
    factory=CopyTask,
    input_kind="tokens",
    output="sequence",
    options=ParamSet(
        size_options(20, "blank stretch T between symbols and recall", 5000, 500, 1000)
    ),
    monitor="val_loss",
    mode="min",
    main_metric="loss",
    solved=lambda m: m.get("recall_acc", 0.0) >= 0.99,
    synthetic=True,
    length_option="seq_len",
    description="copy memory: recall 10 symbols after T blanks (per-step cross-entropy)",
)
LISTOPS = TaskSpec(
    name="listops",
    factory=ListOpsTask,
    input_kind="tokens",
    output="pooled",
    options=ParamSet(
        (
            *size_options(100, "maximum tokens per expression", 5000, 500, 1000),
            Param("depth", int, 3, "maximum nesting depth", minimum=1),
            Param("max_args", int, 4, "maximum arguments per operator", minimum=2),
        )
    ),
    monitor="val_acc",
    mode="max",
    main_metric="acc",
    synthetic=True,
    provides=frozenset({"tree"}),
    description="ListOps: value (0-9) of nested MAX/MIN/MED/SM expressions",
)


@hookimpl
def register_tasks(register):
    register(ADDING)
    register(COPY)
    register(LISTOPS)
