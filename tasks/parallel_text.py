"""Parallel text (machine translation and any other text-to-text pairs) from local files.

Data: `task.dataset` = a TSV file of `source<TAB>target` lines, or a folder of
train/dev/test TSV files (`.tsv` or `.txt`); or `task.source_file` + `task.target_file`,
two files aligned line by line. Blank lines are skipped (in aligned files, a line
blank on both sides). A single training file is split `valid_fraction` /
`test_fraction` at random (`split_seed`). Tokens are words (split on whitespace) or
characters (`level`); each side has its own vocabulary of the training split's
tokens seen `min_freq` times (others are <unk>); pairs with a side longer than
`max_length` tokens are dropped from training (and truncated in evaluation, which
scores every example). The finished tensors, vocabularies and texts are kept in the
prepared-data cache (`task.cache`, rnnbench.data.cache), keyed by the files' contents.

Metrics, on the decoded output (greedy or a beam of `beam`): `bleu` (corpus BLEU-4,
torchmetrics' SacreBLEUScore: 13a tokenisation, no smoothing, 0..1, the main metric)
and `cer` (character error rate, torchmetrics' CharErrorRate), both against the
reference text as written in the file (whitespace normalised; never its <unk>-mapped
or max_length-truncated ids), and `exact` and `token_acc` on ids, where an <unk> in
the reference matches nothing. Baseline: the BLEU of copying the source text.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from rnnbench import ConfigError, DataError, ModelContext, Param, ParamSet, Task, TaskSpec, hookimpl
from rnnbench.taskkit import (
    ObjectiveTask,
    Seq2SeqTarget,
    check_file,
    decode_options,
    local_files,
)

# the data module, metrics and padding (Lightning, torch, torchmetrics) are imported where
# used, so that reading this plugin's spec stays cheap

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")  # ids 0..3 on both sides
#: Options that do not change the prepared tensors (so not part of the cache key).
CACHE_INDEPENDENT = ("cache", "beam")
PAD, UNK, BOS, EOS = range(4)


def read_tsv(path: Path) -> list[tuple[str, str]]:
    check_file(path, "task.dataset")
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            found = "no tab" if len(parts) == 1 else f"{len(parts) - 1} tabs"
            raise DataError(f"{path} line {number}: expected source<TAB>target, found {found}")
        for side, text in zip(("source", "target"), parts, strict=True):
            if not text.strip():
                raise DataError(f"{path} line {number}: the {side} side is empty")
        pairs.append((parts[0], parts[1]))
    return _checked(pairs, path)


def read_aligned(source: Path, target: Path) -> list[tuple[str, str]]:
    check_file(source, "task.source_file")
    check_file(target, "task.target_file")
    left = source.read_text(encoding="utf-8-sig").splitlines()
    right = target.read_text(encoding="utf-8-sig").splitlines()
    if len(left) != len(right):
        raise DataError(
            f"task.source_file {source} has {len(left)} lines, task.target_file "
            f"{target} has {len(right)}: the files must be aligned line by line "
            f"(first unmatched line {min(len(left), len(right)) + 1})"
        )
    pairs = []
    for number, (s, t) in enumerate(zip(left, right, strict=True), 1):
        if not s.strip() and not t.strip():
            continue
        if not s.strip() or not t.strip():
            blank = source if not s.strip() else target
            raise DataError(f"{blank} line {number}: blank, but its aligned line is not")
        pairs.append((s, t))
    return _checked(pairs, source)


def _checked(pairs: list[tuple[str, str]], path: Path) -> list[tuple[str, str]]:
    if not pairs:
        raise DataError(f"{path}: no source/target pairs (only blank lines)")
    return pairs


class ParallelTextTask(ObjectiveTask, Task):
    metric_unit = "BLEU"
    baseline_name = "copy the source"

    def __init__(self, options, batch_size, seed):
        self.options = dict(options)
        given = [k for k in ("source_file", "target_file") if self.options[k]]
        if self.options["dataset"] and given:
            raise ConfigError(
                "task.dataset: give either task.dataset or task.source_file and "
                "task.target_file, not both"
            )
        if not self.options["dataset"] and len(given) != 2:
            raise ConfigError(
                "task.dataset: give a TSV file or folder (task.dataset), or two "
                "aligned files (task.source_file and task.target_file)"
            )
        if self.options["valid_fraction"] + self.options["test_fraction"] >= 1:
            raise ConfigError("task.valid_fraction + task.test_fraction must be < 1")
        self.seed, self.splits = seed, None
        self.char = self.options["level"] == "char"
        from rnnbench.taskkit import InMemoryDataModule

        self._datamodule = InMemoryDataModule(
            self._build, batch_size=batch_size, eval_batch_size=max(batch_size, 128)
        )

    # -------------------------------------------------------------------- data
    def _read(self) -> dict[str, list[tuple[str, str]]]:
        o = self.options
        if o["dataset"]:
            files = local_files(Path(o["dataset"]), "task.dataset")
            splits = {name: read_tsv(path) for name, path in files.items()}
        else:
            splits = {"train": read_aligned(Path(o["source_file"]), Path(o["target_file"]))}
        if "validation" in splits and "test" in splits:
            return splits
        pairs = splits["train"]
        order = list(range(len(pairs)))
        random.Random(o["split_seed"]).shuffle(order)
        n_val, n_test = (
            0 if name in splits else max(1, int(len(pairs) * o[option]))
            for name, option in (("validation", "valid_fraction"), ("test", "test_fraction"))
        )  # only the missing
        if len(pairs) < n_val + n_test + 1:
            where = files["train"] if o["dataset"] else Path(o["source_file"])
            raise DataError(
                f"{where}: {len(pairs)} pairs are too few to carve validation and test splits"
            )
        pick = lambda ids: [pairs[i] for i in ids]  # noqa: E731
        return {
            "train": pick(order[n_val + n_test :]),
            "validation": splits.get("validation", pick(order[:n_val])),
            "test": splits.get("test", pick(order[n_val : n_val + n_test])),
        }

    def tokens(self, text: str) -> list[str]:
        return list(self.plain(text)) if self.char else text.split()

    def plain(self, text: str) -> str:
        """The text a hypothesis is scored against: whitespace runs as one space."""
        return " ".join(text.split())

    def text(self, ids: list[int], side: int = 1) -> str:
        words = [self.vocab[side][i] for i in ids if i not in (PAD, BOS, EOS)]
        return ("" if self.char else " ").join(words)

    def _build(self) -> tuple:
        """The three splits, prepared from the files or taken from the prepared-data
        cache (task.cache; keyed by the files' contents, every option that shapes the
        tensors, and this code)."""
        if self.splits is not None:
            return self.splits
        o = self.options
        if o["cache"]:
            from rnnbench.taskkit import PreparedCache, file_digests, loading_code

            cache = PreparedCache("parallel-text")
            shaping = {k: v for k, v in o.items() if k not in CACHE_INDEPENDENT}
            key = cache.key(
                {"files": file_digests(self._files())}, shaping, [__file__, *loading_code()]
            )
            payload = cache.fetch(key, self._payload)
        else:
            payload = self._payload()
        from rnnbench.taskkit import TensorBatches, TextMetric, TokenSequences

        self.vocab = [list(v) for v in payload["vocab"]]
        self.index = [{t: i for i, t in enumerate(v)} for v in self.vocab]
        self.sources, self.references = list(payload["sources"]), list(payload["references"])
        self.objective = TokenSequences(
            len(self.vocab[1]),
            EOS,
            PAD,
            extra={
                "bleu": lambda: TextMetric(_bleu(), self.text, EOS, nested_references=True),
                "cer": lambda: TextMetric(_cer(), self.text, EOS),
            },
        )
        self.splits = tuple(
            TensorBatches(trim=("inputs",), trim_by={"target": "target_lengths"}, **tensors)
            for tensors in payload["splits"]
        )
        return self.splits

    def _files(self) -> dict[str, Path]:
        """The checked files the data comes from (role -> path)."""
        o = self.options
        if o["dataset"]:
            return local_files(Path(o["dataset"]), "task.dataset")
        for option in ("source_file", "target_file"):
            check_file(Path(o[option]), f"task.{option}")
        return {"source": Path(o["source_file"]), "target": Path(o["target_file"])}

    def _payload(self) -> dict:
        """{"vocab": [source, target] id -> token lists, "splits": three dicts of tensors,
        "sources"/"references": the plain source and target texts that the splits'
        "reference" rows index}."""
        o = self.options
        raw = self._read()
        tokenised = {k: [(self.tokens(s), self.tokens(t)) for s, t in v] for k, v in raw.items()}
        limit = o["max_length"]
        kept = {
            "train": [
                i
                for i, p in enumerate(tokenised["train"])
                if len(p[0]) <= limit and len(p[1]) <= limit
            ],
            "validation": range(len(raw["validation"])),
            "test": range(len(raw["test"])),
        }
        if not kept["train"]:
            raise DataError(f"task.max_length={limit}: no training pair is that short")
        vocab = []
        for side in (0, 1):
            counts = Counter(tok for i in kept["train"] for tok in tokenised["train"][i][side])
            vocab.append([*SPECIALS, *sorted(t for t, c in counts.items() if c >= o["min_freq"])])
        index = [{t: i for i, t in enumerate(v)} for v in vocab]
        sources, references, splits = [], [], []
        for name in ("train", "validation", "test"):
            start = len(references)
            sources += [self.plain(raw[name][i][0]) for i in kept[name]]
            references += [self.plain(raw[name][i][1]) for i in kept[name]]
            splits.append(_tensors([tokenised[name][i] for i in kept[name]], index, limit, start))
        return {"vocab": vocab, "splits": splits, "sources": sources, "references": references}

    def update_metrics(self, metrics, prediction, batch) -> None:
        """Text metrics against the reference texts; ids metrics with <unk> matching
        nothing (a model that emits <unk> for an unknown word has not translated it)."""
        from rnnbench.taskkit import TextMetric

        target = batch["target"].masked_fill(batch["target"] == UNK, -1)  # (B, U)
        references = [self.references[i] for i in batch["reference"].tolist()]
        for metric in metrics.values():
            if isinstance(metric, TextMetric):
                metric.update(prediction, target, references=references)
            else:
                metric.update(prediction, target)

    @property
    def datamodule(self):
        return self._datamodule

    def prepare(self) -> None:
        self._datamodule.setup()

    def context(self) -> ModelContext:
        self._build()
        target = Seq2SeqTarget(
            vocab_size=len(self.vocab[1]),
            bos_id=BOS,
            eos_id=EOS,
            padding_idx=PAD,
            max_length=self.options["max_length"] + 1,
            beam_width=self.options["beam"],
        )
        return ModelContext(
            "tokens", "seq2seq", vocab_size=len(self.vocab[0]), padding_idx=PAD, target=target
        )

    def loss_weight(self, batch) -> int:
        from rnnbench.taskkit import seq2seq_loss_weight

        return seq2seq_loss_weight(batch)

    def baseline(self) -> float:
        """BLEU of copying the source text as the output."""
        index = self._build()[2].tensors["reference"].tolist()
        return float(
            _bleu()([self.sources[i] for i in index], [[self.references[i]] for i in index])
        )

    def describe(self) -> dict:
        train, val, test = self._build()
        return {
            "train_pairs": len(train),
            "val_pairs": len(val),
            "test_pairs": len(test),
            "source_vocab": len(self.vocab[0]),
            "target_vocab": len(self.vocab[1]),
            "level": self.options["level"],
        }


def _tensors(pairs, index, limit: int, start: int) -> dict:
    """Token pairs -> inputs (N, S), lengths (N,), target (N, U) = ids EOS padding,
    target_lengths (N,), reference (N,): each row's index into the plain texts."""
    import torch

    from rnnbench.taskkit import pad_sequences

    ids = [
        [[index[side].get(t, UNK) for t in pair[side][:limit]] or [UNK] for pair in pairs]
        for side in (0, 1)
    ]
    inputs, lengths = pad_sequences(ids[0], PAD)
    target, target_lengths = pad_sequences([row + [EOS] for row in ids[1]], PAD)
    return {
        "inputs": inputs,
        "lengths": lengths,
        "target": target,
        "target_lengths": target_lengths,
        "reference": torch.arange(start, start + len(pairs)),
    }


def _bleu():
    """Corpus BLEU-4 as reported in papers (SacreBLEU's default 13a tokenisation, no
    smoothing): smoothing would add one to every n-gram count (BLEUScore's smooth)."""
    from torchmetrics.text import SacreBLEUScore

    return SacreBLEUScore(n_gram=4, smooth=False, tokenize="13a")


def _cer():
    from torchmetrics.text import CharErrorRate

    return CharErrorRate()


PARALLEL_TEXT = TaskSpec(
    name="parallel-text",
    factory=ParallelTextTask,
    input_kind="tokens",
    output="seq2seq",
    options=ParamSet(
        (
            Param("dataset", str, "", "TSV file (source<TAB>target) or folder of train/dev/test"),
            Param("source_file", str, "", "source side, aligned line by line with target_file"),
            Param("target_file", str, "", "target side, aligned line by line with source_file"),
            Param("level", str, "word", "tokens: word or char", choices=("word", "char")),
            Param(
                "min_freq", int, 1, "training occurrences for a token to get its own id", minimum=1
            ),
            Param(
                "max_length",
                int,
                50,
                "longest side in tokens (training pairs longer are "
                "dropped; decoding stops after max_length + 1)",
                minimum=1,
            ),
            Param(
                "valid_fraction",
                float,
                0.1,
                "validation share of a single training file",
                minimum=0.0,
                maximum=0.5,
            ),
            Param(
                "test_fraction",
                float,
                0.1,
                "test share of a single training file",
                minimum=0.0,
                maximum=0.5,
            ),
            Param("split_seed", int, 0, "shuffle seed of that split"),
            Param(
                "cache",
                bool,
                True,
                "reuse the prepared tensors from the datasets cache folder "
                "(keyed by the files' contents and the options)",
            ),
            *decode_options(),
        )
    ),
    monitor="val_token_acc",
    mode="max",
    main_metric="bleu",
    description="parallel text (TSV or two aligned files): BLEU, CER, exact match",
)


@hookimpl
def register_tasks(register):
    register(PARALLEL_TEXT)
