"""The outcome of one run, as `rnnbench run --json` prints it and `result.json` holds it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RunResult:
    """The outcome of one run; `metrics` holds the final flat val_*/test_* values."""

    model: str
    task: str
    metrics: dict[str, float]
    baseline: float | None
    params: int
    wall_seconds: float
    throughput: float
    throughput_unit: str
    mlflow_run_id: str | None
    monitor: str
    monitor_value: float | None
    diverged: bool = False
    diverged_reason: str | None = None
    solved: bool | None = None
    epochs: int = 0
    steps: int = 0  # optimiser steps taken
    cpu_seconds: float = 0.0  # this process's CPU time, all threads (time.process_time)
    gpu_seconds: float = 0.0  # wall time x devices when trained on CUDA, else 0
    device_type: str = "cpu"  # the trainer's root device type ("cpu", "cuda", "mps")
    world_size: int = 1  # devices x nodes that trained
    seed: int = 0
    grad_norm_mean: float | None = None
    clip_fraction: float | None = None
    hparams: dict[str, Any] = field(default_factory=dict)
    budget_params: int | None = None  # the count under train.budget_counts, when budgeted
    data: dict[str, str] = field(default_factory=dict)  # Task.describe() as text (data.* params)

    def to_json(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v

        return clean(asdict(self))
