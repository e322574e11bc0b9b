"""From a sweep configuration to one run's configuration: sampled by an Optuna trial
from the model's search space and the searched train knobs, or fixed (no search)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnnbench.contract.params import Choice, FloatRange, IntRange, Param, Space
from rnnbench.contract.registry import Registry
from rnnbench.sweep.config import SweepConfig
from rnnbench.training.config import TRAIN_PARAMS, RunConfig, build_run_config


def suggest(trial, name: str, param: Param, space: Space) -> Any:
    if isinstance(space, Choice):
        return trial.suggest_categorical(name, list(space.values))
    if isinstance(space, IntRange):
        return trial.suggest_int(name, space.low, space.high, log=space.log, step=space.step)
    if isinstance(space, FloatRange):
        return trial.suggest_float(name, space.low, space.high, log=space.log)
    raise TypeError(f"unknown search space {space!r} for {param.name}")


def sample_config(
    trial, config: SweepConfig, registry: Registry, task: str, model: str
) -> RunConfig:
    """Model hyperparameters and searched train knobs from the trial; the rest fixed.
    Under a parameter budget the width is not sampled: the run derives it (prepare).
    Built by `build_run_config`, the function `rnnbench run` uses, with the same checks."""
    spec = registry.model(model)
    overrides = config.model_params.get(model, {})
    model_params = {}
    for param in spec.params:
        if config.train.get("param_budget") and param.name == spec.width:
            continue
        value = overrides.get(param.name, param.default)
        space = (
            value
            if isinstance(value, Space)
            else (param.space if param.name not in overrides else None)
        )
        model_params[param.name] = (
            suggest(trial, f"model.{param.name}", param, space) if space is not None else value
        )
    train = dict(config.train)
    for name in config.search_train:
        param = TRAIN_PARAMS[name]
        assert param.space is not None  # search_train lists searchable knobs only
        train[name] = suggest(trial, f"train.{name}", param, param.space)
    return run_config(config, registry, task, model, model_params, train, f"trial {trial.number}")


def fixed_config(config: SweepConfig, registry: Registry, task: str, model: str) -> RunConfig:
    """The pair's configuration without a search (n_trials 0): each model
    hyperparameter's default, overridden by the sweep's fixed model_params values (a
    search space stays at the default: this is also the configuration every pair is
    checked with before anything is written)."""
    fixed = {
        name: value
        for name, value in config.model_params.get(model, {}).items()
        if not isinstance(value, Space)
    }
    return run_config(config, registry, task, model, fixed, dict(config.train), "sweep")


def run_config(
    config: SweepConfig,
    registry: Registry,
    task: str,
    model: str,
    model_params: dict[str, Any],
    train: dict[str, Any],
    source: str,
) -> RunConfig:
    """One run of the sweep through `build_run_config` (the same function and checks as
    `rnnbench run`): values given are converted and validated, the rest default."""
    return build_run_config(
        registry,
        model,
        task,
        {"model": model_params, "task": dict(config.task_options[task]), "train": train},
        source=source,
        results_dir=config.results_dir,
        experiment=config.experiment,
    )


@dataclass(frozen=True)
class FixedConfiguration:
    """Stands in for a best trial when nothing is searched: `number` names it in the
    final runs' `rnnbench.best_trial` tag, `user_attrs["config"]` is what they train."""

    number: str
    user_attrs: dict
