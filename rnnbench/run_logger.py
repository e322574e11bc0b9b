"""A Lightning logger bound to one MLflow run that rnnbench created and will close.

Unlike MLFlowLogger it never creates or terminates runs and sets no global MLflow
state; the run's lifecycle belongs to the runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only


class RunLogger(Logger):
    def __init__(self, tracker: Any, run_id: str) -> None:
        super().__init__()
        self._tracker = tracker
        self._run_id = run_id

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
        values = {k: float(v) for k, v in metrics.items() if k != "epoch"}
        self._tracker.log_metrics(self._run_id, values, step=step or 0)
