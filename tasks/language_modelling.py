"""Character- and word-level language modelling (Zaremba, Sutskever & Vinyals 2014).

The token stream of each split becomes B contiguous streams (B = train.batch_size for
training, task.eval_batch_size for validation and test, 10 by default as in the PyTorch
word-language-model example), cut into windows of task.bptt steps; window k+1 continues
window k, so the model's recurrent state is carried across windows (detached) and reset
at the start of each epoch and each evaluation. The test figure is thus the papers'
convention: the state carried through the whole test stream (stated in the
leaderboard's caption, Task.evaluation). Word level appends <eos> to every line, as in Zaremba.

Input: plain text files, or the text column of CSV/TSV/JSON lines/Parquet tables
(detected as for text classification, or task.text_column); a table's rows are
documents joined by one newline each ("row 1\nrow 2\n..."), so at word level every
row ends with <eos>. A single file is split into contiguous parts: train, then test
(task.test_fraction), then validation (task.valid_fraction), 90/5/5 by default.

Metrics: cross-entropy (nats per token) as the loss, perplexity, and bits per
character at character level. Baseline: the add-one unigram model's cross-entropy
on the test split.

Generative: `codec()` gives the vocabulary as text (`rnnbench generate` samples from a
run's best checkpoint), and `samples()` logs what the model writes after the training
text's first line (200 tokens, temperature 0.8, seed 0) after every validation epoch
(samples/sample_epoch_N.txt) and from the best weights (samples/sample.txt).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from rnnbench import (
    ConfigError,
    DataError,
    ModelContext,
    Param,
    ParamSet,
    Task,
    TaskSpec,
    TokenCodec,
    hookimpl,
)
from rnnbench.taskkit import FORMAT_CHOICES, Vocabulary

OPTIONS = ParamSet(
    (
        Param(
            "dataset",
            str,
            "",
            "hub id (wikitext) or a local text file or folder (train.txt, valid.txt, test.txt)",
        ),
        Param("config", str, None, "hub config name (e.g. wikitext-2-raw-v1)", nullable=True),
        Param(
            "format",
            str,
            "auto",
            "file format (auto: by extension; a .txt of lines with tabs is TSV)",
            choices=FORMAT_CHOICES,
        ),
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
            "CSV/TSV files start with a header line (auto: detected)",
            choices=("auto", "true", "false"),
        ),
        Param(
            "text_column",
            str,
            "auto",
            "text column of a table or hub dataset (auto: sentence, text, review, ...)",
        ),
        Param("level", str, "char", "char or word", choices=("char", "word")),
        Param("bptt", int, 64, "window length in steps (truncated BPTT)", minimum=1),
        Param(
            "eval_batch_size",
            int,
            10,
            "streams of the validation and test passes, whose "
            "state is carried through the whole stream (10: the PyTorch word-language-model "
            "example's evaluation batch; papers' figures follow this convention)",
            minimum=1,
        ),
        Param(
            "valid_fraction",
            float,
            0.05,
            "last fraction of a single file used for validation",
            minimum=0.0,
            maximum=0.5,
        ),
        Param(
            "test_fraction",
            float,
            0.05,
            "fraction before validation used for test (0: test on the validation text)",
            minimum=0.0,
            maximum=0.5,
        ),
        Param(
            "vocab_size",
            int,
            50000,
            "maximum vocabulary size, specials included (at least 3: <pad>, <unk> and one token)",
            minimum=3,
        ),
        Param("min_freq", int, 1, "minimum training frequency of a vocabulary token", minimum=1),
        Param(
            "cache",
            bool,
            True,
            "reuse the token ids of local files from the datasets cache "
            "folder (keyed by the files' contents, the options and the code)",
        ),
    )
)

#: Options that do not change the prepared token ids (so not part of the cache key).
CACHE_INDEPENDENT = ("cache", "bptt", "eval_batch_size")
#: The run's sample artifacts (Task.samples): tokens drawn after the default prime.
SAMPLE_LENGTH, SAMPLE_TEMPERATURE, PRIME_TOKENS = 200, 0.8, 40


def tokens_of(text: str, level: str) -> list[str]:
    if level == "char":
        return list(text)
    from rnnbench.taskkit import EOS

    out: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if words:
            out.extend(words)
            out.append(EOS)
    return out


class LanguageModellingTask(Task):
    throughput_unit = "tokens"
    baseline_name = "unigram model"

    @property
    def metric_unit(self) -> str:
        """The loss per predicted token: nats/char or nats/word."""
        return f"nats/{'char' if self.o['level'] == 'char' else 'word'}"

    def __init__(self, options: Mapping[str, Any], batch_size: int, seed: int) -> None:
        from rnnbench.taskkit import InMemoryDataModule

        self.o = dict(options)
        if not self.o["dataset"]:
            raise ConfigError(
                "task.dataset: required (a hub id or a local text file or folder), "
                "e.g. --set task.dataset=../shared/data/tinyshakespeare/input.txt"
            )
        self.batch_size = batch_size
        self.ids: dict | None = None
        self.notes: list[str] = []  # what detection chose, printed once on stderr
        self._datamodule = InMemoryDataModule(self._windows, batch_size=None)

    def _texts(self, files: dict[str, Path] | None) -> dict[str, str]:
        """Split name -> text, from the checked local files, else from the hub."""
        from rnnbench.taskkit import column, load_hub, load_local

        o = self.o
        if files is None:
            hub = load_hub(o["dataset"], o["config"], "task.dataset")
            rename = {
                "validation": "validation",
                "valid": "validation",
                "train": "train",
                "test": "test",
            }
            name = self._text_column(hub["train"], None, f"split 'train' of {o['dataset']!r}")
            return {rename[s]: "".join(column(hub[s], name)) for s in hub if s in rename}
        data = load_local(files, fmt=o["format"], header=o["header"], delimiter=o["delimiter"])
        tables = getattr(data, "tables", {})
        texts = {}
        for split, ds in data.items():
            table = tables.get(split)
            if table is not None and table.fmt == "text":
                texts[split] = column(ds, "text")[0]
                continue
            name = self._text_column(ds, table, str(files[split]))
            texts[split] = "".join(f"{value}\n" for value in column(ds, name) if value is not None)
        if set(texts) == {"train"}:
            texts = self._split_one(texts["train"], files["train"])
        return texts

    def _text_column(self, ds, table, where: str) -> str:
        """task.text_column, or the detected text column of a table (the first table's
        choice holds for all)."""
        from rnnbench.taskkit import column, pick_columns

        if self.o["text_column"] == "auto" or self.o["text_column"] not in ds.column_names:
            sample = ds.select(range(min(200, len(ds))))
            name, _, note = pick_columns(
                ds.column_names,
                table.header if table is not None else None,
                lambda c: column(sample, c),
                self.o["text_column"],
                None,
                where=where,
            )
            self.o["text_column"] = name
            if note:
                self.notes.append(note)
        return self.o["text_column"]

    def _split_one(self, text: str, path: Path) -> dict[str, str]:
        """Contiguous parts of one text (characters): train, test, validation; the last
        int(n * task.valid_fraction) characters validate, the int(n * task.test_fraction)
        before them test (none: test on the validation text)."""
        o = self.o
        if not o["valid_fraction"]:
            raise DataError(f"{path}: a single file needs task.valid_fraction > 0")
        n = len(text)
        valid_start = n - int(n * o["valid_fraction"])
        test_start = valid_start - int(n * o["test_fraction"])
        texts = {"train": text[:test_start], "validation": text[valid_start:]}
        texts["test"] = text[test_start:valid_start] if o["test_fraction"] else texts["validation"]
        return texts

    def prepare(self) -> None:
        """Token ids per split, built from the text or taken from the prepared-data cache
        (keyed by the local files' contents, the options that shape the ids, and this
        code; hub datasets are not cached)."""
        if self.ids is not None:
            return
        from rnnbench.taskkit import (
            PreparedCache,
            datasets_version,
            file_digests,
            local_files,
            resolve_local,
        )

        local = resolve_local(self.o["dataset"])
        files = None if local is None else local_files(local)
        if files is not None and self.o["cache"]:
            from rnnbench.taskkit import loading_code

            cache = PreparedCache("language-modelling")
            shaping = {k: v for k, v in self.o.items() if k not in CACHE_INDEPENDENT}
            key = cache.key(
                {"files": file_digests(files), "datasets": datasets_version()},
                shaping,
                [__file__, *loading_code()],
            )
            payload = cache.fetch(key, lambda: self._build(files))
        else:
            payload = self._build(files)
        self.vocab = Vocabulary(list(payload["itos"]))
        self.ids = dict(payload["ids"])
        self.o["text_column"] = payload["text_column"]
        from rnnbench.taskkit import say_once

        for note in payload["notes"]:
            say_once(note)
        for split, ids in self.ids.items():
            streams, option = self.streams(split)
            if ids.numel() // streams < 2:
                raise DataError(
                    f"task.dataset: the {split} text has {ids.numel()} tokens, too "
                    f"few for {streams} streams (lower {option})"
                )
        self._datamodule.setup()

    def _build(self, files: dict[str, Path] | None) -> dict[str, Any]:
        """{"itos": vocabulary, "ids": {split: (N,) long token ids}}."""
        import torch

        texts = self._texts(files)
        texts.setdefault("test", texts.get("validation", ""))
        if "validation" not in texts:
            texts["validation"] = texts["test"]
        level = self.o["level"]
        tokens = {split: tokens_of(text, level) for split, text in texts.items()}
        vocab = Vocabulary.build([tokens["train"]], self.o["vocab_size"], self.o["min_freq"])
        return {
            "itos": vocab.itos,
            "text_column": self.o["text_column"],
            "notes": self.notes,
            "ids": {
                split: torch.tensor(vocab.encode(toks), dtype=torch.long)
                for split, toks in tokens.items()
            },
        }

    def streams(self, split: str) -> tuple[int, str]:
        """(parallel streams of `split`, the option that sets it): training uses
        train.batch_size; validation and test task.eval_batch_size."""
        if split == "train":
            return self.batch_size, "train.batch_size"
        return self.o["eval_batch_size"], "task.eval_batch_size"

    @property
    def evaluation(self) -> str:
        """The convention of the test figure, for the leaderboard caption."""
        return (
            f"test: state carried through the whole test stream, "
            f"{self.o['eval_batch_size']} streams, bptt {self.o['bptt']}"
        )

    def _windows(self):
        self.prepare()
        from rnnbench.taskkit import StreamWindows

        return tuple(
            StreamWindows(self.ids[s], self.streams(s)[0], self.o["bptt"])
            for s in ("train", "validation", "test")
        )

    @property
    def datamodule(self):
        return self._datamodule

    def context(self) -> ModelContext:
        return ModelContext(
            input_kind="tokens",
            output="sequence",
            vocab_size=len(self.vocab),
            padding_idx=0,
            stateful=True,
        )

    def head(self, in_features):
        from torch import nn

        return nn.Linear(in_features, len(self.vocab))

    def loss(self, prediction, batch):
        import torch.nn.functional as F

        return F.cross_entropy(
            prediction.reshape(-1, prediction.shape[-1]), batch["target"].reshape(-1)
        )

    def loss_weight(self, batch) -> int:
        return int(batch["target"].numel())

    def count(self, batch) -> int:
        return int(batch["target"].numel())

    def derived_metrics(self, metrics: Mapping[str, float], stage: str) -> dict[str, float]:
        loss = metrics.get(f"{stage}_loss")
        if loss is None or not math.isfinite(loss):
            return {}
        out = {f"{stage}_ppl": math.exp(min(loss, 50.0))}
        if self.o["level"] == "char":
            out[f"{stage}_bpc"] = loss / math.log(2)
        return out

    def baseline(self) -> float:
        """Cross-entropy (nats/token) on test of the add-one unigram model of train."""
        counts = Counter(self.ids["train"].tolist())
        total = sum(counts.values()) + len(self.vocab)
        test = Counter(self.ids["test"].tolist())
        n = sum(test.values())
        return -sum(c * math.log((counts.get(t, 0) + 1) / total) for t, c in test.items()) / n

    def vocabulary(self) -> list[str]:
        """Tokens by id (rnnbench.contract.vocabulary)."""
        return list(self.vocab.itos)

    def token_counts(self):
        """(V,) occurrences of each id in the training stream."""
        import torch

        return torch.bincount(self.ids["train"], minlength=len(self.vocab))

    def describe(self) -> dict[str, Any]:
        return {
            "level": self.o["level"],
            "vocab_size": len(self.vocab),
            **{f"{s}_tokens": int(ids.numel()) for s, ids in self.ids.items()},
        }

    def codec(self) -> TokenCodec:
        """The vocabulary as text; the default prime is the training text's first line
        (at most PRIME_TOKENS tokens). Padding is never sampled, nor is <unk> when the
        training text has none."""
        if getattr(self, "_codec", None) is None:
            from rnnbench.taskkit import EOS

            train = self.ids["train"]
            unk = self.vocab.unk_id
            line_end = self.vocab.stoi.get("\n" if self.o["level"] == "char" else EOS)
            start = train[:PRIME_TOKENS].tolist()
            if line_end in start:
                start = start[: start.index(line_end) + 1]
            never = {0} | ({unk} if not bool((train == unk).any()) else set())
            level = self.o["level"]
            self._codec = TokenCodec(
                tuple(self.vocab.itos),
                level=level,
                line_end=EOS if level == "word" else None,
                never=frozenset(never),
                window=self.o["bptt"],
            )
            self._codec = replace(self._codec, prime=self._codec.decode(start))
        return self._codec

    def samples(self, sample, epoch):
        """SAMPLE_LENGTH tokens at SAMPLE_TEMPERATURE after the default prime, seed 0:
        sample_epoch_N.txt after validation epoch N, sample.txt from the best weights."""
        codec = self.codec()
        prime = codec.encode(codec.prime, "the default prime")
        ids = sample(prime, SAMPLE_LENGTH, temperature=SAMPLE_TEMPERATURE, seed=0)
        name = "sample.txt" if epoch is None else f"sample_epoch_{epoch}.txt"
        return {name: codec.prime + codec.decode(ids, codec.prime.endswith("\n"))}


LANGUAGE_MODELLING = TaskSpec(
    name="language-modelling",
    factory=LanguageModellingTask,
    input_kind="tokens",
    output="sequence",
    options=OPTIONS,
    causal=True,
    stateful=True,
    monitor="val_loss",
    mode="min",
    main_metric="loss",
    description="char/word language modelling with carried state (cross-entropy, perplexity)",
)


@hookimpl
def register_tasks(register):
    register(LANGUAGE_MODELLING)
