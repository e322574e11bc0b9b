"""The hooks a plugin may implement. Hooks are called with keyword arguments.

A spec may gain arguments in later versions but never rename or drop one; an
implementation may accept fewer arguments than its spec, but rnnbench's registry
reports (and, with RNNBENCH_STRICT_PLUGINS=1, refuses) an implementation that would
silently do nothing: one not decorated with `@rnnbench.hookimpl`, one under a name
that is no hook below, one whose signature cannot receive `register` (the parameter
must be named so, without a default), and a plugin whose hooks register no spec.
"""

import pluggy

hookspec = pluggy.HookspecMarker("rnnbench")
hookimpl = pluggy.HookimplMarker("rnnbench")


@hookspec
def register_models(register):
    """Register model plugins.

    register: callable taking one `rnnbench.ModelSpec`; call it once per model.
    """


@hookspec
def register_tasks(register):
    """Register task plugins.

    register: callable taking one `rnnbench.TaskSpec`; call it once per task.
    """


@hookspec
def register_diagnostics(register):
    """Register diagnostics (training-time measurements such as gradient flow).

    register: callable taking one `rnnbench.DiagnosticSpec`; call it once per diagnostic.
    """


@hookspec
def register_samplers(register):
    """Register Optuna samplers by name for `rnnbench sweep`.

    register: callable taking one `rnnbench.SamplerSpec`.
    """


@hookspec
def register_pruners(register):
    """Register Optuna pruners by name for `rnnbench sweep`.

    register: callable taking one `rnnbench.PrunerSpec`.
    """
