"""The hooks a plugin may implement. Hooks are called with keyword arguments.

A spec may gain arguments in later versions but never rename or drop one; an
implementation may accept fewer arguments than its spec.
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
