"""When a run or a trial counts as diverged (never a best trial, flagged on every
leaderboard)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from rnnbench.contract.specs import TaskSpec

# Min-mode tasks: a validation value above 100x the trivial baseline is diverged. Not
# 10x: on the adding task an untrained model that predicts 0 scores E[target^2] ~ 1.17,
# already 7-10x the baseline (0.12-0.17), and tiny sweeps' trials were flagged.
DIVERGENCE_FACTOR = 100.0


def divergence(
    metrics: Mapping[str, float],
    baseline: float | None,
    spec: TaskSpec,
    training_diverged: bool = False,
) -> str | None:
    """Why a run counts as diverged, or None: its training loss became non-finite, its
    monitored validation value is missing or non-finite, or (min-mode tasks, where lower
    is better and the baseline is the trivial predictor's loss/error) its validation
    main metric is above DIVERGENCE_FACTOR x the baseline. Max-mode metrics (accuracy)
    are bounded, so only the first two apply to them."""
    if training_diverged:
        return "the training loss became NaN or infinite"
    monitor = metrics.get(spec.monitor)
    if monitor is None or not math.isfinite(monitor):
        return f"{spec.monitor} is {monitor}"
    value = metrics.get(f"val_{spec.main_metric}", monitor)
    return value_divergence(
        value,
        baseline,
        spec.mode,
        f"val_{spec.main_metric}" if f"val_{spec.main_metric}" in metrics else spec.monitor,
    )


def value_divergence(
    value: float | None, baseline: float | None, mode: str, name: str = "the validation value"
) -> str | None:
    """The factor-of-baseline rule of `divergence` for one value (e.g. a trial's)."""
    if value is None or not math.isfinite(value):
        return f"{name} is {value}"
    if (
        mode == "min"
        and baseline is not None
        and math.isfinite(baseline)
        and baseline > 0
        and value > DIVERGENCE_FACTOR * baseline
    ):
        return (
            f"{name} {value:.4g} is above {DIVERGENCE_FACTOR:g}x the trivial baseline "
            f"{baseline:.4g}"
        )
    return None
