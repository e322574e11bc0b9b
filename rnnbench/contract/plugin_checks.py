"""What would make a plugin register nothing without a word: hooks under unknown names,
signatures that cannot receive `register`, hook-named functions without
`@rnnbench.hookimpl`. Each is described in one line (the registry reports them)."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Sequence

import pluggy

from rnnbench.contract.params import suggest


def one_line(text: object) -> str:
    """pluggy's (and exceptions') multi-line texts, as one line."""
    return " ".join(str(text).split())


def plugin_problems(pm: pluggy.PluginManager, plugin: object, hooks: Sequence[str]) -> list[str]:
    """What would make a plugin register nothing without a word, in one line each:
    hook implementations under unknown names, signatures that cannot receive
    `register`, and hook-named functions without `@rnnbench.hookimpl`."""
    problems, marked, unmarked = [], [], []
    for attr in dir(plugin):
        try:
            value = getattr(plugin, attr)
        except Exception:  # a property that raises is no hook
            continue
        if not callable(value):
            continue
        if pm.parse_hookimpl_opts(plugin, attr) is not None:
            marked.append(attr)
        elif inspect.isroutine(value) and difflib.get_close_matches(attr, hooks, n=1, cutoff=0.85):
            unmarked.append(attr)
    for name in marked:
        impl = getattr(plugin, name)
        if name not in hooks:
            problems.append(f"implements an unknown hook {name!r}{suggest(name, hooks)}")
            continue
        problem = _signature_problem(name, impl)
        if problem:
            problems.append(problem)
    for name in unmarked:
        problems.append(
            f"defines {name}() without @rnnbench.hookimpl, so rnnbench never "
            "calls it (decorate it with @rnnbench.hookimpl)"
        )
    if not marked and not unmarked:
        problems.append(
            f"implements no rnnbench hook (expected {' or '.join(hooks)} "
            "decorated with @rnnbench.hookimpl)"
        )
    return problems


def _signature_problem(name: str, impl: Callable) -> str | None:
    """pluggy passes `register` only to a parameter of that name without a default;
    a required parameter of any other name makes the hook uncallable."""
    try:
        params = inspect.signature(impl).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    receives = any(
        p.name == "register" and p.kind in positional and p.default is p.empty for p in params
    )
    extra = [
        p.name
        for p in params
        if p.name != "register" and p.kind in positional and p.default is p.empty
    ]
    if receives and not extra:
        return None
    shown = f"{name}({', '.join(p.name for p in params)})"
    if extra:
        return (
            f"hook {shown} declares argument(s) {', '.join(map(repr, extra))} that "
            f"rnnbench does not pass; it passes only 'register': def {name}(register)"
        )
    return (
        f"hook {shown} cannot receive the argument 'register', so it registers "
        f"nothing: def {name}(register)"
    )
