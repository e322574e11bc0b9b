"""The typed configuration of one run, built and fully validated before anything is written.

`--set` keys are dotted: `model.NAME` (the model spec's hyperparameters), `task.NAME`
(the task spec's options), `train.NAME` (TRAIN_PARAMS below, shared by every pair).

`build_run_config` is the one path to a RunConfig: `rnnbench run`, every sweep trial and
final, and a sweep's up-front check of every pair call it. A RunConfig is immutable
(frozen, its mappings read-only); values derived while a run is prepared (a budgeted
width, the embedding size read from a vectors file) make a new one (`with_derived`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rnnbench.contract.errors import ConfigError, IncompatibleError
from rnnbench.contract.params import Choice, FloatRange, Param, ParamSet
from rnnbench.contract.registry import Registry
from rnnbench.contract.specs import compatibility
from rnnbench.training.budget import check_request
from rnnbench.training.embeddings import OPTIONS as EMBEDDING_OPTIONS
from rnnbench.training.embeddings import check_request as check_embeddings
from rnnbench.training.schedules import OPTIONS as SCHEDULE_OPTIONS
from rnnbench.training.schedules import check_request as check_schedule
from rnnbench.training.tying import OPTIONS as TYING_OPTIONS

TRAIN_PARAMS = ParamSet(
    (
        Param(
            "lr", float, 3e-3, "learning rate", minimum=0.0, space=FloatRange(3e-4, 3e-2, log=True)
        ),
        Param("batch_size", int, 64, "training batch size", minimum=1, space=Choice((32, 64, 128))),
        Param(
            "optimizer",
            str,
            "adam",
            "optimiser (asgd: NT-ASGD, Merity et al. 2017)",
            choices=("adam", "adamw", "sgd", "rmsprop", "asgd"),
        ),
        Param("weight_decay", float, 0.0, "L2 penalty (decoupled for adamw)", minimum=0.0),
        Param("momentum", float, 0.9, "momentum for sgd and rmsprop", minimum=0.0, maximum=1.0),
        Param("max_epochs", int, 10, "maximum epochs", minimum=1),
        Param("max_steps", int, -1, "maximum optimiser steps (-1: no limit)", minimum=-1),
        Param("limit_train_batches", int, 0, "batches per training epoch (0: all)", minimum=0),
        Param("limit_eval_batches", int, 0, "batches per validation/test pass (0: all)", minimum=0),
        Param("patience", int, 5, "early-stopping patience in epochs", minimum=1),
        Param(
            "clip_algorithm", str, "norm", "gradient clipping", choices=("norm", "value", "none")
        ),
        Param(
            "clip_value",
            float,
            1.0,
            "clipping threshold (norm or absolute value)",
            minimum=0.0,
            space=FloatRange(0.25, 10.0, log=True),
        ),
        Param(
            "seed",
            int,
            0,
            "random seed (numpy's range: 0 to 2**32 - 1)",
            minimum=0,
            maximum=2**32 - 1,
        ),
        Param("deterministic", bool, False, "use deterministic algorithms"),
        Param(
            "precision",
            str,
            "32-true",
            "Lightning precision",
            choices=("32-true", "bf16-mixed", "16-mixed", "64-true"),
        ),
        Param(
            "accelerator",
            str,
            "auto",
            "Lightning accelerator",
            choices=("auto", "cpu", "gpu", "cuda", "mps"),
        ),
        Param("devices", str, "1", "Lightning devices: a count, 'auto' or a list like 0,1"),
        Param("strategy", str, "auto", "Lightning strategy (auto, ddp, ...)"),
        Param("num_threads", int, 0, "torch intra-op threads (0: torch's default)", minimum=0),
        Param(
            "flush_denormal",
            bool,
            True,
            "flush denormal floats (below 1.2e-38) to zero on the CPU; on some CPUs "
            "vanishing gradients full of them made steps up to 20x slower",
        ),
        Param("progress", bool, True, "show Lightning's progress bar"),
        Param(
            "diagnostics",
            str,
            "none",
            "diagnostics to record, comma-separated names from `rnnbench list` (built-in: "
            "gradient-flow, dL/dh_t through time); none: no diagnostic",
        ),
        Param("diagnostics_interval", int, 50, "training steps between diagnostics", minimum=1),
        Param(
            "param_budget",
            int,
            0,
            "size the model's width so that its budgeted parameter count is within 5% of "
            "this (0: no budget; rnnbench.training.budget says what counts)",
            minimum=0,
        ),
        Param(
            "budget_counts",
            str,
            "recurrent",
            "what param_budget counts: recurrent (no embeddings, no task head) or all",
            choices=("recurrent", "all"),
        ),
        Param(
            "val_check_interval",
            int,
            0,
            "validate every N training batches (0: once per epoch, at its end)",
            minimum=0,
        ),
        Param(
            "patience_batches",
            int,
            0,
            "early stopping after N training batches without a better validation value, "
            "checked at each validation (0: train.patience epochs)",
            minimum=0,
        ),
        *SCHEDULE_OPTIONS,
        *TYING_OPTIONS,
        *EMBEDDING_OPTIONS,
    )
)


@dataclass(frozen=True)
class RunConfig:
    """Everything one `rnnbench run` needs; values are converted and validated.

    Immutable: the three mappings are read-only views of private copies (whatever is
    passed in can change afterwards without changing the config)."""

    model: str
    task: str
    model_params: Mapping[str, Any]
    task_options: Mapping[str, Any]
    train: Mapping[str, Any]
    results_dir: Path = Path("results")
    experiment: str = "rnnbench"

    def __post_init__(self) -> None:
        for name in ("model_params", "task_options", "train"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        object.__setattr__(self, "results_dir", Path(self.results_dir))

    def __reduce__(self):  # pickle and deepcopy: read-only views are rebuilt from copies
        return (type(self), tuple(self.to_dict().values()))

    def flat(self) -> dict[str, Any]:
        """Dotted name -> value, as logged to MLflow."""
        out: dict[str, Any] = {"model": self.model, "task": self.task}
        for prefix, values in (
            ("model", self.model_params),
            ("task", self.task_options),
            ("train", self.train),
        ):
            out.update({f"{prefix}.{k}": v for k, v in values.items()})
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts and a str path (JSON-able); `RunConfig(**d)` rebuilds it. The field
        order is the constructor's."""
        return {
            "model": self.model,
            "task": self.task,
            "model_params": dict(self.model_params),
            "task_options": dict(self.task_options),
            "train": dict(self.train),
            "results_dir": str(self.results_dir),
            "experiment": self.experiment,
        }

    def with_derived(self, model_params: Mapping[str, Any]) -> RunConfig:
        """A new config with hyperparameters derived while preparing the run (the budgeted
        width, the embedding size of a vectors file) over this one's; this one is unchanged."""
        return replace(self, model_params={**self.model_params, **model_params})


def parse_sets(items: Iterable[str]) -> dict[str, dict[str, str]]:
    """['model.hidden_size=64', ...] -> {'model': {'hidden_size': '64'}, ...}."""
    grouped: dict[str, dict[str, str]] = {"model": {}, "task": {}, "train": {}}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. model.hidden_size=64")
        prefix, dot, name = key.partition(".")
        if not dot or prefix not in grouped or not name:
            raise ConfigError(
                f"--set {key}: keys start with 'model.', 'task.' or 'train.' "
                "(e.g. model.hidden_size, task.seq_len, train.lr)"
            )
        grouped[prefix][name] = value
    return grouped


def build_run_config(
    registry: Registry,
    model: str,
    task: str,
    sets: Mapping[str, Mapping[str, Any]] | None = None,
    source: str = "--set",
    **extra: Any,
) -> RunConfig:
    """Resolve names and values against the specs; raise ConfigError/IncompatibleError."""
    sets = sets or {}
    model_spec = registry.model(model)
    task_spec = registry.task(task)
    model_params = model_spec.params.resolve(sets.get("model", {}), "model", source)
    task_options = task_spec.options.resolve(sets.get("task", {}), "task", source)
    train = TRAIN_PARAMS.resolve(sets.get("train", {}), "train", source)
    reason = compatibility(model_spec, task_spec, model_params)
    if reason:
        raise IncompatibleError(reason)
    if train["param_budget"]:
        check_request(
            model_spec,
            train["budget_counts"],
            sets.get("model", {}),
            f"param_budget {train['param_budget']:,}",
        )
    if train["patience_batches"] and not train["val_check_interval"]:
        raise ConfigError(
            "train.patience_batches: needs train.val_check_interval (validation "
            "every N batches), e.g. train.val_check_interval=100"
        )
    check_schedule(train)
    check_embeddings(model_spec, task_spec, sets.get("model", {}), model_params, train)
    for diagnostic in selected_diagnostics(registry, train):
        why = diagnostic.applies(model_spec, model_params) if diagnostic.applies else None
        if why:
            raise IncompatibleError(f"--diagnostics {diagnostic.name}: {why}")
    return RunConfig(
        model=model,
        task=task,
        model_params=model_params,
        task_options=task_options,
        train=train,
        **extra,
    )


def selected_diagnostics(registry: Registry, train: Mapping[str, Any]) -> list:
    """The DiagnosticSpecs that `train.diagnostics` names (comma-separated; "none": none);
    an unknown name is a ConfigError with a suggestion."""
    names = [n.strip() for n in str(train["diagnostics"]).split(",") if n.strip()]
    out = []
    for name in names:
        if name == "none":
            continue
        try:
            out.append(registry.diagnostic(name))
        except ConfigError as exc:
            raise ConfigError(f"train.diagnostics: {exc}") from None
    return out


def tracking_uri_source(explicit: str | None) -> str | None:
    """Where the tracking URI comes from, for error lines: '--tracking-uri', the
    MLFLOW_TRACKING_URI variable, or None (the default SQLite file in the results folder,
    which rnnbench creates itself)."""
    if explicit:
        return "--tracking-uri"
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return "MLFLOW_TRACKING_URI"
    return None


def check_experiment(name: str | None, option: str = "--experiment") -> None:
    """An MLflow experiment name: non-empty, not only spaces."""
    if name is not None and not str(name).strip():
        raise ConfigError(f"{option}: the MLflow experiment name is empty")


def resolve_tracking_uri(explicit: str | None, results_dir: Path) -> str:
    """--tracking-uri, else MLFLOW_TRACKING_URI, else SQLite in the results folder."""
    if explicit:
        return explicit
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{(Path(results_dir).resolve() / 'mlflow.db').as_posix()}"
