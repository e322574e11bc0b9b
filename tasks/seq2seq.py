"""Synthetic N-vs-M problems (sequence to sequence), generated from the seed.

- `reverse`: L symbols from {1..K} (K = `symbols`) -> the same symbols in reverse
  order (the classic test of an encoder-decoder's memory, Sutskever et al. 2014
  reversed their source sentences for the same reason).
- `sort`: L digits -> the same digits in ascending order.
- `addition`: two numbers of 1..`seq_len` digits written "a+b", most significant
  digit first -> their sum's digits ("347+85" -> "432"), so the output length
  differs from the input's and depends on the values.

L is uniform in [`min_len`, `seq_len`] (`min_len` 0: L = seq_len always); `seq_len`
is the length option (`rnnbench horizon`). Metrics come from decoding (greedy, or a
beam of `beam`): `exact` (whole sequence right, the main metric), `token_acc`;
`val_loss` is the teacher-forced cross-entropy per target token. Baseline: the
exact-match of the best trivial output, copying the input (reverse, sort; for
addition the longer operand). Solved: test exact-match >= 0.9.
"""

from __future__ import annotations

from rnnbench import ConfigError, ModelContext, Param, ParamSet, TaskSpec, hookimpl
from rnnbench.taskkit import Seq2SeqTarget, SyntheticTask, decode_options, size_options

# TokenSequences, pad_sequences and seq2seq_loss_weight (torch, torchmetrics) are imported
# where used, so that reading this plugin's specs stays cheap

PAD = 0
SOLVED_EXACT = 0.9


class Seq2SeqSynthetic(SyntheticTask):
    """Source ids: PAD 0, symbols 1..K (and task-specific extras). Target ids: PAD 0,
    symbols 1..K, then BOS = K + 1 and EOS = K + 2."""

    output = "seq2seq"
    metric_unit = "exact match"
    baseline_name = "copy the input"
    symbols = 10  # K, set per task

    def __init__(self, options, batch_size, seed):
        if options["min_len"] > options["seq_len"]:
            raise ConfigError(
                f"task.min_len: must be <= task.seq_len ({options['seq_len']}), "
                f"got {options['min_len']}"
            )
        from rnnbench.taskkit import TokenSequences

        super().__init__(options, batch_size, seed)
        self.bos, self.eos = self.symbols + 1, self.symbols + 2
        self.objective = TokenSequences(self.symbols + 3, self.eos, PAD)

    def lengths(self, n: int, g):
        import torch

        low = self.options["min_len"] or self.options["seq_len"]
        return torch.randint(low, self.options["seq_len"] + 1, (n,), generator=g)  # (N,)

    def pairs(self, n: int, seed: int) -> tuple[list[list[int]], list[list[int]]]:
        raise NotImplementedError

    def trivial(self, source: list[int]) -> list[int]:
        return source  # copy the input

    def generate(self, n: int, seed: int) -> dict:
        from rnnbench.taskkit import pad_sequences

        sources, targets = self.pairs(n, seed)
        inputs, lengths = pad_sequences(sources, PAD)  # (N, S), (N,)
        target, target_lengths = pad_sequences([t + [self.eos] for t in targets], PAD)
        return {
            "inputs": inputs,
            "lengths": lengths,
            "target": target,
            "target_lengths": target_lengths,
        }  # target (N, U): y_1 .. y_n EOS PAD..

    def max_target(self) -> int:
        return self.options["seq_len"] + 1

    def context(self) -> ModelContext:
        target = Seq2SeqTarget(
            vocab_size=self.symbols + 3,
            bos_id=self.bos,
            eos_id=self.eos,
            padding_idx=PAD,
            max_length=self.max_target(),
            beam_width=self.options["beam"],
        )
        return ModelContext(
            "tokens", "seq2seq", vocab_size=self.source_vocab(), padding_idx=PAD, target=target
        )

    def source_vocab(self) -> int:
        return self.symbols + 1

    def loss_weight(self, batch) -> int:
        from rnnbench.taskkit import seq2seq_loss_weight

        return seq2seq_loss_weight(batch)

    def baseline(self) -> float:
        from rnnbench.taskkit import pad_sequences

        test = self._build()[2].tensors
        rows = [
            row[:n]
            for row, n in zip(test["inputs"].tolist(), test["lengths"].tolist(), strict=True)
        ]
        hyp, _ = pad_sequences([self.trivial(r) + [self.eos] for r in rows], PAD)
        return self.objective.baseline(hyp, test["target"])


class ReverseTask(Seq2SeqSynthetic):
    def __init__(self, options, batch_size, seed):
        self.symbols = options["symbols"]
        super().__init__(options, batch_size, seed)

    def pairs(self, n, seed):
        import torch

        g = torch.Generator().manual_seed(seed)
        lengths = self.lengths(n, g).tolist()
        rows = torch.randint(1, self.symbols + 1, (n, self.options["seq_len"]), generator=g)
        sources = [row[:k] for row, k in zip(rows.tolist(), lengths, strict=True)]
        return sources, [s[::-1] for s in sources]


class SortTask(ReverseTask):
    def pairs(self, n, seed):
        sources, _ = super().pairs(n, seed)
        return sources, [sorted(s) for s in sources]


class AdditionTask(Seq2SeqSynthetic):
    """Source: digit d -> id d + 1, "+" -> 11; target: digit d -> id d + 1."""

    symbols = 10
    baseline_name = "copy the longer operand"
    PLUS = 11

    def pairs(self, n, seed):
        import random

        import torch

        g = torch.Generator().manual_seed(seed)
        digits = torch.stack([self.lengths(n, g), self.lengths(n, g)], 1).tolist()  # (N, 2)
        rng = random.Random(seed)
        sources, targets = [], []
        for da, db in digits:  # numbers of exactly da and db digits (1 digit: 0..9)
            a = rng.randrange(10 ** (da - 1) if da > 1 else 0, 10**da)
            b = rng.randrange(10 ** (db - 1) if db > 1 else 0, 10**db)
            sources.append([*self.ids(a), self.PLUS, *self.ids(b)])
            targets.append(self.ids(a + b))
        return sources, targets

    @staticmethod
    def ids(number: int) -> list[int]:
        return [int(c) + 1 for c in str(number)]

    def trivial(self, source):
        plus = source.index(self.PLUS)
        a, b = source[:plus], source[plus + 1 :]
        return a if len(a) >= len(b) else b

    def max_target(self) -> int:
        return self.options["seq_len"] + 2  # a carry digit, then EOS

    def source_vocab(self) -> int:
        return self.PLUS + 1


def _options(seq_len: int, help_: str, symbols: bool) -> ParamSet:
    extra = (Param("symbols", int, 8, "alphabet size K", minimum=2),) if symbols else ()
    return ParamSet(
        (
            *size_options(seq_len, help_, 5000, 500, 1000),
            Param(
                "min_len", int, 0, "shortest source length (0: every source has seq_len)", minimum=0
            ),
            *extra,
            *decode_options(),
        )
    )


def _spec(name: str, factory, options: ParamSet, description: str) -> TaskSpec:
    return TaskSpec(
        name=name,
        factory=factory,
        input_kind="tokens",
        output="seq2seq",
        options=options,
        monitor="val_token_acc",
        mode="max",
        main_metric="exact",
        synthetic=True,
        solved=lambda m: m.get("exact", 0.0) >= SOLVED_EXACT,
        length_option="seq_len",
        description=description,
    )


REVERSE = _spec(
    "reverse",
    ReverseTask,
    _options(10, "source length L (symbols)", True),
    "seq2seq: reverse a sequence of L symbols (exact match)",
)
SORT = _spec(
    "sort",
    SortTask,
    _options(10, "source length L (symbols)", True),
    "seq2seq: sort L symbols ascending (exact match)",
)
ADDITION = _spec(
    "addition",
    AdditionTask,
    _options(3, "digits per operand (at most)", False),
    "seq2seq: the sum of two numbers written as digits, '347+85' -> '432'",
)


@hookimpl
def register_tasks(register):
    register(REVERSE)
    register(SORT)
    register(ADDITION)
