"""One batch through the model, the task's head and loss before the Trainer starts.

A model that breaks the model contract (`rnnbench.contract.specs`) would otherwise crash in
the middle of training with a long traceback that names neither the model nor its
plugin, and leave a FAILED MLflow run behind. `check_first_batch` runs the first
validation batch (evaluation mode, no gradients, torch's RNG state restored, so the
run trains exactly as without it) and turns a mismatch into one IncompatibleError
line: the model, its plugin's distribution and version, the task, and the expected
and actual shapes.
"""

from __future__ import annotations

from typing import Any

from rnnbench.contract.errors import IncompatibleError, plugin_call


def _shape(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return str(tuple(shape)) if shape is not None else type(value).__name__


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _nodes(batch: Any) -> int | None:
    """N, the batch's tree nodes (rnnbench.contract.trees), or None without trees."""
    tree = batch.get("tree")
    return int(tree.token.shape[0]) if tree is not None else None


def check_first_batch(
    system: Any, config: Any, registry: Any, step_states: bool = False, spec: Any = None
) -> None:
    """Raise IncompatibleError if the model's output does not have the contract's
    shape, (B, T, D) per step or (B, D) pooled with D = model.output_size, or if the
    task's head or loss cannot take it; with `step_states` (a diagnostic reads
    forward_unrolled), also its step states. With the model's `spec`, also that the
    built task's output kind (e.g. "nodes", rnnbench.contract.trees) is one the model
    gives. Runs before anything is written."""
    import torch

    from rnnbench.contract.trees import output_mismatch

    who = f"{registry.plugin_label('model', config.model)} on task {config.task!r}"
    model, task, kind = system.model, system.task, system.output_kind
    mismatch = spec and output_mismatch(spec.outputs, kind, config.model, config.task)
    if mismatch:
        raise IncompatibleError(mismatch)
    was_training = system.training
    system.eval()
    # A DataLoader iterator draws its base seed from torch's RNG even without shuffling:
    # everything runs inside fork_rng, so training draws the same numbers as without it.
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            batch = plugin_call(
                registry.plugin_label("task", config.task),
                "its data module (first validation batch)",
                lambda: next(iter(task.datamodule.val_dataloader()), None),
            )
            if batch is None:
                return  # an empty validation split is the task's own error, reported later
            if kind == "seq2seq":
                from rnnbench.training.seq2seq_step import check_seq2seq_batch

                return check_seq2seq_batch(system, batch, who)
            inputs, lengths = batch["inputs"], batch["lengths"]
            structure = {name: batch[name] for name in getattr(system, "needs", ())}
            B, T = inputs.shape[:2]
            D = model.output_size
            expected = {"sequence": (B, T, D), "nodes": (_nodes(batch), D)}.get(kind, (B, D))
            try:
                out = model(inputs, lengths, **structure)
            except Exception as exc:
                raise IncompatibleError(
                    f"{who}: the model fails on the first batch (inputs "
                    f"{_shape(inputs)}): {_one_line(exc)}"
                ) from None
            features = getattr(out, kind, None)
            if not isinstance(features, torch.Tensor):
                raise IncompatibleError(
                    f"{who}: the model returned no {kind} output "
                    f"(ModelOutput.{kind} is {_shape(features)}), expected "
                    f"shape {expected}"
                )
            if tuple(features.shape) != expected:
                layout = {"sequence": "(B, T, D)", "nodes": "(N, D)"}.get(kind, "(B, D)")
                raise IncompatibleError(
                    f"{who}: {kind} output has shape {_shape(features)}, "
                    f"expected {layout} = {expected} with D = the model's "
                    f"output_size {D}"
                )
            try:
                prediction = system.head(features)
                loss = task.loss(prediction, batch)
            except Exception as exc:
                raise IncompatibleError(
                    f"{who}: the task's head and loss fail on the model's "
                    f"{kind} output {expected} (target "
                    f"{_shape(batch.get('target'))}): {_one_line(exc)}"
                ) from None
            if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
                raise IncompatibleError(
                    f"{who}: the task's loss must be a scalar tensor, got {_shape(loss)}"
                )
            if step_states:
                _check_unrolled(model, inputs, lengths, who)
    finally:
        system.train(was_training)


def _check_unrolled(model: Any, inputs: Any, lengths: Any, who: str) -> None:
    """A diagnostic (gradient-flow) reads forward_unrolled's step states at the first
    training step: check the method and its states now (see rnnbench.testing)."""
    import torch

    from rnnbench.testing import ContractError, check_step_states

    method = getattr(model, "forward_unrolled", None)
    if not callable(method):
        raise IncompatibleError(
            f"{who}: --diagnostics gradient-flow calls forward_unrolled("
            "inputs, lengths), which the model lacks although its spec "
            "declares hidden_states"
        )
    with torch.enable_grad():
        try:
            _, hidden = method(inputs, lengths)
        except Exception as exc:
            raise IncompatibleError(
                f"{who}: forward_unrolled fails on the first batch (inputs "
                f"{_shape(inputs)}): {_one_line(exc)}"
            ) from None
        try:
            check_step_states(hidden, inputs.shape[0], inputs.shape[1], "forward_unrolled")
        except ContractError as exc:
            raise IncompatibleError(f"{who}: {exc}") from None
