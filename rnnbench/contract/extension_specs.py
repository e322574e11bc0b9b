"""The specs of the extension points beside models and tasks: diagnostics (callbacks
attached to runs), Optuna samplers and pruners, each registered by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rnnbench.contract.specs import ModelSpec


@dataclass(frozen=True)
class DiagnosticSpec:
    """A diagnostic plugin: a Lightning callback attached to a run that names it in
    `train.diagnostics` (`--diagnostics NAME`).

    factory:  `factory(interval: int) -> lightning.pytorch.Callback`; `interval` is
              `train.diagnostics_interval` (training steps between measurements). The
              callback reaches the model as `pl_module.model` and the task's loss of a
              model output as `pl_module.loss_of(output, batch)`. If it has a method
              `write(folder: pathlib.Path) -> list[Path]`, it is called on rank 0 after
              training and the files are logged as MLflow artifacts under diagnostics/.
    applies:  optional `applies(model_spec, hparams) -> str | None`: a one-line reason
              why the diagnostic cannot measure this model (checked before anything is
              written), or None.
    needs_step_states: the callback calls `model.forward_unrolled` (the model spec's
              `hidden_states` capability); the run's preflight checks the step states.
    """

    name: str
    factory: Callable[..., Any]
    applies: Callable[[ModelSpec, Mapping[str, Any]], str | None] | None = None
    needs_step_states: bool = False
    description: str = ""


@dataclass(frozen=True)
class SamplerSpec:
    """An Optuna sampler by name (`sampler:` in a sweep file, `--sampler NAME`).

    factory: `factory(seed: int) -> optuna.samplers.BaseSampler`. The sweep builds one
             per trial, seeded by the trial's position, so that workers never share a
             random stream and one worker's sweep is reproducible.
    """

    name: str
    factory: Callable[[int], Any]
    description: str = ""


@dataclass(frozen=True)
class PrunerSpec:
    """An Optuna pruner by name (`pruner:` in a sweep file, `--pruner NAME`).

    factory: `factory(max_epochs: int) -> optuna.pruners.BasePruner`; pruning reads the
             task's monitored metric once per validation (one "step" per epoch).
    """

    name: str
    factory: Callable[[int], Any]
    description: str = ""
