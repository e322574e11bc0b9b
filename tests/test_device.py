"""The device-relevant checks, on the device named by RNNBENCH_TEST_DEVICE (default cpu):
benchmarks/device_check.py runs this file with the GPU. Every built-in sequence model
builds, runs forward and backward on the device (in bf16 autocast on CUDA) with finite
outputs and gradients on that device; rnnbench.nn.GRU takes torch's kernel on CUDA and
agrees with the CPU."""

import os

import pytest
import torch

from rnnbench import ModelContext
from rnnbench.contract.registry import get_registry

DEVICE = torch.device(os.environ.get("RNNBENCH_TEST_DEVICE", "cpu"))
if DEVICE.type == "cuda" and not torch.cuda.is_available():
    pytest.skip("RNNBENCH_TEST_DEVICE=cuda but no CUDA device", allow_module_level=True)

#: (model, extra hyperparameters, output kind read)
MODELS = [
    ("rnn", {}, "sequence"),
    ("birnn", {}, "pooled"),
    ("lstm", {}, "sequence"),
    ("lstm", {"variant": "peephole"}, "sequence"),
    ("lstm", {"variant": "fgr"}, "pooled"),
    ("gru", {}, "sequence"),
    ("gru", {"bidirectional": True, "num_layers": 2}, "pooled"),
    ("ln-lstm", {}, "sequence"),
    ("ln-gru", {}, "sequence"),
    ("bn-lstm", {}, "sequence"),
    ("textrnn", {}, "pooled"),
    ("rcnn", {}, "pooled"),
    ("memnet", {}, "sequence"),
]


def autocast():
    if DEVICE.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


@pytest.mark.parametrize(
    "name,extra,output",
    MODELS,
    ids=[f"{m}{'-' + '-'.join(map(str, e.values())) if e else ''}" for m, e, _ in MODELS],
)
def test_model_trains_a_step_on_the_device(name, extra, output):
    spec = get_registry().model(name)
    context = ModelContext("tokens", output, vocab_size=50, padding_idx=0)
    sizes = {k: 16 for k in ("hidden_size", "embedding_dim", "context_size") if k in spec.params}
    torch.manual_seed(0)
    model = spec.builder(context, **{**spec.params.defaults(), **sizes, **extra}).to(DEVICE)
    inputs = torch.randint(1, 50, (4, 9), device=DEVICE)
    lengths = torch.tensor([9, 5, 9, 2], device=DEVICE)
    with autocast():
        out = model(inputs, lengths)
        value = out.sequence if output == "sequence" else out.pooled
        loss = value.float().pow(2).mean()
    loss.backward()
    assert value.device.type == DEVICE.type and torch.isfinite(value.float()).all()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(g.device.type == DEVICE.type and torch.isfinite(g).all() for g in grads)


def test_gru_on_the_device_agrees_with_the_cpu():
    from rnnbench.nn import GRU, run_rnn

    torch.manual_seed(0)
    cpu = GRU(3, 16, batch_first=True)
    here = GRU(3, 16, batch_first=True).to(DEVICE)
    here.load_state_dict(cpu.state_dict())
    x = torch.randn(4, 7, 3)
    lengths = torch.tensor([7, 3, 5, 1])
    expected, _ = run_rnn(cpu, x, lengths)
    got, _ = run_rnn(here, x.to(DEVICE), lengths.to(DEVICE))
    torch.testing.assert_close(got.cpu(), expected, rtol=1e-4, atol=1e-5)
    assert here.unfused(x.to(DEVICE)) == (DEVICE.type == "cpu")  # CUDA: torch's kernel
