"""Sampling from a trained token model, one token at a time (Graves 2013, Karpathy's
char-rnn): feed the prime, then draw each next token from the head's distribution and
feed it back.

    logits_t = head(model(x_{<=t}).sequence[:, -1])           # (B, V)
    p_t      = softmax(top_k(logits_t) / temperature)         # (B, V), banned ids at 0
    x_{t+1}  ~ Categorical(p_t)                               # (B,)

A stateful model (`ModelSpec.stateful`) reads the prime once and then one token per
step, its recurrent state carried; a model without carried state is given the latest
`codec.window` tokens at every step, as it saw them in training. Draws use their own
seeded generator, so sampling neither depends on nor moves the global RNG.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from rnnbench.contract.errors import ConfigError, RnnbenchError
from rnnbench.contract.generation import TokenCodec


def check_sampling(length: int, temperature: float, top_k: int | None) -> None:
    """The options of a draw: one-line ConfigErrors naming the flag."""
    if not (
        isinstance(temperature, int | float) and math.isfinite(temperature) and temperature > 0
    ):
        raise ConfigError(f"--temperature: must be a finite number > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"--top-k: must be >= 1 (the k most likely tokens), got {top_k}")
    if length < 1:
        raise ConfigError(f"--length: must be >= 1 token, got {length}")


class Sampler:
    """Draws token ids from `model` + `head` (a trained system's), batch of one stream.

    `sampler(prime_ids, length, temperature=1.0, top_k=0, seed=0)` returns the `length`
    ids drawn after the prime; `stream(...)` yields them one by one. top_k=0: no cut.
    """

    def __init__(
        self, model: nn.Module, head: nn.Module, codec: TokenCodec, stateful: bool
    ) -> None:
        self.model, self.head, self.codec, self.stateful = model, head, codec, stateful

    def __call__(
        self,
        prime_ids: Sequence[int],
        length: int,
        temperature: float = 1.0,
        top_k: int = 0,
        seed: int = 0,
    ) -> list[int]:
        return list(self.stream(prime_ids, length, temperature, top_k, seed))

    def stream(
        self,
        prime_ids: Sequence[int],
        length: int,
        temperature: float = 1.0,
        top_k: int = 0,
        seed: int = 0,
    ) -> Iterator[int]:
        """Checks the options (ConfigError) before the first draw, then yields ids."""
        check_sampling(length, temperature, top_k or None)
        if not prime_ids:
            raise ConfigError("--prime: empty; give at least one token")
        return self._draw(list(prime_ids), length, temperature, top_k, seed)

    def _draw(
        self, context: list[int], length: int, temperature: float, top_k: int, seed: int
    ) -> Iterator[int]:
        device = next(self.model.parameters()).device
        generator = torch.Generator().manual_seed(seed)  # CPU draws: same ids on any device
        banned = torch.tensor(sorted(self.codec.never), dtype=torch.long)
        training = self.model.training, self.head.training
        self.model.eval()
        self.head.eval()
        try:
            with torch.no_grad():
                logits, state = self._step(context, None, device)
                for drawn in range(1, length + 1):
                    scores = logits.float().cpu() / temperature  # (1, V)
                    scores[:, banned] = -math.inf
                    if top_k and top_k < scores.shape[-1]:
                        kth = scores.topk(top_k, dim=-1).values[:, -1:]  # (1, 1)
                        scores = scores.masked_fill(scores < kth, -math.inf)
                    probs = torch.softmax(scores, dim=-1)  # (1, V)
                    if not bool(torch.isfinite(probs).all()):
                        raise RnnbenchError(
                            "the model's next-token scores are not finite (a diverged checkpoint?)"
                        )
                    token = int(torch.multinomial(probs, 1, generator=generator)[0, 0])
                    yield token
                    context.append(token)
                    if drawn < length:
                        logits, state = self._step(context, state, device)
        finally:
            self.model.train(training[0])
            self.head.train(training[1])

    def _step(self, context: list[int], state: Any, device) -> tuple[torch.Tensor, Any]:
        """Logits (1, V) of the token after `context`, and the state to carry."""
        if self.stateful:
            new = context if state is None else context[-1:]  # the prime once, then 1 token
        else:
            new, state = context[-self.codec.window :], None
        inputs = torch.tensor([new], dtype=torch.long, device=device)  # (1, T)
        lengths = torch.tensor([len(new)], dtype=torch.long, device=device)  # (1,)
        out = self.model(inputs, lengths, state=state)
        logits = self.head(out.sequence[:, -1])  # (1, D) -> (1, V)
        return logits, out.state if self.stateful else None
