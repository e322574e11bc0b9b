"""The built-in diagnostic, samplers and pruners, registered through the `rnnbench`
entry-point group with the same hooks a third-party plugin implements.

Importing this module is cheap (no torch, Lightning or Optuna): each factory imports
what it builds when a run or a sweep asks for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rnnbench.contract.extension_specs import DiagnosticSpec, PrunerSpec, SamplerSpec
from rnnbench.contract.hookspecs import hookimpl


def gradient_flow_monitor(interval: int) -> Any:
    from rnnbench.training.diagnostics import GradientFlowMonitor

    return GradientFlowMonitor(interval)


def needs_step_states(model_spec: Any, hparams: Mapping[str, Any]) -> str | None:
    if model_spec.exposes_hidden(hparams):
        return None
    return (
        f"model {model_spec.name!r} does not expose per-step hidden states with these "
        "hyperparameters (ModelSpec.hidden_states)"
    )


GRADIENT_FLOW = DiagnosticSpec(
    name="gradient-flow",
    factory=gradient_flow_monitor,
    applies=needs_step_states,
    needs_step_states=True,
    description="‖∂L/∂h_t‖ for t = 1..T during training: how gradients vanish through time",
)


def tpe(seed: int) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=2)


def random_sampler(seed: int) -> Any:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


def median(max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)


def hyperband(max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs)


def no_pruning(max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.NopPruner()


@hookimpl
def register_diagnostics(register):
    register(GRADIENT_FLOW)


@hookimpl
def register_samplers(register):
    register(SamplerSpec("tpe", tpe, "Tree-structured Parzen Estimator, 2 random startup trials"))
    register(SamplerSpec("random", random_sampler, "independent uniform draws"))


@hookimpl
def register_pruners(register):
    register(
        PrunerSpec(
            "median",
            median,
            "stop a trial below the median of earlier trials "
            "at the same epoch (after 2 trials, from epoch 2)",
        )
    )
    register(PrunerSpec("hyperband", hyperband, "Hyperband over 1..max_epochs epochs"))
    register(PrunerSpec("none", no_pruning, "never prune"))
