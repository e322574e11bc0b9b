"""Contract checks for plugin authors to call from their own test suites.

    from rnnbench.testing import check_model_spec
    def test_my_model_contract():
        check_model_spec(MY_SPEC, hparams={"hidden_size": 16})

Each check raises `ContractError` (an AssertionError) naming the spec, the input
kind and the broken promise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rnnbench.specs import ModelContext, ModelSpec

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
    - if it exposes hidden states: `forward_unrolled` gives the same outputs as
      `forward`, and T step states that the loss depends on.
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

    g = torch.Generator().manual_seed(5)
    x = _inputs(context, 3, 6, g)
    lengths = torch.tensor([6, 4, 6])
    with torch.no_grad():
        want = _pick(model(x, lengths), context)
    out, hidden = model.forward_unrolled(x, lengths)
    got = _pick(out, context)
    if len(hidden) != 6:
        raise ContractError(f"{where}: forward_unrolled returned {len(hidden)} step states, "
                            "expected one per time step (6)")
    if not torch.allclose(got, want, atol=atol):
        raise ContractError(f"{where}: forward_unrolled and forward disagree")
    grads = torch.autograd.grad(got.pow(2).sum(), hidden, allow_unused=True)
    if grads[0] is None or not all(torch.isfinite(g).all() for g in grads if g is not None):
        raise ContractError(f"{where}: the output does not depend on the first step state")
