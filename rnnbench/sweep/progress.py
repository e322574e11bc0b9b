"""The sweep's progress lines: one per finished trial and final seed, each with its time,
its result and the sweep's estimated time left.

The sweep plans `pairs x (n_trials + seeds)` runs. Runs done are counted from the shared
storage (the pairs before the current one are complete; the current one's finished
trials and final seeds are read from its study), so the estimate includes other workers'
runs: time left = elapsed / done x (planned - done).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from rnnbench.training.progress import clock


class SweepProgress:
    def __init__(
        self, pairs: int, runs_per_pair: int, report: Callable[[str], None] | None = None
    ) -> None:
        self.planned = pairs * runs_per_pair
        self.runs_per_pair = runs_per_pair
        self.report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        self.started = time.monotonic()

    def eta(self, pair_index: int, done_in_pair: int) -> str:
        """'sweep 40%, ~03:10 left' (pair_index counts from 1)."""
        done = min(self.planned, (pair_index - 1) * self.runs_per_pair + done_in_pair)
        if not done or not self.planned:
            return "sweep starting"
        elapsed = time.monotonic() - self.started
        left = elapsed / done * (self.planned - done)
        return f"sweep {100 * done // self.planned}%, ~{clock(left)} left"

    def elapsed(self) -> str:
        return clock(time.monotonic() - self.started)
