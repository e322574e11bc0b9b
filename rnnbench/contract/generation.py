"""What a generative token task tells the core, so that its runs can be sampled from.

A task whose `Task.codec()` returns a `TokenCodec` (the built-in language model does)
is generative: `rnnbench generate --run RUN_ID` rebuilds its model and head from the
run's recorded settings, loads the best checkpoint and samples tokens from it, and the
task's `Task.samples(sample, epoch)` can log texts written by the model during and at
the end of every run. The codec turns text into token ids and back:

    char level: "To be" -> ["T", "o", " ", "b", "e"]; ids joined with "".
    word level: "to be\\nor" -> ["to", "be", LINE_END, "or"]: words split on white
                space, one `line_end` token per newline; ids joined with " ", and the
                line-end token written as a newline.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rnnbench.contract.errors import ConfigError


@dataclass(frozen=True)
class TokenCodec:
    """A vocabulary as text.

    itos:     token string of every id (id 0 is padding).
    level:    "char" or "word" (see the module docstring).
    line_end: the word-level token that stands for a newline (e.g. "<eos>"), or None.
    never:    ids that are never sampled (padding; unknown when the data has none).
    window:   how many of the latest tokens a model that carries no state across windows
              is given per step (the task's training window); stateful models get one.
    prime:    a default prime, in the vocabulary by construction (e.g. the start of the
              training text).
    """

    itos: tuple[str, ...]
    level: Literal["char", "word"] = "char"
    line_end: str | None = None
    never: frozenset[int] = frozenset({0})
    window: int = 64
    prime: str = "\n"
    stoi: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stoi", {tok: i for i, tok in enumerate(self.itos)})

    def tokens(self, text: str) -> list[str]:
        """The tokens of `text`, as the task tokenised its training data."""
        if self.level == "char":
            return list(text)
        out: list[str] = []
        lines = text.split("\n")
        for i, line in enumerate(lines):
            out.extend(line.split())
            if i < len(lines) - 1 and self.line_end is not None:
                out.append(self.line_end)
        return out

    def encode(self, text: str, where: str = "--prime") -> list[int]:
        """Token ids of `text`; a token outside the vocabulary (or one never sampled,
        such as padding) is a ConfigError naming the first one and its position."""
        ids = []
        for position, token in enumerate(self.tokens(text)):
            i = self.stoi.get(token)
            if i is None or i in self.never:
                unit = "character" if self.level == "char" else "word"
                raise ConfigError(
                    f"{where}: {unit} {token!r} (token {position + 1}) is not in "
                    f"the run's vocabulary of {len(self.itos)} tokens"
                )
            ids.append(i)
        if not ids:
            raise ConfigError(
                f"{where}: empty; give at least one "
                f"{'character' if self.level == 'char' else 'word'}"
            )
        return ids

    def pieces(self, ids: Iterable[int], at_line_start: bool = True) -> Iterator[str]:
        """The text of each token in turn (word level: with the space before it), for
        streaming; "".join(pieces(ids)) == decode(ids)."""
        for i in ids:
            token = self.itos[i]
            if self.level == "char":
                yield token
            elif token == self.line_end:
                at_line_start = True
                yield "\n"
            else:
                yield token if at_line_start else " " + token
                at_line_start = False

    def decode(self, ids: Sequence[int], at_line_start: bool = True) -> str:
        return "".join(self.pieces(ids, at_line_start))
