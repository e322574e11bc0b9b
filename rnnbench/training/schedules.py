"""Learning-rate schedules and NT-ASGD, as Lightning scheduler configurations.

`train.lr_schedule` picks one schedule; `train.warmup_steps` adds a linear warm-up in
front of any of them. Every learning rate below is a multiple of `train.lr` (= lr0):

    none     lr0
    plateau  lr *= lr_factor after more than lr_patience validations without a better
             monitored value (torch ReduceLROnPlateau; the PyTorch word-language-model
             example is factor 0.25, patience 0: lr / 4 at every validation that does not
             improve)
    step     lr0 * lr_gamma ** (epoch // lr_step_size)     (Zaremba et al. 2014 style)
    cosine   lr_min + (lr0 - lr_min) * (1 + cos(pi * s / S)) / 2 at optimiser step s of
             the S = (step budget - warmup_steps) steps after the warm-up (Loshchilov &
             Hutter 2017, without restarts); the budget is train.max_steps, else
             max_epochs * batches per epoch (Lightning's estimated_stepping_batches)
    warm-up  factor (s + 1) / warmup_steps at optimiser step s < warmup_steps, then 1;
             multiplies the schedule (for cosine the decay starts after it)

`train.optimizer=asgd` is NT-ASGD (Merity, Keskar & Socher 2017, "Regularizing and
Optimizing LSTM Language Models", Algorithm 1): plain SGD (no momentum) at lr0 until
the monitored validation value is worse than the best of all validations except the
last `asgd_nonmono` ones; then averaged SGD (torch ASGD, t0=0, lambd=0: constant lr,
the average of the iterates from the switch on). Validation, checkpoints and the test
use the averaged weights, as the paper's evaluation does.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rnnbench.contract.errors import ConfigError
from rnnbench.contract.params import Choice, Param

if TYPE_CHECKING:  # torch loads where a run needs it: the OPTIONS stay cheap for --help
    import torch

SCHEDULES = ("none", "plateau", "step", "cosine")

OPTIONS = (
    Param(
        "lr_schedule",
        str,
        "none",
        "learning-rate schedule: none, plateau (lr *= lr_factor when validation stalls), "
        "step (lr *= lr_gamma every lr_step_size epochs), cosine (to lr_min over the step "
        "budget); rnnbench.training.schedules",
        choices=SCHEDULES,
        space=Choice(("none", "plateau", "cosine")),
    ),
    Param(
        "lr_factor",
        float,
        0.25,
        "plateau: lr multiplier when validation stalls",
        minimum=0.0,
        maximum=1.0,
        space=Choice((0.1, 0.25, 0.5)),
    ),
    Param(
        "lr_patience",
        int,
        0,
        "plateau: validations without improvement tolerated before the lr is cut",
        minimum=0,
        space=Choice((0, 1, 2)),
    ),
    Param("lr_step_size", int, 1, "step: epochs between two lr cuts", minimum=1),
    Param(
        "lr_gamma",
        float,
        0.5,
        "step: lr multiplier every lr_step_size epochs",
        minimum=0.0,
        maximum=1.0,
    ),
    Param("lr_min", float, 0.0, "cosine: the final learning rate", minimum=0.0),
    Param(
        "warmup_steps",
        int,
        0,
        "linear warm-up over this many optimiser steps (0: none)",
        minimum=0,
        space=Choice((0, 100, 500)),
    ),
    Param(
        "asgd_nonmono",
        int,
        5,
        "optimizer=asgd: switch SGD -> averaged SGD when "
        "validation is worse than the best before the last N checks (NT-ASGD)",
        minimum=1,
    ),
)


def check_request(train: dict[str, Any]) -> None:
    """One-line refusals of combinations that have no meaning."""
    if train["optimizer"] == "asgd" and train["lr_schedule"] != "none":
        raise ConfigError(
            f"train.lr_schedule={train['lr_schedule']}: optimizer asgd (NT-ASGD) "
            "keeps a constant learning rate; use lr_schedule=none"
        )
    if train["lr_schedule"] == "cosine" and train["lr_min"] > train["lr"]:
        raise ConfigError(f"train.lr_min={train['lr_min']}: above train.lr={train['lr']}")


def warmup_factor(step: int, warmup_steps: int) -> float:
    """(step + 1) / warmup_steps during the warm-up, then 1."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0


def cosine_factor(step: int, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """Warm-up, then cosine from 1 to min_ratio over the remaining total - warmup steps."""
    if step < warmup_steps:
        return warmup_factor(step, warmup_steps)
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def scheduler_configs(
    optimizer: torch.optim.Optimizer,
    train: dict[str, Any],
    total_steps: int,
    monitor: str,
    mode: str = "min",
) -> list[dict[str, Any]]:
    """Lightning lr_scheduler configurations (interval, frequency, monitor) for `train`.

    total_steps: the optimiser steps of the whole run (cosine only); monitor/mode: the
    validation metric the plateau schedule watches. The warm-up and the
    step/plateau schedules are multiplicative on the group's lr, so they compose.
    """
    from torch.optim import lr_scheduler

    name, warmup = train["lr_schedule"], train["warmup_steps"]
    configs: list[dict[str, Any]] = []
    if name == "cosine":
        min_ratio = train["lr_min"] / train["lr"] if train["lr"] > 0 else 0.0
        schedule = lr_scheduler.LambdaLR(
            optimizer, lambda s: cosine_factor(s, warmup, total_steps, min_ratio)
        )
        return [{"scheduler": schedule, "interval": "step", "frequency": 1, "name": "lr"}]
    if warmup > 1:  # (s + 1) / W exactly: LinearLR from 1/W to 1 over W - 1 steps
        configs.append(
            {
                "scheduler": lr_scheduler.LinearLR(
                    optimizer, start_factor=1.0 / warmup, end_factor=1.0, total_iters=warmup - 1
                ),
                "interval": "step",
                "frequency": 1,
                "name": "warmup",
            }
        )
    if name == "plateau":
        configs.append(
            {
                "scheduler": lr_scheduler.ReduceLROnPlateau(
                    optimizer,
                    mode=mode,
                    factor=train["lr_factor"],
                    patience=train["lr_patience"],
                    threshold=0.0,
                ),
                "interval": "epoch",
                "frequency": 1,
                "monitor": monitor,
                "strict": False,
                "name": "plateau",
            }
        )
    elif name == "step":
        configs.append(
            {
                "scheduler": lr_scheduler.StepLR(
                    optimizer, step_size=train["lr_step_size"], gamma=train["lr_gamma"]
                ),
                "interval": "epoch",
                "frequency": 1,
                "name": "step",
            }
        )
    return configs


class NonMonotoneTrigger:
    """NT-ASGD's switch (Merity et al. 2017, Algorithm 1, logging interval = one
    validation): after each validation value v_k (lower is better), switch when
    k > n and v_k > min(v_0 .. v_{k-n-1}), i.e. when v_k is worse than the best
    value seen before the last n checks. AWD-LSTM's code: `len(best_val_loss) > nonmono
    and val_loss > min(best_val_loss[:-nonmono])`."""

    def __init__(self, nonmono: int) -> None:
        self.nonmono = nonmono
        self.history: list[float] = []

    def update(self, value: float) -> bool:
        """Record one validation value; True when the switch should happen now."""
        fire = len(self.history) > self.nonmono and value > min(self.history[: -self.nonmono])
        self.history.append(value)
        return fire


def averaged_weights(optimizer: torch.optim.Optimizer) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(parameter, its ASGD average `ax`) for every parameter ASGD has stepped."""
    pairs = []
    for group in optimizer.param_groups:
        for p in group["params"]:
            ax = optimizer.state.get(p, {}).get("ax")
            if ax is not None:
                pairs.append((p, ax))
    return pairs


def swap_averaged(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Exchange each parameter's values with its average (its own inverse)."""
    import torch

    with torch.no_grad():
        for p, ax in pairs:
            tmp = p.detach().clone()
            p.copy_(ax)
            ax.copy_(tmp)
