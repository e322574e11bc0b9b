"""Text classification from local files (CSV, TSV, JSON lines, Parquet) or hub ids.

Data flow: files -> datasets.DatasetDict -> checks (columns, empty and unseen labels)
-> validation/test carved from train when missing (seeded by task.split_seed) ->
tokens (word or char level; cached by datasets) -> vocabulary on train only -> ids
(truncated to task.max_length; cached) -> padded tensors with lengths -> batches of
similar lengths (task.bucket) trimmed to their longest sequence. The finished tensors,
vocabulary and label map are cached too (task.cache; rnnbench.prepared_cache), so a
warm start skips everything from loading to tensors.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from pathlib import Path
from typing import Any

from rnnbench import ConfigError, DataError, ModelContext, Param, ParamSet, Task, TaskSpec, hookimpl
from rnnbench.taskkit import ObjectiveTask

TEXT_COLUMNS = ("sentence", "text", "review", "content", "document")
UNKNOWN_LABEL = "<unknown>"

OPTIONS = ParamSet((
    Param("dataset", str, "", "hub id (glue, ag_news, imdb) or a local file or folder"),
    Param("config", str, None, "hub config name (e.g. sst2)", nullable=True),
    Param("train_file", str, None, "explicit training file", nullable=True),
    Param("validation_file", str, None, "explicit validation file", nullable=True),
    Param("test_file", str, None, "explicit test file", nullable=True),
    Param("train_split", str, "train", "hub split for training"),
    Param("validation_split", str, "validation", "hub split for validation"),
    Param("test_split", str, "test", "hub split for testing"),
    Param("text_column", str, "auto", "text column (auto: sentence, text, review, ...)"),
    Param("label_column", str, "label", "label column"),
    Param("header", bool, True, "CSV/TSV files have a header line (else columns are 0, 1, ...)"),
    Param("tokenizer", str, "auto", "auto, word (whitespace) or char",
          choices=("auto", "word", "char")),
    Param("max_length", int, 256, "tokens kept per text (longer texts are truncated)", minimum=1),
    Param("vocab_size", int, 30000, "maximum vocabulary size, specials included", minimum=1),
    Param("min_freq", int, 1, "minimum training-set frequency of a vocabulary token", minimum=1),
    Param("max_train_samples", int, 0, "cap on training examples (0: all)", minimum=0),
    Param("valid_fraction", float, 0.1, "fraction of train carved out when a split is missing",
          minimum=0.0, maximum=0.5),
    Param("split_seed", int, 0, "seed for carving splits and capping train", minimum=0),
    Param("unseen_labels", str, "error",
          "a validation/test label never seen in train: error, or map to an unknown class",
          choices=("error", "unknown")),
    Param("bucket", bool, True, "batch texts of similar length (else pad to max_length)"),
    Param("cache", bool, True, "reuse the prepared tensors from the datasets cache folder "
          "(keyed by the data's contents, the options and the code)"),
))



class TextClassificationTask(ObjectiveTask, Task):
    def __init__(self, options: Mapping[str, Any], batch_size: int, seed: int) -> None:
        from rnnbench.taskkit import InMemoryDataModule

        self.o = dict(options)
        if not self.o["dataset"] and not self.o["train_file"]:
            raise ConfigError("task.dataset: required (a hub id or a local file or folder), "
                              "e.g. --set task.dataset=../shared/data/sst2")
        self.batch_size = batch_size
        self.splits: dict | None = None
        self.files: dict[str, Path] = {}
        self._datamodule = InMemoryDataModule(
            self._tensors, batch_size=batch_size, eval_batch_size=max(batch_size, 256),
            train_batch_sampler=self._sampler(True), eval_batch_sampler=self._sampler(False))

    # ------------------------------------------------------------------ loading
    def _local_files(self) -> dict[str, Path] | None:
        """Checked split files of local data (explicit files or a file or folder in
        task.dataset); None when task.dataset is a hub id."""
        from rnnbench.taskkit import check_file, local_files, resolve_local

        o = self.o
        explicit = {s: o[f"{s}_file"] for s in ("train", "validation", "test") if o[f"{s}_file"]}
        if explicit:
            if "train" not in explicit:
                raise ConfigError("task.train_file: required when validation_file or test_file is set")
            files = {s: Path(p).expanduser() for s, p in explicit.items()}
            for split, path in files.items():
                check_file(path, f"task.{split}_file")
            return files
        local = resolve_local(o["dataset"])
        return None if local is None else local_files(local)

    def _load(self):
        """The raw splits: self.files when set, else the hub dataset task.dataset."""
        from rnnbench.taskkit import load_hub, load_local

        o = self.o
        if self.files:
            return load_local(self.files, header=o["header"])
        hub = load_hub(o["dataset"], o["config"], "task.dataset")
        names = {"train": o["train_split"], "validation": o["validation_split"],
                 "test": o["test_split"]}
        if names["train"] not in hub:
            raise DataError(f"task.train_split {names['train']!r}: not in {o['dataset']!r} "
                            f"(splits: {', '.join(hub)})")
        import datasets

        return datasets.DatasetDict({k: hub[v] for k, v in names.items() if v in hub})

    def _where(self, split: str, row: int) -> str:
        """'FILE line N' for a row of a local split, else 'split S row N'."""
        path = self.files.get(split)
        if path is None:
            return f"split {split!r} row {row + 1}"
        text_header = self.o["header"] and path.suffix.lower() in (".csv", ".tsv")
        return f"{path} line {row + 1 + int(text_header)}"

    def _check_columns(self, data) -> None:
        o = self.o
        for split, ds in data.items():
            columns = ds.column_names
            where = self.files.get(split, f"split {split!r}")
            if o["text_column"] == "auto":
                found = next((c for c in TEXT_COLUMNS if c in columns), None)
                if found is None:
                    raise DataError(f"{where}: no text column found (looked for "
                                    f"{', '.join(TEXT_COLUMNS)}; columns: {', '.join(columns)}); "
                                    "set task.text_column")
                o["text_column"] = found
            for option in ("text_column", "label_column"):
                if o[option] not in columns:
                    raise DataError(f"{where}: no column {o[option]!r} (task.{option}); "
                                    f"columns: {', '.join(columns)}")

    def _label_map(self, data) -> list:
        from rnnbench.taskkit import column

        labels_of = {split: column(ds, self.o["label_column"]) for split, ds in data.items()}
        for split in data:
            for row, label in enumerate(labels_of[split]):
                if label is None or label != label or (isinstance(label, str) and not label.strip()):
                    raise DataError(f"{self._where(split, row)}: empty label")
        labels = set(labels_of["train"])
        try:
            ordered = sorted(labels)  # stable across runs: numeric or lexicographic order
        except TypeError:  # mixed types
            ordered = sorted(labels, key=str)
        for split in ("validation", "test"):
            if split not in data:
                continue
            for row, label in enumerate(labels_of[split]):
                if label not in labels:
                    if self.o["unseen_labels"] == "error":
                        raise DataError(
                            f"{self._where(split, row)}: label {label!r} never appears in the "
                            "training data (set task.unseen_labels=unknown to map it to an "
                            "unknown class)")
                    if UNKNOWN_LABEL not in ordered:
                        ordered.append(UNKNOWN_LABEL)
        return ordered

    def _carve(self, data):
        """Fill missing validation/test splits from train; cap train."""
        import datasets

        o = self.o
        train = data["train"]
        for split in ("test", "validation"):
            if split not in data:
                if not o["valid_fraction"]:
                    raise DataError(f"no {split} split, and task.valid_fraction is 0")
                parts = train.train_test_split(test_size=o["valid_fraction"], seed=o["split_seed"])
                train, data[split] = parts["train"], parts["test"]
        if o["max_train_samples"] and len(train) > o["max_train_samples"]:
            train = train.shuffle(seed=o["split_seed"]).select(range(o["max_train_samples"]))
        data["train"] = train
        return datasets.DatasetDict(data)

    def prepare(self) -> None:
        """Load, check, tokenise, encode and tensorise, or take the finished result from
        the prepared-data cache (keyed by the files' contents or the hub splits'
        fingerprints, every option but task.cache, and this code)."""
        if self.splits is not None:
            return
        from rnnbench.taskkit import PreparedCache, datasets_version, file_digests

        options = {k: v for k, v in self.o.items() if k != "cache"}
        self.files = self._local_files() or {}
        data = None if self.files else self._load()
        sources = None
        if self.o["cache"]:  # file contents, or the hub splits' datasets fingerprints
            sources = (file_digests(self.files) if self.files else
                       {split: getattr(ds, "_fingerprint", None) for split, ds in data.items()})
        if sources is not None and None not in sources.values():
            from rnnbench.taskkit import loading_code

            cache = PreparedCache("text-classification")
            key = cache.key({"splits": sources, "datasets": datasets_version()}, options,
                            [__file__, *loading_code()])
            payload = cache.fetch(key, lambda: self._build(data))
        else:
            payload = self._build(data)
        self._restore(payload)
        self._datamodule.setup()

    def _build(self, data) -> dict[str, Any]:
        """The prepared payload (see _restore) from the raw splits (None: load them)."""
        from rnnbench.taskkit import Vocabulary, column, detect_level, encode_batch, tokenize_batch

        data = dict(data if data is not None else self._load())
        for split, ds in data.items():
            if len(ds) == 0:
                raise DataError(f"{self.files.get(split, split)}: no rows")
        self._check_columns(data)
        self.labels = self._label_map(data)
        data = self._carve(data)
        o = self.o
        level = o["tokenizer"]
        if level == "auto":
            level = detect_level(column(data["train"].select(range(min(2000, len(data["train"])))),
                                        o["text_column"]))
        data = data.map(tokenize_batch, batched=True,
                        fn_kwargs={"text_column": o["text_column"], "level": level})
        vocab = Vocabulary.build(column(data["train"], "tokens"), o["vocab_size"], o["min_freq"])
        data = data.map(encode_batch, batched=True,
                        fn_kwargs={"stoi": vocab.stoi, "unk": vocab.unk_id,
                                   "max_length": o["max_length"]})
        return {"text_column": o["text_column"], "level": level, "labels": self.labels,
                "itos": vocab.itos,
                "splits": {split: self._to_tensors(data[split])
                           for split in ("train", "validation", "test")}}

    def _restore(self, payload: Mapping[str, Any]) -> None:
        from rnnbench.taskkit import Vocabulary

        self.o["text_column"] = payload["text_column"]
        self.level = payload["level"]
        self.labels = list(payload["labels"])
        self.vocab = Vocabulary(list(payload["itos"]))
        self.splits = dict(payload["splits"])

    def _to_tensors(self, ds) -> dict:
        """{"inputs": (N, W) long, zero-padded; "lengths": (N,); "target": (N,)}, where W
        is task.max_length without bucketing, else the split's longest sequence."""
        import torch

        from rnnbench.taskkit import column

        index = {label: i for i, label in enumerate(self.labels)}
        unknown = index.get(UNKNOWN_LABEL)
        ids = column(ds, "ids")
        lengths = torch.tensor([len(seq) for seq in ids], dtype=torch.long)
        width = self.o["max_length"] if not self.o["bucket"] else int(lengths.max())
        inputs = torch.zeros(len(ids), width, dtype=torch.long)
        # row-major boolean assignment fills each row's first `length` slots in order
        inputs[torch.arange(width) < lengths[:, None]] = torch.tensor(
            list(chain.from_iterable(ids)), dtype=torch.long)
        labels = [index.get(label, unknown) for label in column(ds, self.o["label_column"])]
        return {"inputs": inputs, "lengths": lengths,
                "target": torch.tensor(labels, dtype=torch.long)}

    def _tensors(self):
        from rnnbench.taskkit import TensorBatches

        self.prepare()
        trim = ("inputs",) if self.o["bucket"] else ()
        return tuple(TensorBatches(trim=trim, **self.splits[s])
                     for s in ("train", "validation", "test"))

    def _sampler(self, train: bool):
        if not self.o["bucket"]:
            return None

        def make(dataset):
            from rnnbench.taskkit import BucketBatchSampler

            size = self.batch_size if train else max(self.batch_size, 256)
            return BucketBatchSampler(dataset.tensors["lengths"], size, shuffle=train)

        return make

    # --------------------------------------------------------------- the task
    @property
    def datamodule(self):
        return self._datamodule

    @property
    def objective(self):
        from rnnbench.taskkit import Classification

        return Classification(len(self.labels))

    def context(self) -> ModelContext:
        return ModelContext(input_kind="tokens", output="pooled", vocab_size=len(self.vocab),
                            padding_idx=0)

    def baseline(self) -> float:
        from rnnbench.taskkit import Classification

        return Classification.majority_accuracy(self.splits["train"]["target"],
                                                self.splits["test"]["target"])

    def describe(self) -> dict[str, Any]:
        return {"tokenizer": self.level, "vocab_size": len(self.vocab),
                "num_classes": len(self.labels),
                **{f"{s}_size": len(t["target"]) for s, t in self.splits.items()}}

    def artifacts(self) -> dict[str, Any]:
        return {"label_map.json": {str(label): i for i, label in enumerate(self.labels)}}


TEXT_CLASSIFICATION = TaskSpec(
    name="text-classification", factory=TextClassificationTask, input_kind="tokens",
    output="pooled", options=OPTIONS, monitor="val_acc", mode="max", main_metric="acc",
    description="text classification from local files or hub ids (accuracy, macro-F1)",
)


@hookimpl
def register_tasks(register):
    register(TEXT_CLASSIFICATION)
