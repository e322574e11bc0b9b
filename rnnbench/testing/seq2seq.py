"""check_seq2seq_model: the seq2seq model contract (rnnbench.contract.seq2seq) on tiny
random inputs; `check_model_spec` calls it for every spec that declares the output
kind "seq2seq"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import torch

from rnnbench.contract.seq2seq import Seq2SeqTarget
from rnnbench.contract.specs import InputKind, ModelContext, ModelSpec
from rnnbench.testing.inputs import FEATURES, PAD, VOCAB, ContractError
from rnnbench.training.decoding import beam_decode, greedy_decode

TARGET = Seq2SeqTarget(vocab_size=11, bos_id=9, eos_id=10, padding_idx=0, max_length=6)


def seq2seq_contexts(spec: ModelSpec) -> list[ModelContext]:
    out = []
    for kind in sorted(spec.inputs):
        sizes: dict[str, Any] = (
            {"vocab_size": VOCAB, "padding_idx": PAD}
            if kind == "tokens"
            else {"feature_size": FEATURES}
        )
        out.append(ModelContext(cast(InputKind, kind), "seq2seq", target=TARGET, **sizes))
    return out


def _source(context: ModelContext, B: int, S: int, g) -> torch.Tensor:
    if context.input_kind == "tokens":
        return torch.randint(1, VOCAB, (B, S), generator=g)
    return torch.randn(B, S, FEATURES, generator=g)


def _targets(B: int, U: int, g) -> torch.Tensor:
    return torch.randint(1, TARGET.bos_id, (B, U), generator=g)  # ordinary target ids


def _close(a, b, atol) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, atol=atol)


def check_seq2seq_model(
    spec: ModelSpec, hparams: Mapping[str, Any] | None = None, atol: float = 1e-5
) -> None:
    """For every input kind the spec accepts:

    - forward (teacher forcing) gives (B, U, D) finite features, D = output_size, and
      gradients reach every trainable parameter;
    - padding invariance, source side: junk beyond `lengths` and batch-mates leave the
      features unchanged; target side: junk beyond `decoder_lengths` leaves the
      features at real positions unchanged;
    - no peeking: changing decoder inputs at positions >= u leaves features < u unchanged;
    - decode_step, fed the same tokens from encode(), reproduces forward's features;
      select_state picks rows (a permuted state gives permuted features);
    - batched decoding: greedy decoding of a batch equals decoding each example alone,
      beam search of width 1 equals greedy, and decoding stops at EOS: every row
      holds padding after its first EOS, and decoding ends once all rows have one.
    """
    values = spec.params.resolve(dict(hparams or {}), "model", source="check_seq2seq_model")
    for context in seq2seq_contexts(spec):
        where = f"model {spec.name!r} ({context.input_kind} -> seq2seq)"
        torch.manual_seed(0)
        model = spec.builder(context, **values)
        missing = [
            m
            for m in ("encode", "decode_step", "select_state")
            if not callable(getattr(model, m, None))
        ]
        if missing or not isinstance(getattr(model, "output_size", None), int):
            raise ContractError(
                f"{where}: a seq2seq model needs an int output_size and the "
                f"methods encode, decode_step, select_state (missing: "
                f"{', '.join(missing) or 'output_size'})"
            )
        model.eval()
        _check_forward(model, context, where)
        _check_padding(model, context, where, atol)
        _check_steps(model, context, where, atol)
        _check_decoding(model, context, where)


def _run(model, x, lengths, y, y_lengths):
    return model(x, lengths, decoder_inputs=y, decoder_lengths=y_lengths).sequence


def _check_forward(model, context, where) -> None:
    g = torch.Generator().manual_seed(1)
    B, S, U = 3, 6, 5
    x, lengths = _source(context, B, S, g), torch.tensor([6, 3, 4])
    y, y_lengths = _targets(B, U, g), torch.tensor([5, 2, 4])
    out = _run(model, x, lengths, y, y_lengths)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (B, U, model.output_size):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else out
        raise ContractError(
            f"{where}: teacher-forced sequence is {shape}, expected {(B, U, model.output_size)}"
        )
    if not torch.isfinite(out).all():
        raise ContractError(f"{where}: output is not finite")
    model.zero_grad()
    real = (torch.arange(U)[None, :] < y_lengths[:, None]).unsqueeze(-1)  # (B, U, 1)
    (out * real).pow(2).sum().backward()
    dead = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not bool(p.grad.abs().sum() > 0))
    ]
    if dead:
        raise ContractError(f"{where}: no gradient reaches {', '.join(dead)}")


def _check_padding(model, context, where, atol) -> None:
    g = torch.Generator().manual_seed(2)
    lengths, y_lengths = torch.tensor([5, 2, 4]), torch.tensor([4, 3, 1])
    x, junk_x = _source(context, 3, 8, g), _source(context, 3, 8, g)
    y, junk_y = _targets(3, 6, g), _targets(3, 6, g)
    pad_x = torch.arange(8)[None, :] >= lengths[:, None]
    pad_y = torch.arange(6)[None, :] >= y_lengths[:, None]
    x2, y2 = x.clone(), y.clone()
    x2[pad_x], y2[pad_y] = junk_x[pad_x], junk_y[pad_y]
    with torch.no_grad():
        batched = _run(model, x2, lengths, y2, y_lengths)
        for i in range(3):
            n, u = int(lengths[i]), int(y_lengths[i])
            alone = _run(
                model, x[i : i + 1, :n], lengths[i : i + 1], y[i : i + 1, :u], y_lengths[i : i + 1]
            )[0]
            if not _close(batched[i, :u], alone, atol):
                raise ContractError(
                    f"{where}: padding (source beyond lengths, target beyond "
                    f"decoder_lengths) or batch-mates change sequence {i}"
                )


def _check_steps(model, context, where, atol) -> None:
    g = torch.Generator().manual_seed(3)
    B, U, cut = 3, 6, 3
    x, lengths = _source(context, B, 5, g), torch.tensor([5, 4, 2])
    y, y_lengths = _targets(B, U, g), torch.full((B,), U)
    changed = y.clone()
    changed[:, cut:] = _targets(B, U - cut, g)
    with torch.no_grad():
        whole = _run(model, x, lengths, y, y_lengths)
        if not _close(whole[:, :cut], _run(model, x, lengths, changed, y_lengths)[:, :cut], atol):
            raise ContractError(
                f"{where}: teacher forcing peeks at future target tokens "
                "(decoder inputs at u change features before u)"
            )
        state, steps = model.encode(x, lengths), []
        for tokens in y.unbind(1):
            features, state = model.decode_step(tokens, state)
            steps.append(features)
        if not _close(torch.stack(steps, 1), whole, atol):
            raise ContractError(
                f"{where}: decode_step disagrees with teacher forcing on the same tokens"
            )
        perm = torch.tensor([2, 0, 1])
        picked = model.select_state(model.encode(x, lengths), perm)
        features, _ = model.decode_step(y[perm, 0], picked)
        if not _close(features, steps[0][perm], atol):
            raise ContractError(
                f"{where}: select_state(state, index) does not pick the rows `index` of the state"
            )


class _StopHead:
    """A random linear head that makes example i emit EOS exactly at step stop[i] (and
    never before), for B examples in N = B·K rows."""

    def __init__(self, D: int, stop: torch.Tensor) -> None:
        self.linear = torch.nn.Linear(D, TARGET.vocab_size)
        self.stop, self.calls = stop, 0

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        logits = self.linear(features)
        rows = torch.arange(features.shape[0]) // (features.shape[0] // len(self.stop))
        at_stop = self.stop[rows] == self.calls
        logits[:, TARGET.eos_id] = torch.where(at_stop, 100.0, -100.0)
        return logits


def _check_decoding(model, context, where) -> None:
    g = torch.Generator().manual_seed(4)
    x, lengths = _source(context, 3, 5, g), torch.tensor([5, 2, 4])
    head = torch.nn.Linear(model.output_size, TARGET.vocab_size)
    with torch.no_grad():
        tokens, _ = greedy_decode(model, head, x, lengths, TARGET)
        for i in range(3):
            alone, _ = greedy_decode(
                model, head, x[i : i + 1, : lengths[i]], lengths[i : i + 1], TARGET
            )
            if not torch.equal(alone[0], tokens[i, : alone.shape[1]]):
                raise ContractError(
                    f"{where}: greedy decoding of example {i} in a batch "
                    "differs from decoding it alone"
                )
        beam, _ = beam_decode(model, head, x, lengths, TARGET, beam_width=1)
        if not torch.equal(beam, tokens):
            raise ContractError(f"{where}: beam search of width 1 differs from greedy")
        stop = torch.tensor([2, 4, 3])
        for name, run in (
            ("greedy", lambda h: greedy_decode(model, h, x, lengths, TARGET)),
            ("beam", lambda h: beam_decode(model, h, x, lengths, TARGET, 3)),
        ):
            got, got_lengths = run(_StopHead(model.output_size, stop))
            after = torch.arange(got.shape[1])[None, :] >= stop[:, None]
            if (
                got.shape[1] != int(stop.max())
                or not torch.equal(got_lengths, stop)
                or bool((got[after] != TARGET.padding_idx).any())
            ):
                raise ContractError(
                    f"{where}: {name} decoding does not stop at EOS and pad "
                    f"after it (EOS at steps {stop.tolist()}, got "
                    f"{got.tolist()})"
                )


def check_target_batch(batch: Mapping[str, Any], target: Seq2SeqTarget, where: str) -> None:
    """A seq2seq batch's target side (rnnbench.contract.seq2seq): "target" (B, U) long ids
    in [0, vocab_size), EOS at position target_lengths - 1, padding after it;
    "target_lengths" (B,) long in 1..U; decoding can produce the longest (max_length)."""
    y, lengths = batch["target"], batch.get("target_lengths")
    if (
        not isinstance(lengths, torch.Tensor)
        or lengths.dtype != torch.long
        or tuple(lengths.shape) != y.shape[:1]
        or y.dim() != 2
        or y.dtype != torch.long
    ):
        raise ContractError(
            f"{where}: a seq2seq batch needs target (B, U) long and target_lengths (B,) long"
        )
    if int(lengths.min()) < 1 or int(lengths.max()) > y.shape[1]:
        raise ContractError(f"{where}: target_lengths outside 1..U={y.shape[1]}")
    if int(y.min()) < 0 or int(y.max()) >= target.vocab_size:
        raise ContractError(f"{where}: target ids outside [0, vocab_size={target.vocab_size})")
    rows = torch.arange(y.shape[0])
    if not bool((y[rows, lengths - 1] == target.eos_id).all()):
        raise ContractError(
            f"{where}: every target must end with EOS ({target.eos_id}) at "
            "position target_lengths - 1"
        )
    after = torch.arange(y.shape[1])[None, :] >= lengths[:, None]
    inside = ~after & (torch.arange(y.shape[1])[None, :] < (lengths - 1)[:, None])
    if bool((y[after] != target.padding_idx).any()) or bool(
        torch.isin(
            y[inside], torch.tensor([target.eos_id, target.bos_id, target.padding_idx])
        ).any()
    ):
        raise ContractError(
            f"{where}: targets hold BOS, EOS or padding among their tokens, "
            "or something other than padding after EOS"
        )
    if int(lengths.max()) > target.max_length:
        raise ContractError(
            f"{where}: a target of {int(lengths.max())} tokens is longer than "
            f"Seq2SeqTarget.max_length={target.max_length}"
        )
