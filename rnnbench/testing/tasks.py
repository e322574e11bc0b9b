"""check_task_spec: a task plugin keeps the batch contract, is deterministic from its
seed, scores every run on the same validation and test data, computes its baseline,
and refuses bad options without writing anything."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

from rnnbench.contract.errors import RnnbenchError
from rnnbench.contract.specs import ModelContext, Task, TaskSpec
from rnnbench.testing.models import ContractError

# ------------------------------------------------------------------------ tasks
HEAD_FEATURES = 5  # D of the fake model output fed to the task's head


def check_task_spec(
    spec: TaskSpec,
    options: Mapping[str, Any] | None = None,
    *,
    bad_options: Iterable[Mapping[str, Any]] = (),
    batch_size: int = 8,
    seeds: tuple[int, int] = (0, 1),
    max_batches: int = 4,
) -> None:
    """Build the task from `options` (tiny sizes, local files) and check:

    - `context()` agrees with the spec's input kind and output, with its sizes set;
    - the first `max_batches` batches of every split honour the batch contract
      (`rnnbench.contract.specs`): inputs (B, T) token ids below vocab_size, or (B, T, F) float
      features with F = feature_size; lengths (B,) long with 1 <= lengths <= T; a
      target per example;
    - two builds from the same seed give the same batches (the runner seeds torch
      before training), and validation/test batches do not depend on the run seed;
    - `baseline()` is a finite number;
    - the head maps fake (B, T, D) or (B, D) features to predictions whose loss is a
      finite scalar with gradients reaching the head, and the metrics accept them
      and compute finite values;
    - `spec.monitor` and `spec.main_metric` name a logged metric (loss, a task
      metric or a derived one);
    - each of `bad_options` is rejected with a one-line rnnbench error (ConfigError,
      DataError, IncompatibleError) by option checking, the factory or `prepare()`,
      and leaves the working directory empty.
    """
    first = _build_task(spec, options, batch_size, seeds[0])
    where = f"task {spec.name!r}"
    context = first.context()
    _check_context(spec, context, where)
    batches = _batches(first, seeds[0], max_batches)
    for split, split_batches in batches.items():
        if not split_batches:
            raise ContractError(f"{where}: the {split} loader yields no batch")
        for i, batch in enumerate(split_batches):
            _check_batch(batch, context, f"{where} {split} batch {i}")
    again = _batches(_build_task(spec, options, batch_size, seeds[0]), seeds[0], max_batches)
    for split in batches:
        if not _same(batches[split], again[split]):
            raise ContractError(
                f"{where}: two builds with seed {seeds[0]} give different "
                f"{split} batches; generate data from the seed only"
            )
    other = _batches(_build_task(spec, options, batch_size, seeds[1]), seeds[1], max_batches)
    for split in ("validation", "test"):
        if not _same(batches[split], other[split]):
            raise ContractError(
                f"{where}: the {split} batches change with the run seed; "
                "every run must be scored on the same examples"
            )
    _check_baseline(first, where)
    _check_head_and_metrics(spec, first, context, batches["validation"][0], where)
    for bad in bad_options:
        _check_rejected(spec, bad, batch_size, seeds[0], where)


def _build_task(spec: TaskSpec, options, batch_size: int, seed: int) -> Task:
    values = spec.options.resolve(dict(options or {}), "task", source="check_task_spec")
    task = spec.factory(values, batch_size=batch_size, seed=seed)
    if not isinstance(task, Task):
        raise ContractError(
            f"task {spec.name!r}: factory returned {type(task).__name__}, not a rnnbench.Task"
        )
    task.prepare()
    return task


def _check_context(spec: TaskSpec, context: ModelContext, where: str) -> None:
    nodes = context.output == "nodes" and "tree" in spec.provides  # per-node supervision
    if (context.input_kind, context.output) != (spec.input_kind, spec.output) and not nodes:
        raise ContractError(
            f"{where}: context() gives {context.input_kind} -> {context.output}, "
            f"the spec declares {spec.input_kind} -> {spec.output}"
        )
    if spec.output == "seq2seq":
        problem = "is missing" if context.target is None else context.target.problem()
        if problem:
            raise ContractError(f"{where}: context().target (Seq2SeqTarget) {problem}")
    size = context.vocab_size if context.input_kind == "tokens" else context.feature_size
    if not isinstance(size, int) or size < 1:
        name = "vocab_size" if context.input_kind == "tokens" else "feature_size"
        raise ContractError(f"{where}: context().{name} is {size!r}, expected a positive int")


def _batches(task: Task, seed: int, limit: int) -> dict[str, list]:
    """The first `limit` batches of each split, with torch seeded as the runner does."""
    import torch

    torch.manual_seed(seed)
    dm = task.datamodule
    loaders = {
        "train": dm.train_dataloader(),
        "validation": dm.val_dataloader(),
        "test": dm.test_dataloader(),
    }
    out: dict[str, Any] = {}
    for split, loader in loaders.items():
        out[split] = []
        for batch in loader:
            out[split].append(batch)
            if len(out[split]) == limit:
                break
    return out


def _check_batch(batch: Any, context: ModelContext, where: str) -> None:
    import torch

    if not isinstance(batch, Mapping) or not {"inputs", "lengths", "target"} <= set(batch):
        keys = sorted(batch) if isinstance(batch, Mapping) else type(batch).__name__
        raise ContractError(
            f"{where}: a batch is a dict with inputs, lengths and target, got {keys}"
        )
    inputs, lengths, target = batch["inputs"], batch["lengths"], batch["target"]
    if context.input_kind == "tokens":
        if inputs.dim() != 2 or inputs.dtype != torch.long:
            raise ContractError(
                f"{where}: token inputs must be (B, T) long, got "
                f"{tuple(inputs.shape)} {inputs.dtype}"
            )
        if inputs.numel() and not (
            0 <= int(inputs.min()) and int(inputs.max()) < (context.vocab_size or 0)
        ):
            raise ContractError(
                f"{where}: token ids {int(inputs.min())}..{int(inputs.max())} "
                f"outside [0, vocab_size={context.vocab_size})"
            )
    elif (
        inputs.dim() != 3
        or not inputs.is_floating_point()
        or inputs.shape[-1] != context.feature_size
    ):
        raise ContractError(
            f"{where}: feature inputs must be (B, T, {context.feature_size}) "
            f"float, got {tuple(inputs.shape)} {inputs.dtype}"
        )
    B, T = inputs.shape[:2]
    if tuple(lengths.shape) != (B,) or lengths.dtype != torch.long:
        raise ContractError(
            f"{where}: lengths must be ({B},) long, got {tuple(lengths.shape)} {lengths.dtype}"
        )
    if int(lengths.min()) < 1 or int(lengths.max()) > T:
        raise ContractError(
            f"{where}: lengths {int(lengths.min())}..{int(lengths.max())} outside 1..T={T}"
        )
    if not isinstance(target, torch.Tensor) or target.shape[:1] != (B,):
        shape = tuple(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__
        raise ContractError(
            f"{where}: target must have one entry per example (first dimension {B}), got {shape}"
        )
    if context.output == "seq2seq":
        from rnnbench.testing.seq2seq import check_target_batch

        check_target_batch(batch, context.target, where)  # type: ignore[arg-type]  # seq2seq has one


def _same(a: list, b: list) -> bool:
    import torch

    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if set(x) != set(y):
            return False
        for key in x:
            u, v = x[key], y[key]
            if isinstance(u, tuple) and isinstance(v, tuple):  # a TreeBatch
                same = len(u) == len(v) and all(map(torch.equal, u, v))
            else:
                same = torch.equal(u, v) if isinstance(u, torch.Tensor) else u == v
            if not same:
                return False
    return True


def _check_baseline(task: Task, where: str) -> None:
    value = task.baseline()
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ContractError(
            f"{where}: baseline() returned {value!r}, expected a finite number "
            "(the trivial predictor's main metric on the test split)"
        )


def _check_head_and_metrics(
    spec: TaskSpec, task: Task, context: ModelContext, batch, where: str
) -> None:
    import torch

    B, T = batch["inputs"].shape[:2]
    shape = (B, T, HEAD_FEATURES) if context.output == "sequence" else (B, HEAD_FEATURES)
    if context.output == "seq2seq":  # teacher-forced (B, U, D); metrics read decoded ids
        shape = (B, batch["target"].shape[1], HEAD_FEATURES)
    if context.output == "nodes":  # one row per tree node (rnnbench.contract.trees)
        shape = (batch["tree"].num_nodes, HEAD_FEATURES)
    features = torch.randn(*shape, generator=torch.Generator().manual_seed(6))
    head = task.head(HEAD_FEATURES)
    try:
        prediction = head(features)
        loss = task.loss(prediction, batch)
    except RuntimeError as exc:
        raise ContractError(
            f"{where}: head and loss fail on features {tuple(shape)}: {' '.join(str(exc).split())}"
        ) from None
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or not torch.isfinite(loss):
        raise ContractError(f"{where}: loss must be a finite scalar tensor, got {loss!r}")
    loss.backward()
    if not any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in head.parameters()):
        raise ContractError(f"{where}: no gradient of the loss reaches the head")
    for name, count in (("loss_weight", task.loss_weight(batch)), ("count", task.count(batch))):
        if not isinstance(count, int) or count < 1:
            raise ContractError(f"{where}: {name}(batch) returned {count!r}, expected an int >= 1")
    metrics = task.metrics()
    try:
        scored = (
            prediction.detach().argmax(-1) if context.output == "seq2seq" else prediction.detach()
        )
        task.update_metrics(metrics, scored, batch)
        values = {name: float(metric.compute()) for name, metric in metrics.items()}
    except (RuntimeError, ValueError) as exc:
        raise ContractError(
            f"{where}: metrics reject the head's output {tuple(prediction.shape)}: "
            f"{' '.join(str(exc).split())}"
        ) from None
    broken = [name for name, value in values.items() if not math.isfinite(value)]
    if broken:
        raise ContractError(f"{where}: metric(s) {', '.join(broken)} computed non-finite values")
    derived = task.derived_metrics({"val_loss": float(loss.detach())}, "val")
    logged = {"loss", *values, *(k[len("val_") :] for k in derived)}
    for role, name in (
        ("monitor", spec.monitor.removeprefix("val_")),
        ("main_metric", spec.main_metric),
    ):
        if name not in logged:
            raise ContractError(
                f"{where}: {role} {name!r} is never logged (logged: {', '.join(sorted(logged))})"
            )
    if not spec.monitor.startswith("val_"):
        raise ContractError(
            f"{where}: monitor {spec.monitor!r} must be a validation metric (val_...)"
        )


def _check_rejected(
    spec: TaskSpec, bad: Mapping[str, Any], batch_size: int, seed: int, where: str
) -> None:
    previous = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="rnnbench-check-") as folder:
        os.chdir(folder)
        try:
            _build_task(spec, bad, batch_size, seed)
        except RnnbenchError as exc:
            if "\n" in str(exc):
                raise ContractError(
                    f"{where}: options {dict(bad)} rejected in several lines: {str(exc)!r}"
                ) from None
        except Exception as exc:
            raise ContractError(
                f"{where}: options {dict(bad)} raised {type(exc).__name__}: "
                f"{exc}, not a ConfigError/DataError"
            ) from None
        else:
            raise ContractError(f"{where}: options {dict(bad)} were accepted")
        finally:
            os.chdir(previous)
        left = sorted(os.listdir(folder))
        if left:
            raise ContractError(f"{where}: rejecting options {dict(bad)} wrote {left}")
