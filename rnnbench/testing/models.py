"""check_model_spec: a model plugin's shapes, gradients, padding invariance, causality,
state passing and step states (forward_unrolled), on tiny random inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from rnnbench.contract.specs import ModelContext, ModelSpec, OutputKind
from rnnbench.testing.inputs import FEATURES, PAD, VOCAB, ContractError


def _contexts(spec: ModelSpec) -> list[ModelContext]:
    contexts = []
    for kind in sorted(spec.inputs):
        for output in sorted(spec.outputs - {"seq2seq"}):  # seq2seq: testing/seq2seq.py
            out = cast(OutputKind, output)
            if kind == "tokens":
                contexts.append(ModelContext("tokens", out, vocab_size=VOCAB, padding_idx=PAD))
            else:
                contexts.append(ModelContext("features", out, feature_size=FEATURES))
    return contexts


def _inputs(context: ModelContext, batch: int, length: int, generator) -> Any:
    import torch

    if context.input_kind == "tokens":
        return torch.randint(1, VOCAB, (batch, length), generator=generator)
    return torch.randn(batch, length, FEATURES, generator=generator)


def _pick(out, context: ModelContext):
    value = out.sequence if context.output == "sequence" else out.pooled
    return value


def check_model_spec(
    spec: ModelSpec, hparams: Mapping[str, Any] | None = None, atol: float = 1e-5
) -> None:
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
      outputs as `forward` and a list of T step states that the output depends on;
    - if it declares the output kind "seq2seq": `check_seq2seq_model` (shapes, padding
      invariance on both sides, no peeking, decoding stops at EOS);
    - if it declares a `width`: that is an int hyperparameter, the model builds on the
      meta device, and its budgeted parameter count does not fall as the width doubles
      (what `--param-budget`'s bisection relies on).

    Step-state contract (`ModelSpec(hidden_states=True)`, read by `--diagnostics
    gradient-flow`): `forward_unrolled(inputs, lengths) -> (ModelOutput, [h_1..h_T])`,
    each h_t a tensor of shape (B, H), the top layer's state after step t, or
    (L, B, H), every layer's with the top layer last (torch's nn.RNN/GRU state layout;
    then ||dL/dh_t|| spans all layers); one shape for every t; and on the computation
    path: the state that step t+1 reads and the output is computed from (not a copy
    or a detached tensor), so that dL/dh_t is the total derivative through time.

    A tree model (`needs` containing "tree") gets `check_tree_model_spec` instead
    (packing, padding, single-leaf trees, gradients), plus the width check.
    """
    import torch

    if "tree" in spec.needs:  # tree models: rnnbench.testing.trees
        from rnnbench.testing.trees import check_tree_model_spec

        check_tree_model_spec(spec, hparams, atol)
        return _check_width(
            spec,
            spec.params.resolve(dict(hparams or {}), "model"),
            ModelContext("tokens", "pooled", vocab_size=VOCAB, padding_idx=PAD),
        )
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
    if "seq2seq" in spec.outputs:
        from rnnbench.testing.seq2seq import check_seq2seq_model, seq2seq_contexts

        check_seq2seq_model(spec, values, atol)
    if spec.width is not None:
        _check_width(spec, values, (_contexts(spec) or seq2seq_contexts(spec))[0])


def _check_width(spec: ModelSpec, values: Mapping[str, Any], context: ModelContext) -> None:
    import torch

    from rnnbench.training.budget import budgeted_count, build_on_meta

    where = f"model {spec.name!r}: width={spec.width!r}"
    param = spec.params.get(spec.width) if spec.width else None
    if spec.width is None or param is None or param.type is not int:
        raise ContractError(f"{where} is not one of its int hyperparameters")
    low = values[spec.width]
    high = min(2 * low, int(param.maximum)) if param.maximum is not None else 2 * low
    counts = []
    for width in (low, high):
        try:
            model, head = build_on_meta(
                spec, context, lambda d: torch.nn.Linear(d, 1), {**values, spec.width: width}
            )
        except Exception as exc:
            raise ContractError(
                f"{where}: the model cannot be built on the meta device "
                f"({type(exc).__name__}: {exc})"
            ) from None
        counts.append(budgeted_count(model, head))
    if counts[1] < counts[0]:
        raise ContractError(
            f"{where}: the parameter count falls as the width grows "
            f"({spec.width}={low}: {counts[0]:,}, {high}: {counts[1]:,})"
        )


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
    missing = [
        name
        for name, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not bool(p.grad.abs().sum() > 0))
    ]
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
        alone = [
            _pick(model(x[i : i + 1, : lengths[i]], lengths[i : i + 1]), context) for i in range(3)
        ]
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
                "mask or pack positions beyond `lengths`"
            )


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
        raise ContractError(
            f"{where}: declared stateful, but passing `state` between two "
            "windows differs from one run over both"
        )


def _check_unrolled(model, context, where, atol) -> None:
    import torch

    method = getattr(model, "forward_unrolled", None)
    if not callable(method):
        raise ContractError(
            f"{where}: declares hidden_states, but the model has no method "
            "forward_unrolled(inputs, lengths) -> (ModelOutput, [h_1, ..., h_T])"
        )
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
        raise ContractError(
            f"{where}: forward_unrolled returned {count} step states, "
            f"expected a list of one per time step ({steps})"
        )
    for t, h in enumerate(hidden, start=1):
        if not isinstance(h, torch.Tensor):
            raise ContractError(f"{where}: step state h_{t} is a {type(h).__name__}, not a tensor")
        if h.dim() not in (2, 3) or h.shape[-2 if h.dim() == 3 else 0] != batch:
            raise ContractError(
                f"{where}: step state h_{t} has shape {tuple(h.shape)}, "
                f"expected (B, H) or (layers, B, H) with B = {batch}"
            )
        if h.shape != hidden[0].shape:
            raise ContractError(
                f"{where}: step state h_{t} has shape {tuple(h.shape)}, "
                f"h_1 has {tuple(hidden[0].shape)}: one shape for all steps"
            )
        if not h.requires_grad:
            raise ContractError(
                f"{where}: step state h_{t} is not on the computation path "
                "(detached or computed without grad), so dL/dh_{t} is undefined"
            )
