"""Significance over seeds, stated once and used by every leaderboard.

Both tests are two-sided t-tests on the per-seed values of the main test metric:
- `welch(a, b)`: Welch's unequal-variance t-test of mean(a) = mean(b) (the leader
  against the runner-up), with the Welch–Satterthwaite degrees of freedom;
- `one_sample(a, reference)`: mean(a) = reference (the leader against the trivial
  baseline, which is one number computed on the same test split, without variance).
Each returns None when a sample has fewer than 2 values (no variance to test with).
When the variance is zero the t statistic is infinite: p is 0 if the means differ
and 1 if they are equal.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TestResult:
    statistic: float  # t
    df: float  # degrees of freedom
    p_value: float  # two-sided


def _p_two_sided(t: float, df: float) -> float:
    from scipy.stats import t as student_t

    return float(2.0 * student_t.sf(abs(t), df))


def welch(a: Sequence[float], b: Sequence[float]) -> TestResult | None:
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    diff = statistics.fmean(a) - statistics.fmean(b)
    if va + vb == 0.0:
        return TestResult(
            math.copysign(math.inf, diff) if diff else 0.0, math.inf, 0.0 if diff else 1.0
        )
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return TestResult(t, df, _p_two_sided(t, df))


def one_sample(a: Sequence[float], reference: float) -> TestResult | None:
    if len(a) < 2:
        return None
    diff = statistics.fmean(a) - reference
    se = statistics.stdev(a) / math.sqrt(len(a))
    if se == 0.0:
        return TestResult(
            math.copysign(math.inf, diff) if diff else 0.0, len(a) - 1.0, 0.0 if diff else 1.0
        )
    t = diff / se
    return TestResult(t, len(a) - 1.0, _p_two_sided(t, len(a) - 1.0))


def format_p(p: float | None) -> str:
    """p < 0.001 | p = 0.012 | n/a (fewer than 2 seeds)."""
    if p is None:
        return "n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
