"""The built-in diagnostic `gradient-flow` (rnnbench.training.diagnostics), registered
through the `rnnbench` entry-point group with the hook a third-party plugin implements.

Importing this module is cheap (no torch or Lightning): the factory imports the monitor
when a run asks for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rnnbench.contract.extension_specs import DiagnosticSpec
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


@hookimpl
def register_diagnostics(register):
    register(GRADIENT_FLOW)
