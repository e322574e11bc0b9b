"""The contract check catches broken models, and passes for correct ones."""

import re

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
    return ModelSpec(
        name="broken", builder=lambda ctx: builder(ctx), inputs=frozenset({"features"}), **kw
    )


def test_padding_leak_is_caught():
    with pytest.raises(ContractError, match="padding changes the output"):
        check_model_spec(spec(LeakyMean, outputs=frozenset({"pooled"})))


def test_unreached_parameter_is_caught():
    with pytest.raises(ContractError, match="no gradient reaches unused"):
        check_model_spec(spec(DeadParameter))


def test_false_causality_claim_is_caught():
    with pytest.raises(ContractError, match="future inputs change past outputs"):
        check_model_spec(spec(PeekingAhead, outputs=frozenset({"sequence"}), length_aware=False))


class Recurrent(nn.Module):
    """A correct tanh recurrence over features, with forward_unrolled; subclasses
    break one promise of the step-state contract each."""

    def __init__(self, context):
        super().__init__()
        self.cell = nn.RNNCell(context.feature_size, 4)
        self.output_size = 4

    def steps(self, inputs, lengths):
        mask = torch.arange(inputs.shape[1])[None] < lengths[:, None]  # (B, T)
        h, states = inputs.new_zeros(inputs.shape[0], 4), []
        for x_t, m in zip(inputs.unbind(1), mask.unbind(1), strict=True):
            h = torch.where(m[:, None], self.cell(x_t, h), h)  # (B, H)
            states.append(h)
        sequence = torch.stack(states, 1) * mask.unsqueeze(-1)  # (B, T, H)
        return ModelOutput(sequence=sequence, pooled=h), states

    def forward(self, inputs, lengths, state=None):
        return self.steps(inputs, lengths)[0]

    def forward_unrolled(self, inputs, lengths):
        return self.steps(inputs, lengths)


class NoUnrolled(Recurrent):
    forward_unrolled = None


class Transposed(Recurrent):
    def forward_unrolled(self, inputs, lengths):
        out, states = self.steps(inputs, lengths)
        return out, [h.T for h in states]  # (H, B)


class Detached(Recurrent):
    def forward_unrolled(self, inputs, lengths):
        out, states = self.steps(inputs, lengths)
        return out, [h.detach() for h in states]


class Stacked(Recurrent):
    def forward_unrolled(self, inputs, lengths):
        out, states = self.steps(inputs, lengths)
        return out, torch.stack(states)  # one tensor, not a list per step


def hidden_spec(builder):
    return spec(builder, hidden_states=True)


def test_correct_step_states_pass():
    check_model_spec(hidden_spec(Recurrent))


@pytest.mark.parametrize(
    ("builder", "message"),
    [
        (NoUnrolled, "declares hidden_states, but the model has no method forward_unrolled"),
        (
            Transposed,
            "step state h_1 has shape (4, 3), expected (B, H) or (layers, B, H) with B = 3",
        ),
        (Detached, "step state h_1 is not on the computation path"),
        (Stacked, "forward_unrolled returned Tensor step states, expected a list"),
    ],
    ids=["missing", "shape", "detached", "not-a-list"],
)
def test_broken_step_states_are_contract_errors(builder, message):
    with pytest.raises(ContractError, match=re.escape(message)):
        check_model_spec(hidden_spec(builder))
