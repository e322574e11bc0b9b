"""What every part of a running sweep shares: the configuration, the registry, the
tracker and the Optuna storage, the parent run, and the progress reporter."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rnnbench.contract.registry import Registry
from rnnbench.sweep.config import SweepConfig
from rnnbench.sweep.progress import SweepProgress
from rnnbench.tracking import schema


@dataclass
class SweepContext:
    config: SweepConfig
    registry: Registry
    tracker: Any  # rnnbench.tracking.Tracker
    storage: Any  # optuna.storages.RDBStorage
    storage_url: str
    progress: SweepProgress
    parent_run_id: str | None = None
    started_at: float = field(default_factory=time.time)  # wall clock, shared by workers

    def tags(self, task: str, model: str, study: str, phase: str, extra: dict) -> dict:
        """The tags of a trial's or a final seed's tracked run."""
        spec = self.registry.task(task)
        return {
            **schema.tags(
                {
                    schema.SWEEP: self.config.name,
                    schema.STUDY: study,
                    schema.PHASE: phase,
                    schema.MAIN_METRIC: spec.main_metric,
                    schema.MODE: spec.mode,
                    schema.MONITOR: spec.monitor,
                }
            ),
            **extra,
        }


@dataclass(frozen=True)
class Pair:
    """One (task, model) pair of the sweep, the `index`-th of `total` (from 1)."""

    task: str
    model: str
    index: int
    total: int

    @property
    def label(self) -> str:
        return f"[{self.index}/{self.total}] {self.model} on {self.task}"
