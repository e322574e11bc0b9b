"""Labelled treebanks in PTB-bracket format: the Stanford Sentiment Treebank (Socher et
al. 2013) and any user's own, one tree per line, every node `(LABEL child ...)` or
`(LABEL word)` with an integer LABEL.

- `sst`: the SST's train/dev/test.txt; `task.labels=fine` (5 classes, 0 very negative
  .. 4 very positive) or `binary` (neutral roots dropped, 0-1 negative, 3-4 positive;
  neutral phrases unlabelled), the published root-level accuracy.
- `treebank`: any labelled PTB-bracket files; classes from the labels
  (`task.num_classes=0`: the largest training label + 1) or the option.

Batches keep the sequential contract — "inputs" (B, T) the sentence's words in order,
"lengths" (B,), "target" (B,) the root labels — so every sequential model reads the
same sentences, and add "tree" (a level-major TreeBatch of the parse) and
"node_target" (N,) per-node labels (-1 none) for tree models. `task.supervision`:
`roots` (one label per sentence, any model) or `phrases` (every labelled node is a
training example, Tai et al. 2015's setting: the context asks for per-node "nodes"
features, so only tree models run; `loss` is the per-phrase mean), evaluation always
on the roots. Baseline: the training roots' majority label scored on the test roots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnbench import ConfigError, DataError, ModelContext, Param, ParamSet, Task, TaskSpec, hookimpl
from rnnbench.taskkit import NO_LABEL, Classification

SPLITS = ("train", "validation", "test")
SST_BINARY = {0: 0, 1: 0, 2: NO_LABEL, 3: 1, 4: 1}  # fine label -> binary (neutral: none)


def options(sst: bool) -> ParamSet:
    return ParamSet(
        (
            Param(
                "dataset",
                str,
                "../shared/data/sst-trees" if sst else "",
                "folder with train.txt, dev.txt (or validation/valid/val) and test.txt",
            ),
            Param("train_file", str, None, "explicit training file", nullable=True),
            Param("validation_file", str, None, "explicit validation file", nullable=True),
            Param("test_file", str, None, "explicit test file", nullable=True),
            *(
                (
                    Param(
                        "labels",
                        str,
                        "binary",
                        "fine: 5 classes; binary: neutral roots dropped, "
                        "0-1 negative, 3-4 positive",
                        choices=("fine", "binary"),
                    ),
                )
                if sst
                else (
                    Param(
                        "num_classes",
                        int,
                        0,
                        "classes (0: the largest training label + 1)",
                        minimum=0,
                    ),
                )
            ),
            Param(
                "supervision",
                str,
                "roots",
                "roots: a label per sentence; phrases: every "
                "labelled node (tree models only); evaluation on roots either way",
                choices=("roots", "phrases"),
            ),
            Param("lowercase", bool, sst, "lower-case words before the vocabulary"),
            Param("min_freq", int, 1, "minimum training frequency of a vocabulary word", minimum=1),
            Param(
                "max_train_samples",
                int,
                0,
                "N training trees drawn at random, the same for "
                "every run (treebank files are often sorted by label; 0: all)",
                minimum=0,
            ),
        )
    )


class TreebankTask(Task):
    throughput_unit = "samples"
    metric_unit = "accuracy"
    baseline_name = "training majority class"

    def __init__(self, options: dict, batch_size: int, seed: int, sst: bool = False) -> None:
        from rnnbench.taskkit import BucketBatchSampler, InMemoryDataModule

        self.o, self.sst = dict(options), sst
        self.files = self._files()
        self.splits: tuple | None = None
        lengths = lambda ds: ds.tensors["lengths"]  # noqa: E731
        self._datamodule = InMemoryDataModule(
            self._build,
            batch_size=batch_size,
            eval_batch_size=max(batch_size, 256),
            train_batch_sampler=lambda ds: BucketBatchSampler(lengths(ds), batch_size, True),
            eval_batch_sampler=lambda ds: BucketBatchSampler(lengths(ds), 256, False),
        )

    def _files(self) -> dict[str, Path]:
        from rnnbench.taskkit import check_file, local_files

        o = self.o
        explicit = {s: o[f"{s}_file"] for s in SPLITS if o[f"{s}_file"]}
        if explicit:
            files = {s: Path(p).expanduser() for s, p in explicit.items()}
            for split, path in files.items():
                check_file(path, f"task.{split}_file")
        elif not o["dataset"]:
            raise ConfigError(
                "task.dataset: required (a folder with train.txt, dev.txt and "
                "test.txt), or task.train_file, validation_file and test_file"
            )
        else:
            path = Path(o["dataset"]).expanduser()
            if not path.exists():
                raise DataError(f"task.dataset: {path} does not exist")
            files = local_files(path)
        missing = [s for s in SPLITS if s not in files]
        if missing:
            raise ConfigError(
                f"task.{missing[0]}_file: no {missing[0]} trees (a treebank "
                "needs train, validation (dev) and test files)"
            )
        return files

    # ------------------------------------------------------------------ loading
    def _build(self) -> tuple:
        if self.splits is not None:
            return self.splits
        from rnnbench.taskkit import TreePool, Vocabulary, max_children_of, read_ptb_file

        o = self.o
        limit = 5 if self.sst else (o["num_classes"] or None)
        trees = {"train": read_ptb_file(self.files["train"], limit)}
        self.num_classes = (
            2
            if self.sst and o["labels"] == "binary"
            else (limit or 1 + max(v for t in trees["train"] for v in t.label))
        )
        for split in SPLITS[1:]:
            trees[split] = read_ptb_file(self.files[split], limit or self.num_classes)
        for split in SPLITS:
            trees[split] = [self._relabel(t) for t in trees[split]]
            trees[split] = [t for t in trees[split] if t.label[0] != NO_LABEL]
            if o["lowercase"]:
                for t in trees[split]:
                    t.words = [w.lower() for w in t.words]
        if o["max_train_samples"] and o["max_train_samples"] < len(trees["train"]):
            import torch

            pick = torch.randperm(len(trees["train"]), generator=torch.Generator().manual_seed(0))
            trees["train"] = [trees["train"][i] for i in sorted(pick[: o["max_train_samples"]])]
        self.vocab = Vocabulary.build((t.words for t in trees["train"]), min_freq=o["min_freq"])
        self.max_children = max(max_children_of(trees[s]) for s in SPLITS)
        self.sizes = {s: len(trees[s]) for s in SPLITS}
        self.splits = tuple(
            self._tensors(trees[s], TreePool.build(trees[s], self.max_children)) for s in SPLITS
        )
        return self.splits

    def _relabel(self, tree):
        if self.sst and self.o["labels"] == "binary":
            tree.label = [SST_BINARY[v] for v in tree.label]
        return tree

    def _tensors(self, trees: list, pool):
        import torch

        from rnnbench.taskkit import TreeBatches

        if not trees:
            raise DataError(f"{self.files['train']}: no labelled trees left (task.labels)")
        lengths = torch.tensor([len(t.words) for t in trees])
        inputs = torch.zeros(len(trees), int(lengths.max()), dtype=torch.long)
        for row, tree in enumerate(trees):
            inputs[row, : len(tree.words)] = torch.tensor(self.vocab.encode(tree.words))
        target = torch.tensor([t.label[0] for t in trees])
        return TreeBatches(pool, inputs=inputs, lengths=lengths, target=target)

    @property
    def datamodule(self):
        return self._datamodule

    def prepare(self) -> None:
        self._datamodule.setup()

    def context(self) -> ModelContext:
        self._build()
        output = "nodes" if self.o["supervision"] == "phrases" else "pooled"
        return ModelContext(
            "tokens",
            output,
            vocab_size=len(self.vocab),
            padding_idx=0,
            max_children=self.max_children,
        )

    # --------------------------------------------------------------- objective
    @property
    def objective(self) -> Classification:
        self._build()
        return Classification(self.num_classes)

    def head(self, in_features: int):
        return self.objective.head(in_features)

    def loss(self, prediction, batch: Any):
        import torch.nn.functional as F

        if self.o["supervision"] == "phrases":  # (N, C) against every labelled node
            return F.cross_entropy(prediction, batch["node_target"], ignore_index=NO_LABEL)
        return F.cross_entropy(prediction, batch["target"])

    def metrics(self):
        return self.objective.metrics()

    def update_metrics(self, metrics, prediction, batch: Any) -> None:
        if self.o["supervision"] == "phrases":
            prediction = prediction[batch["tree"].root]  # evaluation on the roots
        self.objective.update_metrics(metrics, prediction, batch["target"])

    def loss_weight(self, batch: Any) -> int:
        if self.o["supervision"] == "phrases":
            return max(int((batch["node_target"] != NO_LABEL).sum()), 1)
        return int(batch["lengths"].shape[0])

    def baseline(self) -> float:
        train, _, test = self._build()
        return self.objective.baseline(train.tensors["target"], test.tensors["target"])

    def describe(self) -> dict[str, Any]:
        self._build()
        return {
            **{k: v for k, v in self.o.items() if v is not None},
            "classes": self.num_classes,
            "vocab_size": len(self.vocab),
            "max_children": self.max_children,
            **{f"{s}_trees": n for s, n in self.sizes.items()},
        }


def _factory(sst: bool):
    return lambda options, batch_size, seed: TreebankTask(options, batch_size, seed, sst)


SST = TaskSpec(
    name="sst",
    factory=_factory(True),
    input_kind="tokens",
    output="pooled",
    options=options(sst=True),
    monitor="val_acc",
    mode="max",
    main_metric="acc",
    provides=frozenset({"tree"}),
    description="Stanford Sentiment Treebank with its parse trees: root sentiment accuracy",
)
TREEBANK = TaskSpec(
    name="treebank",
    factory=_factory(False),
    input_kind="tokens",
    output="pooled",
    options=options(sst=False),
    monitor="val_acc",
    mode="max",
    main_metric="acc",
    provides=frozenset({"tree"}),
    description="any labelled PTB-bracket treebank: root label accuracy",
)


@hookimpl
def register_tasks(register):
    register(SST)
    register(TREEBANK)
