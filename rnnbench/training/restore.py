"""A finished run rebuilt from its recorded settings, with the weights of its best
checkpoint: the one mechanism behind `rnnbench generate` and `rnnbench export-embeddings`.

Settings. A finished run leaves RESULTS/runs/RUN_ID/result.json beside its checkpoints
(`hparams`: the flat `model`, `task`, model.* / task.* / train.* values, a budgeted width
included; `data`: the facts its task logged, sizes and vocabulary). That file is the
source: the checkpoint is under the same folder anyway, so it is there whenever the
weights are, and it needs no MLflow store. When it is missing (a run that wrote no
result.json, or a results folder copied without it) and the command has an MLflow
tracker (generate), the run's MLflow params (the same values, `data.*` included) are
the fallback.

Rebuild. The values are resolved again like `--set` values (names the model, task or
train params no longer know are dropped; settings added since the run take their
defaults), with the train.* values of RESTORE_TRAIN (one CPU, no budget, no
diagnostics), and built by the runner's own `prepare`. The task's data is loaded again
(from the prepared-data cache when it is warm); the data facts recorded must match, so a
changed data file is an error and not a silently wrong vocabulary (a result.json from
before the facts were recorded skips this check). Then the best checkpoint's
state_dict is loaded into model + head. Every failure is a one-line ConfigError or
DataError naming the run, file or setting.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import ConfigError, DataError
from rnnbench.contract.registry import Registry
from rnnbench.training.checkpoints import MODEL_SETTINGS, MODEL_WEIGHTS, best_checkpoint

#: train.* values that a restored run takes whatever it trained with
RESTORE_TRAIN = {
    "param_budget": "0",
    "diagnostics": "none",
    "accelerator": "cpu",
    "devices": "1",
    "strategy": "auto",
    "precision": "32-true",
    "progress": "false",
}


@dataclass
class RestoredRun:
    run_id: str
    checkpoint: Path
    prepared: Any  # the runner's PreparedRun, its system holding the checkpoint's weights
    source: str  # where the settings came from: the result.json path or the MLflow store


@dataclass
class RunSettings:
    values: dict[str, Any]  # flat: model, task, model.*, task.*, train.*
    data: dict[str, str]  # the task's data facts at training time (describe(), as text)
    source: str


def run_settings(
    results_dir: Path, run_id: str, tracker: Any = None, where: str | None = None
) -> RunSettings:
    """The run's settings from its result.json, else from `tracker` (see the docstring)."""
    result = Path(results_dir) / "runs" / run_id / "result.json"
    if result.is_file():
        try:
            recorded = json.loads(result.read_text())
            values, data = dict(recorded["hparams"]), dict(recorded.get("data") or {})
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{result}: not a run result with its settings ({exc})") from None
        settings = RunSettings(values, {k: str(v) for k, v in data.items()}, str(result))
    elif tracker is not None:
        try:
            record = tracker.record(run_id)
        except LookupError:
            raise ConfigError(f"--run {run_id}: no such run in {where}") from None
        params = dict(record.params)
        data = {k[len("data.") :]: v for k, v in params.items() if k.startswith("data.")}
        settings = RunSettings(params, data, str(where))
    else:
        raise ConfigError(
            f"--run {run_id}: no {result} (a finished run writes it; is "
            "--results-dir the folder the run used?)"
        )
    if not settings.values.get("model") or not settings.values.get("task"):
        raise ConfigError(
            f"--run {run_id}: the run trained no model (a sweep's parent run?); "
            "give the id of a single run or a sweep's trial/seed"
        )
    return settings


def restore_run(
    results_dir: Path,
    run_id: str,
    registry: Registry,
    *,
    tracker: Any = None,
    where: str | None = None,
    check: Callable[[Any, Any], None] | None = None,
) -> RestoredRun:
    """Run `run_id` rebuilt on the CPU with its best weights. `check(model_spec,
    task_spec)` raises for a run the command cannot use, before any data is loaded."""
    import tempfile

    checkpoint = best_checkpoint(results_dir, run_id)
    with tempfile.TemporaryDirectory(prefix="rnnbench-model-") as tmp:
        logged = None
        if checkpoint is None and tracker is not None:
            logged = logged_model(tracker, run_id, Path(tmp))
        if logged is not None:  # the run's LoggedModel: its settings and best weights
            checkpoint = logged / MODEL_WEIGHTS
            settings = _settings_file(logged / MODEL_SETTINGS, f"{where} (logged model)")
        else:
            settings = run_settings(results_dir, run_id, tracker, where)
        model, task = str(settings.values["model"]), str(settings.values["task"])
        if check is not None:
            check(registry.model(model), registry.task(task))
        if checkpoint is None:
            raise ConfigError(
                f"--run {run_id}: no checkpoint under "
                f"{Path(results_dir) / 'runs' / run_id / 'checkpoints'} and no "
                "logged model in the tracking store (pass the --results-dir or "
                "--tracking-uri it ran with; sweep search trials keep none)"
            )
        prepared = _prepare(settings, model, task, Path(results_dir), registry, run_id)
        _load_weights(prepared.system, checkpoint, run_id)
    return RestoredRun(run_id, checkpoint, prepared, settings.source)


def logged_model(tracker: Any, run_id: str, folder: Path) -> Path | None:
    """The files of run `run_id`'s LoggedModel downloaded into `folder`, or None."""
    find = getattr(tracker, "find_model", None)
    if find is None:
        return None
    try:
        model_id = find(run_id)
    except LookupError:
        return None
    if model_id is None:
        return None
    return tracker.download_model(model_id, folder)


def _settings_file(result: Path, source: str) -> RunSettings:
    try:
        recorded = json.loads(result.read_text())
        values, data = dict(recorded["hparams"]), dict(recorded.get("data") or {})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{result}: not a run result with its settings ({exc})") from None
    return RunSettings(values, {k: str(v) for k, v in data.items()}, source)


def _prepare(
    settings: RunSettings, model: str, task: str, results_dir: Path, registry: Registry, run_id: str
):
    from rnnbench.tracking.mlflow_tracker import param_value
    from rnnbench.training.config import TRAIN_PARAMS, build_run_config
    from rnnbench.training.runner import prepare

    known = {
        "model": registry.model(model).params,
        "task": registry.task(task).options,
        "train": TRAIN_PARAMS,
    }
    sets: dict[str, dict[str, Any]] = {prefix: {} for prefix in known}
    for key, value in settings.values.items():
        prefix, _, name = key.partition(".")
        if prefix in known and name in known[prefix]:
            sets[prefix][name] = value
    sets["train"].update(RESTORE_TRAIN)
    config = build_run_config(
        registry, model, task, sets, source=f"run {run_id}", results_dir=results_dir
    )
    prepared = prepare(config, registry)
    for name, value in prepared.task.describe().items():
        logged = settings.data.get(name)
        if logged is not None and param_value(logged) != param_value(value):
            raise DataError(
                f"--run {run_id}: the task's data changed since the run (data.{name} "
                f"was {logged}, is {param_value(value)} now; task.dataset="
                f"{config.task_options.get('dataset', '?')})"
            )
    return prepared


def _load_weights(system: Any, checkpoint: Path, run_id: str) -> None:
    import pickle

    import torch

    from rnnbench.contract.errors import reason

    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
        system.load_state_dict(state)
    except (
        RuntimeError,
        KeyError,
        TypeError,
        EOFError,
        OSError,
        ValueError,
        pickle.UnpicklingError,
    ) as exc:
        first = reason(exc).splitlines()[0][:200] if reason(exc) else type(exc).__name__
        raise DataError(
            f"{checkpoint}: does not fit the model rebuilt from run {run_id}'s settings ({first})"
        ) from None
