"""Text classification from local files (CSV, TSV, JSON lines, Parquet) or hub ids.

Data flow: files -> tables (format, header and columns detected unless task.format,
task.header, task.text_column, task.label_column say; rnnbench.data.tabular) ->
datasets.DatasetDict -> checks (columns, empty and unseen labels; integer labels named
by a class.txt, classes.txt or labels.txt beside the files)
-> validation/test carved from train when missing (seeded by task.split_seed) ->
tokens (word or char level) counted into a vocabulary on train only -> ids (truncated
to task.max_length), encoded in one pass without keeping the tokens -> padded tensors
with lengths -> batches of similar lengths (task.bucket; of one length with
task.equal_lengths) trimmed to their longest sequence. The finished tensors,
vocabulary and label map are cached too (task.cache; rnnbench.data.cache), so a
warm start skips everything from loading to tensors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rnnbench import ConfigError, DataError, ModelContext, Param, ParamSet, Task, TaskSpec, hookimpl
from rnnbench.taskkit import FORMAT_CHOICES, ObjectiveTask

UNKNOWN_LABEL = "<unknown>"
#: Longest text kept, in tokens: an unbucketed split is a (rows, max_length) tensor.
MAX_LENGTH_LIMIT = 100_000


def tokens_of(texts: list, level: str, chunk: int = 4096):
    """Each text's tokens in turn (tokenised `chunk` texts at a time, so that the tokens
    of a whole split are never held at once)."""
    from rnnbench.taskkit import tokenize_batch

    for start in range(0, len(texts), chunk):
        yield from tokenize_batch({"text": texts[start : start + chunk]}, "text", level)["tokens"]


def encode_texts(texts: list, level: str, vocab: Any, max_length: int) -> tuple[Any, Any]:
    """(every text's ids end to end, each text's length) as two int64 arrays: each text
    tokenised, truncated to max_length, unknown tokens as <unk>; an empty text is one
    <unk>."""
    from array import array

    stoi, unk = vocab.stoi, vocab.unk_id
    flat, lengths = array("q"), array("q")
    for tokens in tokens_of(texts, level):
        ids = [stoi.get(t, unk) for t in tokens[:max_length]] or [unk]
        flat.extend(ids)
        lengths.append(len(ids))
    return flat, lengths


OPTIONS = ParamSet(
    (
        Param("dataset", str, "", "hub id (glue, ag_news, imdb) or a local file or folder"),
        Param("config", str, None, "hub config name (e.g. sst2)", nullable=True),
        Param("train_file", str, None, "explicit training file", nullable=True),
        Param("validation_file", str, None, "explicit validation file", nullable=True),
        Param("test_file", str, None, "explicit test file", nullable=True),
        Param("train_split", str, "train", "hub split for training"),
        Param("validation_split", str, "validation", "hub split for validation"),
        Param("test_split", str, "test", "hub split for testing"),
        Param(
            "format",
            str,
            "auto",
            "file format (auto: by extension; a .txt of text<TAB>label lines is TSV)",
            choices=FORMAT_CHOICES,
        ),
        Param("text_column", str, "auto", "text column (auto: sentence, text, review, ...)"),
        Param("label_column", str, "auto", "label column (auto: label, sentiment, class, ...)"),
        Param(
            "delimiter",
            str,
            "auto",
            "field separator of CSV files (auto: ',' unless ';' or "
            "'|' alone splits every line evenly)",
            choices=("auto", ",", ";", "|", ":", " "),
        ),
        Param(
            "header",
            str,
            "auto",
            "CSV/TSV files start with a header line (auto: detected; false: columns are 0, 1, ...)",
            choices=("auto", "true", "false"),
        ),
        Param(
            "tokenizer",
            str,
            "auto",
            "auto, word (whitespace) or char",
            choices=("auto", "word", "char"),
        ),
        Param(
            "max_length",
            int,
            256,
            "tokens kept per text (longer texts are truncated)",
            minimum=1,
            maximum=MAX_LENGTH_LIMIT,
        ),
        Param(
            "vocab_size",
            int,
            30000,
            "maximum vocabulary size, specials included (at least 3: <pad>, <unk> and one token)",
            minimum=3,
        ),
        Param(
            "min_freq", int, 1, "minimum training-set frequency of a vocabulary token", minimum=1
        ),
        Param("max_train_samples", int, 0, "cap on training examples (0: all)", minimum=0),
        Param(
            "valid_fraction",
            float,
            0.1,
            "fraction of train carved out when a split is missing",
            minimum=0.0,
            maximum=0.5,
        ),
        Param("split_seed", int, 0, "seed for carving splits and capping train", minimum=0),
        Param(
            "unseen_labels",
            str,
            "error",
            "a validation/test label never seen in train: error, or map to an unknown class",
            choices=("error", "unknown"),
        ),
        Param("bucket", bool, True, "batch texts of similar length (else pad to max_length)"),
        Param(
            "equal_lengths",
            bool,
            False,
            "with bucket: batches of one length where possible (training sorts the whole "
            "split, so only a batch at a length boundary mixes two; evaluation batches never "
            "do), which torch's fused LSTM/GRU kernels run instead of packed sequences",
        ),
        Param(
            "cache",
            bool,
            True,
            "reuse the prepared tensors from the datasets cache folder "
            "(keyed by the data's contents, the options and the code)",
        ),
    )
)


class TextClassificationTask(ObjectiveTask, Task):
    metric_unit = "accuracy"
    baseline_name = "training majority class"

    def __init__(self, options: Mapping[str, Any], batch_size: int, seed: int) -> None:
        from rnnbench.taskkit import InMemoryDataModule

        self.o = dict(options)
        if not self.o["dataset"] and not self.o["train_file"]:
            raise ConfigError(
                "task.dataset: required (a hub id or a local file or folder), "
                "e.g. --set task.dataset=../shared/data/sst2"
            )
        self.batch_size = batch_size
        self.splits: dict | None = None
        self.files: dict[str, Path] = {}
        self.class_file: Path | None = None
        self.tables: dict = {}  # split -> rnnbench.data.tabular.Table of local files
        self.notes: list[str] = []  # what detection chose, printed once on stderr
        self._datamodule = InMemoryDataModule(
            self._tensors,
            batch_size=batch_size,
            eval_batch_size=max(batch_size, 256),
            train_batch_sampler=self._sampler(True),
            eval_batch_sampler=self._sampler(False),
        )

    # ------------------------------------------------------------------ loading
    def _local_files(self) -> dict[str, Path] | None:
        """Checked split files of local data (explicit files or a file or folder in
        task.dataset); None when task.dataset is a hub id."""
        from rnnbench.taskkit import check_file, local_files, resolve_local

        o = self.o
        explicit = {s: o[f"{s}_file"] for s in ("train", "validation", "test") if o[f"{s}_file"]}
        if explicit:
            if "train" not in explicit:
                raise ConfigError(
                    "task.train_file: required when validation_file or test_file is set"
                )
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
            data = load_local(
                self.files, fmt=o["format"], header=o["header"], delimiter=o["delimiter"]
            )
            self.tables = dict(getattr(data, "tables", {}))
            return data
        hub = load_hub(o["dataset"], o["config"], "task.dataset")
        names = {
            "train": o["train_split"],
            "validation": o["validation_split"],
            "test": o["test_split"],
        }
        if names["train"] not in hub:
            raise DataError(
                f"task.train_split {names['train']!r}: not in {o['dataset']!r} "
                f"(splits: {', '.join(hub)})"
            )
        import datasets

        return datasets.DatasetDict({k: hub[v] for k, v in names.items() if v in hub})

    def _where(self, split: str, row: int) -> str:
        """'FILE line N' for a row of a local split, else 'split S row N'."""
        table = self.tables.get(split)
        return table.where(row) if table is not None else f"split {split!r} row {row + 1}"

    def _check_columns(self, data) -> None:
        """Fix task.text_column and task.label_column on the training split (detected
        when `auto`); every split must have both."""
        from rnnbench.taskkit import column, pick_columns

        o = self.o
        train = data["train"]
        table = self.tables.get("train")
        sample = train.select(range(min(200, len(train))))
        text, label, note = pick_columns(
            train.column_names,
            table.header if table is not None else None,
            lambda name: column(sample, name),
            o["text_column"],
            o["label_column"],
            where=str(self.files.get("train", "split 'train'")),
        )
        o["text_column"], o["label_column"] = text, label
        if note:
            self.notes.append(note)
        for split, ds in data.items():
            for option in ("text_column", "label_column"):
                if o[option] not in ds.column_names:
                    where = self.files.get(split, f"split {split!r}")
                    raise DataError(
                        f"{where}: no column {o[option]!r} (task.{option}, as in the "
                        f"training data); columns: {', '.join(ds.column_names)}"
                    )

    def _label_map(self, data) -> None:
        """Set self.labels (class names in id order) and self.label_ids (raw label ->
        id). Names come from the class-name file, or a hub ClassLabel feature; without
        them the labels themselves are the names, in sorted order."""
        from rnnbench.taskkit import column

        labels_of = {split: column(ds, self.o["label_column"]) for split, ds in data.items()}
        for split in data:
            for row, label in enumerate(labels_of[split]):
                if (
                    label is None
                    or label != label
                    or (isinstance(label, str) and not label.strip())
                ):
                    raise DataError(f"{self._where(split, row)}: empty label")
        names = self._class_names(data)
        if names is not None:
            self.labels = names
            self.label_ids = {}
            for split in data:
                for row, label in enumerate(labels_of[split]):
                    if label not in self.label_ids:
                        self.label_ids[label] = self._named_id(label, names, split, row)
            return
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
                            "unknown class)"
                        )
                    if UNKNOWN_LABEL not in ordered:
                        ordered.append(UNKNOWN_LABEL)
        self.labels = ordered
        self.label_ids = {label: i for i, label in enumerate(ordered) if label != UNKNOWN_LABEL}

    def _class_names(self, data) -> list[str] | None:
        """The class-name file's names, a hub ClassLabel's names, or None."""
        from rnnbench.taskkit import read_class_names

        if self.class_file is not None:
            return read_class_names(self.class_file)
        feature = data["train"].features.get(self.o["label_column"])
        names = getattr(feature, "names", None) if not self.files else None
        return list(names) if names else None

    def _named_id(self, label, names: list[str], split: str, row: int) -> int:
        """The class id of a raw label: an integer id (or its digits), or a name."""
        source = self.class_file or "the label feature's names"
        if isinstance(label, str) and label.strip() in names:
            return names.index(label.strip())
        try:
            i = int(label.strip() if isinstance(label, str) else label)
        except (TypeError, ValueError):
            i = -1
        if isinstance(label, bool) or not 0 <= i < len(names):
            raise DataError(
                f"{self._where(split, row)}: label {label!r} is not a class id "
                f"0-{len(names) - 1} or a name in {source} ({len(names)} names)"
            )
        return i

    def _carve(self, data):
        """Fill missing validation/test splits from train; cap train."""
        import datasets

        o = self.o
        train = data["train"]
        for split in ("test", "validation"):
            if split not in data:
                if not o["valid_fraction"]:
                    raise DataError(f"no {split} split, and task.valid_fraction is 0")
                if len(train) - math.ceil(len(train) * o["valid_fraction"]) < 1:
                    where = self.files.get("train", "split 'train'")
                    raise DataError(
                        f"{where}: {len(train)} row(s), too few to carve a {split} "
                        f"split (task.valid_fraction={o['valid_fraction']:g})"
                    )
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
        if self.files:
            from rnnbench.taskkit import class_names_file

            self.class_file = class_names_file(self.files["train"].parent)
        data = None if self.files else self._load()
        sources = None
        if self.o["cache"]:  # file contents, or the hub splits' datasets fingerprints
            named = {"class_names": self.class_file} if self.class_file else {}
            sources = (
                file_digests({**self.files, **named})
                if self.files
                else {split: getattr(ds, "_fingerprint", None) for split, ds in data.items()}
            )
        if sources is not None and None not in sources.values():
            from rnnbench.taskkit import loading_code

            cache = PreparedCache("text-classification")
            key = cache.key(
                {"splits": sources, "datasets": datasets_version()},
                options,
                [__file__, *loading_code()],
            )
            payload = cache.fetch(key, lambda: self._build(data))
        else:
            payload = self._build(data)
        self._restore(payload)
        self._datamodule.setup()

    def _build(self, data) -> dict[str, Any]:
        """The prepared payload (see _restore) from the raw splits (None: load them).

        Texts are tokenised on the fly, twice (counting the training vocabulary, then
        encoding each split straight into one flat id array): no token lists are kept,
        which for 180,000 THUCNews headlines were 3.4 M Python strings (about 300 MB),
        and no `datasets.map` pass writes them to Arrow files. Same ids as tokenize +
        Vocabulary.build + encode over the whole split (rnnbench.data.text)."""
        from rnnbench.taskkit import Vocabulary, column, detect_level

        data = dict(data if data is not None else self._load())
        for split, ds in data.items():
            if len(ds) == 0:
                raise DataError(f"{self.files.get(split, split)}: no data rows")
        self._check_columns(data)
        self._label_map(data)
        data = self._carve(data)
        o = self.o
        level = o["tokenizer"]
        if level == "auto":
            level = detect_level(
                column(data["train"].select(range(min(2000, len(data["train"])))), o["text_column"])
            )
        texts = {split: column(data[split], o["text_column"]) for split in data}
        vocab = Vocabulary.build(tokens_of(texts["train"], level), o["vocab_size"], o["min_freq"])
        return {
            "text_column": o["text_column"],
            "label_column": o["label_column"],
            "level": level,
            "labels": self.labels,
            "notes": self.notes,
            "itos": vocab.itos,
            "splits": {
                split: self._to_tensors(
                    encode_texts(texts.pop(split), level, vocab, o["max_length"]),
                    column(data[split], o["label_column"]),
                )
                for split in ("train", "validation", "test")
            },
        }

    def _restore(self, payload: Mapping[str, Any]) -> None:
        from rnnbench.taskkit import Vocabulary

        self.o["text_column"] = payload["text_column"]
        self.o["label_column"] = payload["label_column"]
        from rnnbench.taskkit import say_once

        for note in payload["notes"]:
            say_once(note)
        self.level = payload["level"]
        self.labels = list(payload["labels"])
        self.vocab = Vocabulary(list(payload["itos"]))
        self.splits = dict(payload["splits"])

    def _to_tensors(self, encoded: tuple[Any, Any], labels: list) -> dict:
        """{"inputs": (N, W) long, zero-padded; "lengths": (N,); "target": (N,)}, where W
        is task.max_length without bucketing, else the split's longest sequence;
        `encoded`: (all ids end to end, each text's length), as encode_texts gives."""
        import torch

        index = self.label_ids
        unknown = self.labels.index(UNKNOWN_LABEL) if UNKNOWN_LABEL in self.labels else None
        flat, lengths = (torch.tensor(a, dtype=torch.long) for a in encoded)
        width = self.o["max_length"] if not self.o["bucket"] else int(lengths.max())
        inputs = torch.zeros(len(lengths), width, dtype=torch.long)
        # row-major boolean assignment fills each row's first `length` slots in order
        inputs[torch.arange(width) < lengths[:, None]] = flat
        return {
            "inputs": inputs,
            "lengths": lengths,
            "target": torch.tensor([index.get(label, unknown) for label in labels]),
        }

    def _tensors(self):
        from rnnbench.taskkit import TensorBatches

        self.prepare()
        trim = ("inputs",) if self.o["bucket"] else ()
        return tuple(
            TensorBatches(trim=trim, **self.splits[s]) for s in ("train", "validation", "test")
        )

    def _sampler(self, train: bool):
        if not self.o["bucket"]:
            return None

        def make(dataset):
            from rnnbench.taskkit import BucketBatchSampler

            size = self.batch_size if train else max(self.batch_size, 256)
            equal = self.o["equal_lengths"]
            return BucketBatchSampler(
                dataset.tensors["lengths"],
                size,
                shuffle=train,
                chunk=0 if equal else 50,
                split_lengths=equal and not train,
            )

        return make

    # --------------------------------------------------------------- the task
    @property
    def datamodule(self):
        return self._datamodule

    @property
    def objective(self):
        from rnnbench.taskkit import Classification

        return Classification(len(self.labels), names=[str(label) for label in self.labels])

    def context(self) -> ModelContext:
        return ModelContext(
            input_kind="tokens", output="pooled", vocab_size=len(self.vocab), padding_idx=0
        )

    def baseline(self) -> float:
        from rnnbench.taskkit import Classification

        return Classification.majority_accuracy(
            self.splits["train"]["target"], self.splits["test"]["target"]
        )

    def describe(self) -> dict[str, Any]:
        """MLflow params (data.*): bounded strings only."""
        classes = ", ".join(map(str, self.labels))
        if len(classes) > 200:
            classes = classes[:200].rsplit(", ", 1)[0] + f", ... ({len(self.labels)} in all)"
        return {
            "tokenizer": self.level,
            "vocab_size": len(self.vocab),
            "num_classes": len(self.labels),
            "classes": classes,
            "text_column": self.o["text_column"],
            "label_column": self.o["label_column"],
            **{f"{s}_size": len(t["target"]) for s, t in self.splits.items()},
        }

    def artifacts(self) -> dict[str, Any]:
        return {"label_map.json": {str(label): i for i, label in enumerate(self.labels)}}

    # ------------------------------------- vocabulary (rnnbench.contract.vocabulary)
    def vocabulary(self) -> list[str]:
        return list(self.vocab.itos)

    def token_counts(self):
        """(V,) occurrences of each id in the training texts (padding excluded)."""
        import torch

        train = self.splits["train"]
        real = torch.arange(train["inputs"].shape[1]) < train["lengths"][:, None]  # (N, W)
        return torch.bincount(train["inputs"][real], minlength=len(self.vocab))

    def restrict_vocabulary(self, keep) -> None:
        """Keep the ids where keep (V,) is True (padding and unknown always); the others
        become unknown in every split, in place (the batches read the same tensors)."""
        from rnnbench.taskkit import Vocabulary, restricted_ids

        mapping, kept = restricted_ids(keep, self.vocab.unk_id)  # (V,), (V',)
        self.vocab = Vocabulary([self.vocab.itos[i] for i in kept.tolist()])
        for tensors in self.splits.values():
            tensors["inputs"].copy_(mapping[tensors["inputs"]])  # padding 0 stays 0


TEXT_CLASSIFICATION = TaskSpec(
    name="text-classification",
    factory=TextClassificationTask,
    input_kind="tokens",
    output="pooled",
    options=OPTIONS,
    monitor="val_acc",
    mode="max",
    main_metric="acc",
    description="text classification from local files or hub ids (accuracy, macro-F1)",
)


@hookimpl
def register_tasks(register):
    register(TEXT_CLASSIFICATION)
