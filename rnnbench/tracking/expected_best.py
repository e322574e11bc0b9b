"""Expected best validation score of n trials (Dodge et al. 2019, "Show Your Work").

The N trials a sweep ran for a (task, model) pair are treated as its empirical
distribution of validation scores; n trials are drawn from it with replacement. With the
values sorted worst first, v_(1) .. v_(N) (ascending when the task maximises, descending
when it minimises), the best of n draws is v_(i) with probability
    p_i(n) = (i/N)^n - ((i-1)/N)^n,
so that
    E[best of n]   = sum_i p_i(n) v_(i)
    Var[best of n] = sum_i p_i(n) v_(i)^2 - E[best of n]^2.
The band is E ± sqrt(Var), clipped to the observed range [worst, best] (the best of n
draws never leaves it). Ties need no special case: tied values share their mass.

Which trials count (read from the tracker, not from Optuna: the leaderboard is rebuilt
from tracked runs alone, and every trial is one search-phase run, phase=search, of the
sweep; the Optuna storage may be elsewhere or gone):
- a complete trial (run FINISHED) counts as its monitored validation value, the latest
  `val_*` value on its run (the best checkpoint's validation, Optuna's objective value);
- a pruned trial (run KILLED with rnnbench.status=pruned) counts as what it reached: the
  last validation value it reported before it was stopped;
- failed trials (FAILED), trials whose worker died (KILLED otherwise) and trials whose
  monitored value is not finite (diverged to NaN/inf) reached no score and are left out;
  their number is reported beside N.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rnnbench.tracking import schema


def _worst_first(values: Sequence[float], mode: str) -> list[float]:
    return sorted(values, reverse=(mode == "min"))


def expected_best(values: Sequence[float], n: int, mode: str = "max") -> tuple[float, float]:
    """(E[best of n], sqrt(Var[best of n])) of n draws with replacement from `values`;
    `mode` "max" or "min" says which end is best."""
    if not values or n < 1:
        raise ValueError("expected_best needs at least one value and n >= 1")
    ordered, size = _worst_first(values, mode), len(values)
    weights = [(i / size) ** n - ((i - 1) / size) ** n for i in range(1, size + 1)]
    mean = sum(w * v for w, v in zip(weights, ordered, strict=True))
    second = sum(w * v * v for w, v in zip(weights, ordered, strict=True))
    return mean, math.sqrt(max(0.0, second - mean * mean))


@dataclass
class Curve:
    """One pair's expected best against the number of trials n = 1 .. len(values)."""

    task: str
    model: str
    metric: str  # the monitored validation metric, e.g. "val_loss"
    mode: str  # "min" | "max"
    values: list[float] = field(default_factory=list)  # the counted trials' scores
    left_out: int = 0  # failed, killed or non-finite trials

    def points(self) -> list[tuple[int, float, float, float]]:
        """(n, E[best of n], band low, band high) for n = 1 .. N."""
        if not self.values:
            return []
        low, high = min(self.values), max(self.values)
        out = []
        for n in range(1, len(self.values) + 1):
            mean, std = expected_best(self.values, n, self.mode)
            out.append((n, mean, max(low, mean - std), min(high, mean + std)))
        return out


def search_runs(tracker: Any, sweep: str) -> list:
    """Every search-phase RunRecord of sweep `sweep`, whatever its status."""
    return tracker.find_runs(
        schema.tags({schema.SWEEP: sweep, schema.PHASE: "search"}), newest_first=False
    )


def trial_score(run: Any, metric: str) -> float | None:
    """The score a trial's run counts as (see the module docstring), or None."""
    counted = run.status == "FINISHED" or (
        run.status == "KILLED" and schema.STATUS.read(run.tags) == "pruned"
    )
    value = run.metrics.get(metric)
    if not counted or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def monitor_of(run: Any) -> str:
    """The monitored metric: the run's rnnbench.monitor tag, else val_MAIN_METRIC."""
    return schema.MONITOR.read(run.tags) or f"val_{schema.MAIN_METRIC.read(run.tags, 'loss')}"


def build_curves(runs: list) -> list[Curve]:
    """One Curve per (task, model), tasks then models in name order; one run per trial
    number (a trial's newest run when there are several)."""
    latest: dict[tuple[str, str, str], Any] = {}
    for run in sorted(runs, key=lambda r: r.start_time):
        key = (
            schema.TASK.read(run.tags, "?"),
            schema.MODEL.read(run.tags, "?"),
            str(schema.TRIAL.read(run.tags, run.run_id)),
        )
        latest[key] = run
    curves: dict[tuple[str, str], Curve] = {}
    members: dict[tuple[str, str], list] = defaultdict(list)
    for (task, model, _), run in latest.items():
        members[(task, model)].append(run)
    for (task, model), found in sorted(members.items()):
        metric = monitor_of(found[0])
        curve = Curve(task, model, metric, schema.MODE.read(found[0].tags, "min"))
        for run in sorted(found, key=lambda r: r.start_time):
            score = trial_score(run, metric)
            if score is None:
                curve.left_out += 1
            else:
                curve.values.append(score)
        curves[(task, model)] = curve
    return list(curves.values())


def curves_of_sweep(tracker: Any, sweep: str) -> list[Curve]:
    return build_curves(search_runs(tracker, sweep))
