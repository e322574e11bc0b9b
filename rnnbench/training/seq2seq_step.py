"""The seq2seq path of BenchmarkSystem (rnnbench.contract.seq2seq): the loss is teacher-
forced at every stage; validation and test metrics score the decoded output (greedy
or beam search, `Seq2SeqTarget.beam_width`), not the teacher-forced one, so that they
are those of real generation. `val_loss`/`test_loss` stay the teacher-forced
cross-entropy per target token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from rnnbench.contract.errors import IncompatibleError
from rnnbench.contract.seq2seq import Seq2SeqTarget, decoder_inputs
from rnnbench.training.decoding import decode


def target_spec(system: Any) -> Seq2SeqTarget:
    spec = getattr(system, "_target_spec", None)
    if spec is None:
        spec = system.task.context().target
        object.__setattr__(system, "_target_spec", spec)  # a plain attribute, not a module
    return spec


def teacher_forced(system: Any, batch: Mapping[str, Any]) -> torch.Tensor:
    """Logits (B, U, V) of the target given BOS y_1 .. y_n."""
    spec = target_spec(system)
    tokens = decoder_inputs(batch["target"], batch["target_lengths"], spec)  # (B, U)
    out = system.model(
        batch["inputs"],
        batch["lengths"],
        decoder_inputs=tokens,
        decoder_lengths=batch["target_lengths"],
    )
    return system.head(out.sequence)  # (B, U, V)


def seq2seq_step(system: Any, batch: Mapping[str, Any], stage: str) -> torch.Tensor:
    loss = system.task.loss(teacher_forced(system, batch), batch)
    if stage != "train":
        system.loss_means[f"{stage}_"].update(loss.detach(), weight=system.task.loss_weight(batch))
        decoded, _ = decode(
            system.model, system.head, batch["inputs"], batch["lengths"], target_spec(system)
        )  # (B, U')
        system.task.update_metrics(system.metrics[f"{stage}_"], decoded, batch)
    return loss


def check_seq2seq_batch(system: Any, batch: Mapping[str, Any], who: str) -> None:
    """The preflight of a seq2seq pair on the first validation batch: the task's target
    side, the teacher-forced (B, U, D) output, the head and loss, and two decoding
    steps, each mismatch one IncompatibleError line (rnnbench.training.preflight)."""
    spec = system.task.context().target
    problem = "the task's context() has no target" if spec is None else spec.problem()
    if problem:
        raise IncompatibleError(f"{who}: Seq2SeqTarget: {problem}")
    missing = [k for k in ("target", "target_lengths") if k not in batch]
    if missing:
        raise IncompatibleError(f"{who}: a seq2seq batch needs {', '.join(missing)}")
    model = system.model
    absent = [
        m
        for m in ("encode", "decode_step", "select_state")
        if not callable(getattr(model, m, None))
    ]
    if absent:
        raise IncompatibleError(
            f"{who}: a seq2seq model needs the method(s) "
            f"{', '.join(absent)} (rnnbench.contract.seq2seq)"
        )
    B, U = batch["target"].shape
    expected = (B, U, model.output_size)
    try:
        tokens = decoder_inputs(batch["target"], batch["target_lengths"], spec)
        out = model(
            batch["inputs"],
            batch["lengths"],
            decoder_inputs=tokens,
            decoder_lengths=batch["target_lengths"],
        )
    except Exception as exc:
        raise IncompatibleError(
            f"{who}: the model fails under teacher forcing on the first "
            f"batch: {type(exc).__name__}: {' '.join(str(exc).split())}"
        ) from None
    features = getattr(out, "sequence", None)
    if not isinstance(features, torch.Tensor) or tuple(features.shape) != expected:
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else features
        raise IncompatibleError(
            f"{who}: teacher-forced sequence output is {shape}, expected "
            f"(B, U, D) = {expected} with D = output_size"
        )
    loss = system.task.loss(system.head(features), batch)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise IncompatibleError(f"{who}: the task's loss must be a scalar tensor")
    try:
        decode(
            model,
            system.head,
            batch["inputs"],
            batch["lengths"],
            Seq2SeqTarget(**{**spec.__dict__, "max_length": 2}),
        )
    except Exception as exc:
        raise IncompatibleError(
            f"{who}: decoding fails on the first batch: "
            f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        ) from None
