"""A tracked run's model and task head rebuilt from its recorded settings, with the
weights of its best checkpoint (RESULTS/runs/RUN_ID/checkpoints/best.ckpt): what
`rnnbench generate` samples from.

The run's MLflow params hold everything that defines it (`model`, `task`, `model.*`,
`task.*`, `train.*`, as `rnnbench run` logged them, a budgeted width included); they are
resolved again like `--set` values and built by the runner's own `prepare`, on one CPU,
without a parameter budget or diagnostics. The task's data is loaded again (from the
prepared-data cache when it is warm); the facts it logged (`data.*`: sizes, vocabulary)
must match, so a changed data file is an error and not a silently wrong vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import ConfigError, DataError
from rnnbench.contract.generation import TokenCodec
from rnnbench.contract.registry import Registry
from rnnbench.contract.specs import Task, TaskSpec

#: train.* values that a restored run takes whatever it trained with
RESTORE_TRAIN = {"param_budget": "0", "diagnostics": "none", "accelerator": "cpu",
                 "devices": "1", "strategy": "auto", "precision": "32-true", "progress": "false"}


@dataclass
class RestoredRun:
    run_id: str
    checkpoint: Path
    prepared: Any  # the runner's PreparedRun, its system holding the checkpoint's weights
    codec: TokenCodec

    def sampler(self):
        from rnnbench.training.sampling import Sampler

        system = self.prepared.system
        return Sampler(system.model, system.head, self.codec, stateful=system.stateful)


def declares_codec(spec: TaskSpec) -> bool:
    """Whether the task can be generative: its Task class overrides Task.codec (a factory
    that is not a class is given the benefit of the doubt until it is built)."""
    factory = spec.factory
    return not isinstance(factory, type) or factory.codec is not Task.codec


def best_checkpoint(results_dir: Path, run_id: str) -> Path | None:
    folder = Path(results_dir) / "runs" / run_id / "checkpoints"
    found = sorted(folder.glob("best*.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def restore_run(tracker: Any, run_id: str, results_dir: Path, registry: Registry,
                where: str) -> RestoredRun:
    """The generative run `run_id` of `tracker` (`where` names the store in errors)."""
    try:
        record = tracker.record(run_id)
    except LookupError:
        raise ConfigError(f"--run {run_id}: no such run in {where}") from None
    params = dict(record.params)
    model, task = params.get("model"), params.get("task")
    if not model or not task:
        raise ConfigError(f"--run {run_id}: run {record.name!r} trained no model (a sweep's "
                          "parent run?); give the id of a single run or a sweep's trial/seed")
    spec = registry.task(task)
    if not declares_codec(spec):
        raise ConfigError(_not_generative(run_id, task))
    checkpoint = best_checkpoint(results_dir, run_id)
    if checkpoint is None:
        raise ConfigError(f"--run {run_id}: no checkpoint under "
                          f"{Path(results_dir) / 'runs' / run_id / 'checkpoints'} (pass the "
                          "--results-dir it ran with; sweep search trials keep none)")
    prepared = _prepare(params, model, task, results_dir, registry, run_id)
    codec = prepared.task.codec()
    if codec is None:
        raise ConfigError(_not_generative(run_id, task))
    _load_weights(prepared.system, checkpoint, run_id)
    return RestoredRun(run_id, checkpoint, prepared, codec)


def _not_generative(run_id: str, task: str) -> str:
    return (f"--run {run_id}: a run of task {task!r}, which is not a language model (its "
            "task gives no TokenCodec: Task.codec())")


def _prepare(params: dict[str, str], model: str, task: str, results_dir: Path,
             registry: Registry, run_id: str):
    from rnnbench.tracking.mlflow_tracker import param_value
    from rnnbench.training.config import build_run_config
    from rnnbench.training.runner import prepare

    sets: dict[str, dict[str, str]] = {"model": {}, "task": {}, "train": {}}
    for key, value in params.items():
        prefix, _, name = key.partition(".")
        if prefix in sets and name:
            sets[prefix][name] = value
    sets["train"].update(RESTORE_TRAIN)
    config = build_run_config(registry, model, task, sets, source=f"run {run_id}",
                              results_dir=Path(results_dir))
    prepared = prepare(config, registry)
    for name, value in prepared.task.describe().items():
        logged = params.get(f"data.{name}")
        if logged is not None and logged != param_value(value):
            raise DataError(f"--run {run_id}: the task's data changed since the run (data.{name} "
                            f"was {logged}, is {param_value(value)} now; task.dataset="
                            f"{config.task_options.get('dataset', '?')})")
    return prepared


def _load_weights(system: Any, checkpoint: Path, run_id: str) -> None:
    import pickle

    import torch

    from rnnbench.contract.errors import reason

    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
        system.load_state_dict(state)
    except (RuntimeError, KeyError, EOFError, OSError, ValueError,
            pickle.UnpicklingError) as exc:
        first = reason(exc)[:200]
        raise DataError(f"{checkpoint}: does not fit the model rebuilt from run {run_id}'s "
                        f"settings ({first})") from None
