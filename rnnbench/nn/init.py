"""Initialisation of recurrent weights for model plugins (exported by rnnbench.nn):
the `init` / `init_scale` hyperparameters and what they do to a weight matrix.

    default     torch's own draw, times init_scale
    identity    W_hh = s·I and zero biases: the IRNN of Le, Jaitly & Hinton 2015
    orthogonal  s·Q per (H, H) gate block, Q orthogonal (Saxe et al. 2014)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rnnbench.contract.errors import ConfigError
from rnnbench.contract.params import Param

if TYPE_CHECKING:  # torch loads in the functions that touch weights: the Params stay cheap
    import torch
    from torch import nn

INITS = ("default", "identity", "orthogonal")


IDENTITY_IS_FOR_ELMAN = (
    "the identity initialisation (IRNN, Le et al. 2015) is defined for "
    "the Elman RNN (rnn, birnn); gated cells take default or orthogonal"
)


@dataclass(frozen=True)
class RefusingParam(Param):
    """A Param that refuses some of its values with a reason: `refused` holds
    (value, reason) pairs; the error reads "WHERE: 'value' is refused: REASON"."""

    refused: tuple = ()

    def check(self, value: Any, where: str) -> None:
        for bad, reason in self.refused:
            if value == bad:
                raise ConfigError(f"{where}: {value!r} is refused: {reason}")
        super().check(value, where)


@dataclass(frozen=True)
class PositiveParam(Param):
    """A numeric Param that must be strictly greater than zero."""

    def check(self, value: Any, where: str) -> None:
        super().check(value, where)
        if value is not None and not value > 0:
            raise ConfigError(f"{where}: must be > 0, got {value!r}")


def init_params(refuse_identity: bool = False) -> tuple[Param, Param]:
    """`init` and `init_scale` Params. With `refuse_identity`, init=identity is a
    one-line error (gated families: the IRNN recipe is for the Elman recurrence, and no
    per-gate-block meaning of s·I is offered).

    No default search space: a sweep searches them when its config gives one, e.g.
    `init: {choices: [default, orthogonal]}` or `init_scale: {low: 0.5, high: 2.0}`.
    """
    if refuse_identity:
        init: Param = RefusingParam(
            "init",
            str,
            "default",
            "recurrent weights: default (torch's draw) or orthogonal (s·Q per gate block, "
            "Saxe et al. 2014); identity is refused",
            choices=INITS,
            refused=(("identity", IDENTITY_IS_FOR_ELMAN),),
        )
    else:
        init = Param(
            "init",
            str,
            "default",
            "recurrent weights: default (torch's draw), identity (W_hh = s·I and zero "
            "biases: the IRNN of Le et al. 2015) or orthogonal (s·Q, Saxe et al. 2014)",
            choices=INITS,
        )
    scale = PositiveParam(
        "init_scale",
        float,
        1.0,
        "s > 0: gain of the recurrent weights (multiplies the default draw, "
        "the identity or the orthogonal matrix)",
    )
    return init, scale


def init_recurrent_(weight: torch.Tensor, init: str, scale: float) -> None:
    """Initialise a recurrent weight (G*H, H) in place, gate block by gate block.

    default: the existing draw times `scale`; identity: every (H, H) block = scale·I;
    orthogonal: every (H, H) block an independent orthogonal matrix times `scale`.
    """
    import torch
    from torch import nn

    H = weight.shape[1]
    if weight.shape[0] % H:
        raise ValueError(f"recurrent weight {tuple(weight.shape)} is not a stack of (H, H) blocks")
    with torch.no_grad():
        for block in weight.split(H, dim=0):
            if init == "default":
                block.mul_(scale)
            elif init == "identity":
                block.copy_(torch.eye(H, dtype=weight.dtype, device=weight.device) * scale)
            elif init == "orthogonal":
                nn.init.orthogonal_(block, gain=scale)
            else:
                raise ValueError(f"unknown init {init!r}; expected one of {', '.join(INITS)}")


def init_fused_(rnn: nn.RNNBase, init: str, scale: float) -> None:
    """`init_recurrent_` on every weight_hh of a fused nn.RNN/LSTM/GRU (all layers and
    directions); identity also zeroes every bias (Le et al. 2015)."""
    import torch

    for name, param in rnn.named_parameters():
        if name.startswith("weight_hh"):
            init_recurrent_(param, init, scale)
        elif name.startswith("bias") and init == "identity":
            with torch.no_grad():
                param.zero_()
