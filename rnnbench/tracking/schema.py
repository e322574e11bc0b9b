"""Every MLflow tag and metric name rnnbench writes and reads, with its type: the one
place the names are spelled. Writing turns a value into MLflow's text once
(`Key.text`); reading turns it back once (`Key.read`), so no code compares a tag with
"True".

Tags are strings in MLflow; a bool is written "True"/"False", None is not written
(`Key.tags` drops it) or written "None" by older releases (read back as None).
Settings of a sweep go to tags SETTING_PREFIX + name (rnnbench.setting.lr, ...);
run configurations are MLflow params named as RunConfig.flat() names them.

Uses nothing but the standard library (the tracking layer's rule: contract only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Key:
    """One MLflow tag: its name, the Python type of its value, what it holds."""

    name: str
    type: type
    doc: str

    def text(self, value: Any) -> str:
        """The tag text of `value` (bool -> "True"/"False", numbers as str)."""
        return str(value)

    def read(self, tags: Mapping[str, str], default: Any = None) -> Any:
        """The typed value of this tag in `tags`, or `default` when absent or "None"."""
        raw = tags.get(self.name)
        if raw is None or raw == "None":
            return default
        if self.type is bool:
            return raw.lower() in ("true", "1", "yes")
        if self.type in (int, float):
            try:
                return self.type(raw)
            except ValueError:
                return default
        return raw


def tags(values: Mapping[Key, Any]) -> dict[str, str]:
    """{Key: value} -> MLflow tags {name: text}, leaving out None values."""
    return {key.name: key.text(value) for key, value in values.items() if value is not None}


# what a run is (written by training.runner on every run)
MODEL = Key("rnnbench.model", str, "model name")
TASK = Key("rnnbench.task", str, "task name")
SEED = Key("rnnbench.seed", int, "train.seed of the run")
VERSION = Key("rnnbench.version", str, "rnnbench version that ran it")
MODEL_PLUGIN = Key("rnnbench.model_plugin", str, "'DISTRIBUTION VERSION' of the model")
TASK_PLUGIN = Key("rnnbench.task_plugin", str, "'DISTRIBUTION VERSION' of the task")
CONFIG_HASH = Key("rnnbench.config_hash", str, "hash of the run configuration (resume)")
RESUMED_FROM = Key("rnnbench.resumed_from", str, "checkpoint a resumed run started from")
BUDGET_WIDTH = Key("rnnbench.budget_width", str, "hyperparameter sized by param_budget")
# how it ended
STATUS = Key("rnnbench.status", str, "diverged | pruned | failed | killed")
ERROR = Key("rnnbench.error", str, "one-line reason of a failed or killed run")
DIVERGED = Key("rnnbench.diverged", bool, "the run diverged (its metric is NaN)")
DIVERGED_REASON = Key("rnnbench.diverged_reason", str, "why it counts as diverged")
SOLVED = Key("rnnbench.solved", bool, "the task's solved criterion held (None: none)")
INFINITE_METRICS = Key("rnnbench.infinite_metrics", str, "'name=inf,...' (stored as NaN)")
THROUGHPUT_UNIT = Key("rnnbench.throughput_unit", str, "unit of the throughput metric")
UNIT = Key("rnnbench.unit", str, "unit of the task's main metric")
BASELINE_NAME = Key("rnnbench.baseline_name", str, "what the baseline metric is")
EVALUATION = Key(
    "rnnbench.evaluation",
    str,
    "how the test metric was evaluated (the language-modelling stream convention), shown in the leaderboard caption",
)
# where it belongs (sweeps and horizon studies)
ROLE = Key("rnnbench.role", str, "sweep | horizon: a parent run")
PHASE = Key("rnnbench.phase", str, "search | final | horizon")
SWEEP = Key("rnnbench.sweep", str, "sweep name")
STUDY = Key("rnnbench.study", str, "Optuna study name of the pair")
TRIAL = Key("rnnbench.trial", int, "Optuna trial number (search runs)")
BEST_TRIAL = Key("rnnbench.best_trial", str, "trial number a final run retrains, or 'fixed'")
MAIN_METRIC = Key("rnnbench.main_metric", str, "the task's main metric (without test_)")
MODE = Key("rnnbench.mode", str, "min | max: the direction of the monitored metric")
MONITOR = Key("rnnbench.monitor", str, "the monitored validation metric")
STORAGE = Key("rnnbench.storage", str, "Optuna storage URL of a sweep")
SWEEP_PAIRS = Key("rnnbench.sweep_pairs", str, "'task/model,...' of a sweep")
SWEEP_IDENTITY = Key("rnnbench.sweep_identity", str, "fingerprint of the sweep's pairs")
SWEEP_SEARCH = Key("rnnbench.sweep_search", str, "fingerprint of what the sweep searches")
HORIZON = Key("rnnbench.horizon", str, "horizon study name")
LENGTH = Key("rnnbench.length", int, "sequence length of a horizon run")
# the MLflow UI's leaderboard views (tracking.views) select runs by it
ON_LEADERBOARD = Key(
    "rnnbench.on_leaderboard",
    str,
    "'yes' on the final runs a leaderboard uses, 'no' once a resumed sweep replaced them",
)
SETTING_PREFIX = "rnnbench.setting."  # + a sweep setting's name

#: metrics every finished run logs besides the task's val_*/test_* (name -> unit)
RUN_METRICS = {
    "wall_seconds": "s",
    "cpu_seconds": "s",
    "gpu_seconds": "s (wall x devices)",
    "throughput": "THROUGHPUT_UNIT per s",
    "params": "count",
    "steps": "optimiser steps",
    "baseline": "UNIT",
    "budget_params": "count (param_budget runs)",
}

KEYS = tuple(v for v in list(globals().values()) if isinstance(v, Key))
