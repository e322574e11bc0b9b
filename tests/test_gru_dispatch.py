"""rnnbench.nn.GRU (the `gru` model's recurrence) is nn.GRU: the same parameters and
state_dict, and outputs and gradients equal to torch's kernel, on whichever path it takes
(its own recurrence on the CPU at small widths, torch's kernel elsewhere)."""

import pytest
import torch
from torch import nn

import rnnbench.nn.gru as nn_gru
from rnnbench import ModelContext
from rnnbench.contract.registry import get_registry
from rnnbench.nn import GRU, run_rnn


def pair(layers=1, bidirectional=False, batch_first=True, hidden=8, bias=True, dtype=torch.float64):
    torch.manual_seed(0)
    ref = nn.GRU(
        5,
        hidden,
        num_layers=layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        bias=bias,
    ).to(dtype)
    mine = GRU(
        5,
        hidden,
        num_layers=layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        bias=bias,
    ).to(dtype)
    mine.load_state_dict(ref.state_dict())
    return ref, mine


def grads(module, outputs, inputs, weights):
    loss = sum((o * w).sum() for o, w in zip(outputs, weights, strict=True))
    return torch.autograd.grad(loss, [*inputs, *module.parameters()])


def assert_same(ref_out, mine_out, ref_grads, mine_grads, tol=1e-12):
    for a, b in zip([*ref_out, *ref_grads], [*mine_out, *mine_grads], strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(b, a, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "layers,bidirectional,padded,with_h0",
    [
        (1, False, False, False),
        (1, False, True, True),
        (2, False, True, False),
        (1, True, True, True),
        (2, True, False, True),
        (2, True, True, False),
    ],
)
def test_padded_batches_match_torch_packed_gru(layers, bidirectional, padded, with_h0):
    ref, mine = pair(layers, bidirectional)
    x = torch.randn(4, 7, 5, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([7, 3, 5, 1]) if padded else torch.full((4,), 7)
    dirs = 2 if bidirectional else 1
    h0 = (
        torch.randn(layers * dirs, 4, 8, dtype=torch.float64, requires_grad=True)
        if with_h0
        else None
    )
    ref_out = run_rnn(ref, x, lengths, h0)  # packs when lengths differ
    mine_out = run_rnn(mine, x, lengths, h0)  # masks itself, no packing
    weights = [torch.randn_like(o) for o in ref_out]
    inputs = [x, h0] if with_h0 else [x]
    assert_same(
        ref_out,
        mine_out,
        grads(ref, ref_out, inputs, weights),
        grads(mine, mine_out, inputs, weights),
    )


@pytest.mark.parametrize("batch_first", [True, False])
def test_plain_forward_matches_including_time_major_and_unbatched(batch_first):
    ref, mine = pair(batch_first=batch_first, bias=False)
    x = torch.randn(3, 6, 5, dtype=torch.float64, requires_grad=True)
    ref_out, mine_out = ref(x), mine(x)
    weights = [torch.randn_like(o) for o in ref_out]
    assert_same(
        ref_out, mine_out, grads(ref, ref_out, [x], weights), grads(mine, mine_out, [x], weights)
    )
    single = torch.randn(6, 5, dtype=torch.float64)
    for a, b in zip(ref(single), mine(single), strict=True):
        torch.testing.assert_close(b, a)


def test_float32_training_step_matches_within_rounding():
    ref, mine = pair(hidden=64, dtype=torch.float32)
    x = torch.randn(16, 30, 5, requires_grad=True)
    ref_out, mine_out = ref(x), mine(x)
    weights = [torch.randn_like(o) for o in ref_out]
    assert_same(
        ref_out,
        mine_out,
        grads(ref, ref_out, [x], weights),
        grads(mine, mine_out, [x], weights),
        tol=1e-4,
    )


def test_dispatch_takes_own_path_only_where_torch_kernel_is_slow(monkeypatch):
    calls = []
    apply = nn_gru.GRURecurrence.apply
    monkeypatch.setattr(nn_gru.GRURecurrence, "apply", lambda *a: calls.append(1) or apply(*a))
    x = torch.randn(2, 4, 5)
    GRU(5, nn_gru.UNFUSED_MAX_HIDDEN, batch_first=True)(x)
    assert calls, "a small CPU GRU should take the own recurrence"
    calls.clear()
    GRU(5, nn_gru.UNFUSED_MAX_HIDDEN + 1, batch_first=True)(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        GRU(5, 8, batch_first=True)(x)
    assert not calls, "wide layers and autocast keep torch's kernel"


def test_gru_model_has_nn_grus_parameters_and_state_dict():
    spec = get_registry().model("gru")
    context = ModelContext("tokens", "pooled", vocab_size=50, padding_idx=0)
    model = spec.builder(
        context,
        **{**spec.params.defaults(), "hidden_size": 32, "num_layers": 2, "bidirectional": True},
    )
    assert isinstance(model.rnn, nn.GRU) and isinstance(model.rnn, GRU)
    reference = nn.GRU(64, 32, num_layers=2, bidirectional=True, batch_first=True)
    assert model.rnn.state_dict().keys() == reference.state_dict().keys()
    assert sum(p.numel() for p in model.rnn.parameters()) == sum(
        p.numel() for p in reference.parameters()
    )
