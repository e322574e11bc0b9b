"""The contract check catches broken models, and passes for correct ones."""

import pytest
import torch
from torch import nn

from rnnbench import ModelOutput, ModelSpec
from rnnbench.testing import ContractError, check_model_spec


class LeakyMean(nn.Module):
    """Mean over all positions, padding included: not length-aware."""

    def __init__(self, context):
        super().__init__()
        self.proj = nn.Linear(context.feature_size, 4)
        self.output_size = 4

    def forward(self, inputs, lengths, state=None):
        h = self.proj(inputs)
        return ModelOutput(sequence=h, pooled=h.mean(1))


class DeadParameter(LeakyMean):
    def __init__(self, context):
        super().__init__(context)
        self.unused = nn.Linear(2, 2)

    def forward(self, inputs, lengths, state=None):
        h = self.proj(inputs)
        mask = (torch.arange(h.shape[1])[None] < lengths[:, None]).unsqueeze(-1)
        return ModelOutput(sequence=h * mask, pooled=(h * mask).sum(1) / lengths[:, None])


class PeekingAhead(LeakyMean):
    def forward(self, inputs, lengths, state=None):
        h = self.proj(inputs)
        h = h + h.flip(1)  # position t sees position T-1-t
        return ModelOutput(sequence=h, pooled=h[:, 0])


def spec(builder, **kw):
    return ModelSpec(name="broken", builder=lambda ctx: builder(ctx), inputs=frozenset({"features"}), **kw)


def test_padding_leak_is_caught():
    with pytest.raises(ContractError, match="padding changes the output"):
        check_model_spec(spec(LeakyMean, outputs=frozenset({"pooled"})))


def test_unreached_parameter_is_caught():
    with pytest.raises(ContractError, match="no gradient reaches unused"):
        check_model_spec(spec(DeadParameter))


def test_false_causality_claim_is_caught():
    with pytest.raises(ContractError, match="future inputs change past outputs"):
        check_model_spec(spec(PeekingAhead, outputs=frozenset({"sequence"}), length_aware=False))


