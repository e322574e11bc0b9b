"""Adam and AdamW run torch's fused kernel where every parameter allows it: the same
updates as the single-tensor default to float rounding."""

import pytest
import torch

from rnnbench.contract.registry import get_registry
from rnnbench.training.config import build_run_config
from rnnbench.training.runner import prepare
from rnnbench.training.system import fused_when_possible


def system(optimizer: str):
    sets = {
        "task": {"seq_len": 5, "train_size": 8, "val_size": 8, "test_size": 8},
        "model": {"hidden_size": 4},
        "train": {"optimizer": optimizer, "weight_decay": 0.01},
    }
    return prepare(build_run_config(get_registry(), "lstm", "adding", sets), get_registry()).system


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_adam_is_fused_on_the_cpu_and_matches_the_default(optimizer):
    s = system(optimizer)
    opt = s.configure_optimizers()
    assert opt.defaults["fused"] is True
    params = list(s.parameters())
    copies = [p.detach().clone().requires_grad_() for p in params]
    kind = torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW
    plain = kind(copies, lr=s.lr, weight_decay=0.01, foreach=False)
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        grads = [torch.randn(p.shape, generator=g) for p in params]
        for p, c, grad in zip(params, copies, grads, strict=True):
            p.grad, c.grad = grad.clone(), grad.clone()
        opt.step()
        plain.step()
    for p, c in zip(params, copies, strict=True):
        torch.testing.assert_close(p.detach(), c.detach(), rtol=1e-5, atol=1e-6)


def test_not_fused_where_a_parameter_does_not_allow_it():
    assert fused_when_possible([torch.zeros(2, requires_grad=True)]) == {"fused": True}
    assert fused_when_possible([torch.zeros(2, dtype=torch.long)]) == {}
    assert fused_when_possible([]) == {}


def test_not_fused_where_lightning_would_refuse_to_clip():
    """16-bit mixed precision with clipping: Lightning's scaler path refuses to clip
    the gradients of an optimiser that unscales them itself (a fused one)."""
    from types import SimpleNamespace

    s = system("adam")
    s.clip_algorithm = "norm"
    s._trainer = SimpleNamespace(precision="16-mixed")
    assert "fused" not in s._optimizer().defaults or not s._optimizer().defaults["fused"]
    s._trainer = SimpleNamespace(precision="32-true")
    assert s._optimizer().defaults["fused"] is True
