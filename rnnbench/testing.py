"""Contract checks for plugin authors to call from their own test suites.

    from rnnbench.testing import check_model_spec, check_task_spec
    def test_my_model_contract():
        check_model_spec(MY_SPEC, hparams={"hidden_size": 16})
    def test_my_task_contract():
        check_task_spec(MY_TASK, {"train_size": 64}, bad_options=[{"seq_len": 0}])

Each check raises `ContractError` (an AssertionError) naming the spec, the input
kind and the broken promise.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

from rnnbench.errors import RnnbenchError
from rnnbench.specs import ModelContext, ModelSpec, Task, TaskSpec

VOCAB = 13
FEATURES = 3
PAD = 0


class ContractError(AssertionError):
    pass


def _contexts(spec: ModelSpec) -> list[ModelContext]:
    contexts = []
    for kind in sorted(spec.inputs):
        for output in sorted(spec.outputs):
            if kind == "tokens":
                contexts.append(ModelContext("tokens", output, vocab_size=VOCAB, padding_idx=PAD))
            else:
                contexts.append(ModelContext("features", output, feature_size=FEATURES))
    return contexts


def _inputs(context: ModelContext, batch: int, length: int, generator) -> Any:
    import torch

    if context.input_kind == "tokens":
        return torch.randint(1, VOCAB, (batch, length), generator=generator)
    return torch.randn(batch, length, FEATURES, generator=generator)


def _pick(out, context: ModelContext):
    value = out.sequence if context.output == "sequence" else out.pooled
    return value


def check_model_spec(spec: ModelSpec, hparams: Mapping[str, Any] | None = None,
                     atol: float = 1e-5) -> None:
    """Build the model for every (input kind, output kind) it declares and check:

    - `builder` returns an nn.Module with an int `output_size`;
    - the requested output has shape (B, T, D) or (B, D) and is finite;
    - gradients reach every trainable parameter;
    - if `length_aware`: extra padding (filled with junk) and batch-mates leave the
      outputs at real positions unchanged;
    - if causal with sequence outputs: changing future inputs leaves past outputs
      unchanged;
    - if `stateful` and causal: running two consecutive windows with the state
      passed on equals one run over the whole sequence;
    - if it declares hidden states: it has `forward_unrolled`, which gives the same
      outputs as `forward` and a list of T step states that the output depends on.

    Step-state contract (`ModelSpec(hidden_states=True)`, read by `--diagnostics
    gradient-flow`): `forward_unrolled(inputs, lengths) -> (ModelOutput, [h_1..h_T])`,
    each h_t a tensor of shape (B, H), the top layer's state after step t, or
    (L, B, H), every layer's with the top layer last (torch's nn.RNN/GRU state layout;
    then ||dL/dh_t|| spans all layers); one shape for every t; and on the computation
    path: the state that step t+1 reads and the output is computed from (not a copy
    or a detached tensor), so that dL/dh_t is the total derivative through time.
    """
    import torch

    values = spec.params.resolve(dict(hparams or {}), "model", source="check_model_spec")
    for context in _contexts(spec):
        where = f"model {spec.name!r} ({context.input_kind} -> {context.output})"
        torch.manual_seed(0)
        model = spec.builder(context, **values)
        if not isinstance(model, torch.nn.Module):
            raise ContractError(f"{where}: builder returned {type(model).__name__}, not nn.Module")
        if not isinstance(getattr(model, "output_size", None), int):
            raise ContractError(f"{where}: model has no int attribute output_size")
        model.eval()
        _check_shapes_and_gradients(model, context, where)
        if spec.length_aware:
            _check_padding(model, context, where, atol)
        if spec.exposes_hidden(values):
            _check_unrolled(model, context, where, atol)
        causal = spec.is_causal(values)
        if causal and context.output == "sequence":
            _check_causal(model, context, where, atol)
            if spec.stateful:
                _check_stateful(model, context, where, atol)


def _check_shapes_and_gradients(model, context, where) -> None:
    import torch

    g = torch.Generator().manual_seed(1)
    B, T = 3, 7
    x = _inputs(context, B, T, g)
    lengths = torch.tensor([7, 4, 2])
    out = _pick(model(x, lengths), context)
    expected = (B, T, model.output_size) if context.output == "sequence" else (B, model.output_size)
    if out is None:
        raise ContractError(f"{where}: returned no {context.output} output")
    if tuple(out.shape) != expected:
        raise ContractError(f"{where}: output shape {tuple(out.shape)}, expected {expected}")
    if not torch.isfinite(out).all():
        raise ContractError(f"{where}: output is not finite")
    model.zero_grad()
    if context.output == "sequence":
        mask = torch.arange(T)[None, :] < lengths[:, None]  # (B, T)
        (out * mask.unsqueeze(-1)).pow(2).sum().backward()
    else:
        out.pow(2).sum().backward()
    missing = [name for name, p in model.named_parameters()
               if p.requires_grad and (p.grad is None or not bool(p.grad.abs().sum() > 0))]
    if missing:
        raise ContractError(f"{where}: no gradient reaches {', '.join(missing)}")


def _check_padding(model, context, where, atol) -> None:
    import torch

    g = torch.Generator().manual_seed(2)
    lengths = torch.tensor([6, 3, 5])
    T = int(lengths.max())
    x = _inputs(context, 3, T + 4, g)  # 4 extra positions of junk padding
    junk = _inputs(context, 3, T + 4, g)
    with torch.no_grad():
        alone = [_pick(model(x[i : i + 1, : lengths[i]], lengths[i : i + 1]), context)
                 for i in range(3)]
        pos = torch.arange(T + 4)[None, :] >= lengths[:, None]
        padded = x.clone()
        padded[pos] = junk[pos]
        batched = _pick(model(padded, lengths), context)
    for i in range(3):
        got = batched[i, : lengths[i]] if context.output == "sequence" else batched[i]
        want = alone[i][0]
        if not torch.allclose(got, want, atol=atol):
            diff = float((got - want).abs().max())
            raise ContractError(
                f"{where}: padding changes the output of sequence {i} (max diff {diff:.2e}); "
                "mask or pack positions beyond `lengths`")


def _check_causal(model, context, where, atol) -> None:
    import torch

    g = torch.Generator().manual_seed(3)
    T, cut = 8, 5
    x = _inputs(context, 2, T, g)
    changed = x.clone()
    changed[:, cut:] = _inputs(context, 2, T - cut, g)
    lengths = torch.full((2,), T)
    with torch.no_grad():
        a = model(x, lengths).sequence[:, :cut]
        b = model(changed, lengths).sequence[:, :cut]
    if not torch.allclose(a, b, atol=atol):
        raise ContractError(f"{where}: declared causal, but future inputs change past outputs")


def _check_stateful(model, context, where, atol) -> None:
    import torch

    g = torch.Generator().manual_seed(4)
    T, cut = 9, 4
    x = _inputs(context, 2, T, g)
    with torch.no_grad():
        whole = model(x, torch.full((2,), T)).sequence
        first = model(x[:, :cut], torch.full((2,), cut))
        second = model(x[:, cut:], torch.full((2,), T - cut), state=first.state).sequence
    joined = torch.cat([first.sequence, second], dim=1)
    if not torch.allclose(whole, joined, atol=atol):
        raise ContractError(f"{where}: declared stateful, but passing `state` between two "
                            "windows differs from one run over both")


def _check_unrolled(model, context, where, atol) -> None:
    import torch

    method = getattr(model, "forward_unrolled", None)
    if not callable(method):
        raise ContractError(f"{where}: declares hidden_states, but the model has no method "
                            "forward_unrolled(inputs, lengths) -> (ModelOutput, [h_1, ..., h_T])")
    g = torch.Generator().manual_seed(5)
    B, T = 3, 6
    x = _inputs(context, B, T, g)
    lengths = torch.tensor([6, 4, 6])
    with torch.no_grad():
        want = _pick(model(x, lengths), context)
    result = method(x, lengths)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ContractError(f"{where}: forward_unrolled must return (ModelOutput, [h_1, ..., h_T])")
    out, hidden = result
    check_step_states(hidden, B, T, where)
    got = _pick(out, context)
    if not torch.allclose(got, want, atol=atol):
        raise ContractError(f"{where}: forward_unrolled and forward disagree")
    grads = torch.autograd.grad(got.pow(2).sum(), hidden, allow_unused=True)
    if grads[0] is None or not all(torch.isfinite(g).all() for g in grads if g is not None):
        raise ContractError(f"{where}: the output does not depend on the first step state")


def check_step_states(hidden: Any, batch: int, steps: int, where: str) -> None:
    """The step states of `forward_unrolled` on a (batch, steps) input: a list of
    `steps` tensors h_t, each (B, H) or (L, B, H) with the top layer last, one shape
    for all t, on the computation path (requiring grad), so that dL/dh_t exists."""
    import torch

    if not isinstance(hidden, (list, tuple)) or len(hidden) != steps:
        count = len(hidden) if isinstance(hidden, (list, tuple)) else type(hidden).__name__
        raise ContractError(f"{where}: forward_unrolled returned {count} step states, "
                            f"expected a list of one per time step ({steps})")
    for t, h in enumerate(hidden, start=1):
        if not isinstance(h, torch.Tensor):
            raise ContractError(f"{where}: step state h_{t} is a {type(h).__name__}, "
                                "not a tensor")
        if h.dim() not in (2, 3) or h.shape[-2 if h.dim() == 3 else 0] != batch:
            raise ContractError(f"{where}: step state h_{t} has shape {tuple(h.shape)}, "
                                f"expected (B, H) or (layers, B, H) with B = {batch}")
        if h.shape != hidden[0].shape:
            raise ContractError(f"{where}: step state h_{t} has shape {tuple(h.shape)}, "
                                f"h_1 has {tuple(hidden[0].shape)}: one shape for all steps")
        if not h.requires_grad:
            raise ContractError(f"{where}: step state h_{t} is not on the computation path "
                                "(detached or computed without grad), so dL/dh_{t} is undefined")


# ------------------------------------------------------------------------ tasks
HEAD_FEATURES = 5  # D of the fake model output fed to the task's head


def check_task_spec(spec: TaskSpec, options: Mapping[str, Any] | None = None, *,
                    bad_options: Iterable[Mapping[str, Any]] = (), batch_size: int = 8,
                    seeds: tuple[int, int] = (0, 1), max_batches: int = 4) -> None:
    """Build the task from `options` (tiny sizes, local files) and check:

    - `context()` agrees with the spec's input kind and output, with its sizes set;
    - the first `max_batches` batches of every split honour the batch contract
      (`rnnbench.specs`): inputs (B, T) token ids below vocab_size, or (B, T, F) float
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
            raise ContractError(f"{where}: two builds with seed {seeds[0]} give different "
                                f"{split} batches; generate data from the seed only")
    other = _batches(_build_task(spec, options, batch_size, seeds[1]), seeds[1], max_batches)
    for split in ("validation", "test"):
        if not _same(batches[split], other[split]):
            raise ContractError(f"{where}: the {split} batches change with the run seed; "
                                "every run must be scored on the same examples")
    _check_baseline(first, where)
    _check_head_and_metrics(spec, first, context, batches["validation"][0], where)
    for bad in bad_options:
        _check_rejected(spec, bad, batch_size, seeds[0], where)


def _build_task(spec: TaskSpec, options, batch_size: int, seed: int) -> Task:
    values = spec.options.resolve(dict(options or {}), "task", source="check_task_spec")
    task = spec.factory(values, batch_size=batch_size, seed=seed)
    if not isinstance(task, Task):
        raise ContractError(f"task {spec.name!r}: factory returned {type(task).__name__}, "
                            "not a rnnbench.Task")
    task.prepare()
    return task


def _check_context(spec: TaskSpec, context: ModelContext, where: str) -> None:
    if (context.input_kind, context.output) != (spec.input_kind, spec.output):
        raise ContractError(f"{where}: context() gives {context.input_kind} -> {context.output}, "
                            f"the spec declares {spec.input_kind} -> {spec.output}")
    size = context.vocab_size if context.input_kind == "tokens" else context.feature_size
    if not isinstance(size, int) or size < 1:
        name = "vocab_size" if context.input_kind == "tokens" else "feature_size"
        raise ContractError(f"{where}: context().{name} is {size!r}, expected a positive int")


def _batches(task: Task, seed: int, limit: int) -> dict[str, list]:
    """The first `limit` batches of each split, with torch seeded as the runner does."""
    import torch

    torch.manual_seed(seed)
    dm = task.datamodule
    loaders = {"train": dm.train_dataloader(), "validation": dm.val_dataloader(),
               "test": dm.test_dataloader()}
    out = {}
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
        raise ContractError(f"{where}: a batch is a dict with inputs, lengths and target, "
                            f"got {keys}")
    inputs, lengths, target = batch["inputs"], batch["lengths"], batch["target"]
    if context.input_kind == "tokens":
        if inputs.dim() != 2 or inputs.dtype != torch.long:
            raise ContractError(f"{where}: token inputs must be (B, T) long, got "
                                f"{tuple(inputs.shape)} {inputs.dtype}")
        if inputs.numel() and not (0 <= int(inputs.min()) and int(inputs.max()) < context.vocab_size):
            raise ContractError(f"{where}: token ids {int(inputs.min())}..{int(inputs.max())} "
                                f"outside [0, vocab_size={context.vocab_size})")
    elif inputs.dim() != 3 or not inputs.is_floating_point() or \
            inputs.shape[-1] != context.feature_size:
        raise ContractError(f"{where}: feature inputs must be (B, T, {context.feature_size}) "
                            f"float, got {tuple(inputs.shape)} {inputs.dtype}")
    B, T = inputs.shape[:2]
    if tuple(lengths.shape) != (B,) or lengths.dtype != torch.long:
        raise ContractError(f"{where}: lengths must be ({B},) long, got "
                            f"{tuple(lengths.shape)} {lengths.dtype}")
    if int(lengths.min()) < 1 or int(lengths.max()) > T:
        raise ContractError(f"{where}: lengths {int(lengths.min())}..{int(lengths.max())} "
                            f"outside 1..T={T}")
    if not isinstance(target, torch.Tensor) or target.shape[:1] != (B,):
        shape = tuple(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__
        raise ContractError(f"{where}: target must have one entry per example (first "
                            f"dimension {B}), got {shape}")


def _same(a: list, b: list) -> bool:
    import torch

    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if set(x) != set(y):
            return False
        for key in x:
            u, v = x[key], y[key]
            same = torch.equal(u, v) if isinstance(u, torch.Tensor) else u == v
            if not same:
                return False
    return True


def _check_baseline(task: Task, where: str) -> None:
    value = task.baseline()
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ContractError(f"{where}: baseline() returned {value!r}, expected a finite number "
                            "(the trivial predictor's main metric on the test split)")


def _check_head_and_metrics(spec: TaskSpec, task: Task, context: ModelContext, batch,
                            where: str) -> None:
    import torch

    B, T = batch["inputs"].shape[:2]
    shape = (B, T, HEAD_FEATURES) if context.output == "sequence" else (B, HEAD_FEATURES)
    features = torch.randn(*shape, generator=torch.Generator().manual_seed(6))
    head = task.head(HEAD_FEATURES)
    try:
        prediction = head(features)
        loss = task.loss(prediction, batch)
    except RuntimeError as exc:
        raise ContractError(f"{where}: head and loss fail on features {tuple(shape)}: "
                            f"{' '.join(str(exc).split())}") from None
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
        task.update_metrics(metrics, prediction.detach(), batch)
        values = {name: float(metric.compute()) for name, metric in metrics.items()}
    except (RuntimeError, ValueError) as exc:
        raise ContractError(f"{where}: metrics reject the head's output {tuple(prediction.shape)}: "
                            f"{' '.join(str(exc).split())}") from None
    broken = [name for name, value in values.items() if not math.isfinite(value)]
    if broken:
        raise ContractError(f"{where}: metric(s) {', '.join(broken)} computed non-finite values")
    derived = task.derived_metrics({"val_loss": float(loss.detach())}, "val")
    logged = {"loss", *values, *(k[len("val_"):] for k in derived)}
    for role, name in (("monitor", spec.monitor.removeprefix("val_")),
                       ("main_metric", spec.main_metric)):
        if name not in logged:
            raise ContractError(f"{where}: {role} {name!r} is never logged (logged: "
                                f"{', '.join(sorted(logged))})")
    if not spec.monitor.startswith("val_"):
        raise ContractError(f"{where}: monitor {spec.monitor!r} must be a validation metric "
                            "(val_...)")


def _check_rejected(spec: TaskSpec, bad: Mapping[str, Any], batch_size: int, seed: int,
                    where: str) -> None:
    previous = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="rnnbench-check-") as folder:
        os.chdir(folder)
        try:
            _build_task(spec, bad, batch_size, seed)
        except RnnbenchError as exc:
            if "\n" in str(exc):
                raise ContractError(f"{where}: options {dict(bad)} rejected in several lines: "
                                    f"{str(exc)!r}") from None
        except Exception as exc:
            raise ContractError(f"{where}: options {dict(bad)} raised {type(exc).__name__}: "
                                f"{exc}, not a ConfigError/DataError") from None
        else:
            raise ContractError(f"{where}: options {dict(bad)} were accepted")
        finally:
            os.chdir(previous)
        left = sorted(os.listdir(folder))
        if left:
            raise ContractError(f"{where}: rejecting options {dict(bad)} wrote {left}")
