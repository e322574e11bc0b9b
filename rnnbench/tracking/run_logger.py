"""A Lightning logger bound to one MLflow run that rnnbench created and will close.

Unlike MLFlowLogger it never creates or terminates runs and sets no global MLflow
state; the run's lifecycle belongs to the runner.

Values are buffered, because every write is a database transaction (about 8 ms on
SQLite, more when sweep workers share the file), and the per-step loss and gradient
norm arrive every few steps. The buffer is written, in one batch, whenever the logger is
saved (by Lightning right after it logs the val/test metrics of an evaluation, by
BenchmarkSystem right after the training-epoch values), when Lightning finalises it
(the end of fit, validate or test, and any interrupted or failed run), and once
`flush_seconds` have passed since the last write. Each value keeps the timestamp of the
moment it was logged.

A resumed run passes `logged`, the (key, step) pairs its MLflow run already holds:
values at those pairs are not logged again, so an epoch that a killed process logged
but did not checkpoint (see resume_checkpoint) keeps one value per step, the first.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

FLUSH_SECONDS = 10.0  # the longest a logged value waits before it reaches MLflow


class RunLogger(Logger):
    def __init__(
        self,
        tracker: Any,
        run_id: str,
        flush_seconds: float = FLUSH_SECONDS,
        logged: frozenset[tuple[str, int]] = frozenset(),
    ) -> None:
        super().__init__()
        self._tracker = tracker
        self._run_id = run_id
        self.flush_seconds = flush_seconds
        self._logged = logged
        self._pending: list[Any] = []  # mlflow.entities.Metric, oldest first
        self._last_flush = time.monotonic()

    @property
    def name(self) -> str:
        return "rnnbench"

    @property
    def version(self) -> str:
        return self._run_id

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Hyperparameters are logged by the runner from the typed config."""

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        step = step or 0
        values = {
            k: float(v)
            for k, v in metrics.items()
            if k != "epoch" and (k, step) not in self._logged
        }
        self._pending.extend(self._tracker.metric_records(values, step))
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write every buffered value now."""
        pending, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        if pending:
            self._tracker.write_metrics(self._run_id, pending)

    @rank_zero_only
    def save(self) -> None:
        self.flush()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.flush()
