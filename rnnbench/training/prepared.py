"""A run built and checked, nothing written yet: what `runner.prepare` returns and the
Trainer set-up, the sample writers and the runner's `execute` read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnnbench.contract.specs import ModelSpec, Task, TaskSpec
from rnnbench.training.config import RunConfig


@dataclass
class PreparedRun:
    """Everything built and validated, nothing written yet."""

    config: RunConfig  # the validated config with the derived values (runner.prepare)
    model_spec: ModelSpec
    task_spec: TaskSpec
    task: Task
    system: Any
    diagnostics: list = field(default_factory=list)  # DiagnosticSpecs to attach
    budget: Any = None  # the BudgetFit that set the width (train.param_budget), or None
    embeddings: Any = None  # the LoadedEmbeddings installed (train.embeddings), or None
