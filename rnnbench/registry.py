"""Plugin discovery: built-ins and third-party plugins alike come from the `rnnbench`
entry-point group, are loaded one by one, and register specs through the hooks.

Environment switches:
  RNNBENCH_STRICT_PLUGINS=1   a plugin that fails to load or registers a duplicate
                              name is fatal instead of reported and skipped.
  RNNBENCH_LOAD_PLUGINS=a,b   load only these entry points (by name); an empty value
                              loads none (tests register their own plugins).
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pluggy

from rnnbench import hookspecs
from rnnbench.errors import ConfigError, PluginError
from rnnbench.params import suggest
from rnnbench.specs import ModelSpec, TaskSpec

ENTRY_POINT_GROUP = "rnnbench"


@dataclass(frozen=True)
class Source:
    """Where a spec came from: the entry point, its distribution and version."""

    entry_point: str
    distribution: str
    version: str

    def __str__(self) -> str:
        return f"entry point {self.entry_point!r} ({self.distribution} {self.version})"


@dataclass
class Registry:
    """Models and tasks by name, with their sources, and the problems met loading them."""

    models: dict[str, tuple[ModelSpec, Source]] = field(default_factory=dict)
    tasks: dict[str, tuple[TaskSpec, Source]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def model(self, name: str) -> ModelSpec:
        if name not in self.models:
            raise ConfigError(f"unknown model {name!r}{suggest(name, self.models)}")
        return self.models[name][0]

    def task(self, name: str) -> TaskSpec:
        if name not in self.tasks:
            raise ConfigError(f"unknown task {name!r}{suggest(name, self.tasks)}")
        return self.tasks[name][0]

    def source_of(self, kind: str, name: str) -> Source:
        return (self.models if kind == "model" else self.tasks)[name][1]


def strict() -> bool:
    return os.environ.get("RNNBENCH_STRICT_PLUGINS", "") not in ("", "0", "false")


def make_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("rnnbench")
    pm.add_hookspecs(hookspecs)
    return pm


def _entry_points() -> list[metadata.EntryPoint]:
    """Entry points in a deterministic order: rnnbench's own first, then third-party
    ones by distribution and name, so that a duplicate never displaces a built-in."""
    selected = os.environ.get("RNNBENCH_LOAD_PLUGINS")
    eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    if selected is not None:
        wanted = {n.strip() for n in selected.split(",") if n.strip()}
        eps = [ep for ep in eps if ep.name in wanted]

    def order(ep: metadata.EntryPoint) -> tuple:
        dist = _source(ep).distribution
        return (dist != "rnnbench", dist, ep.name)

    return sorted(eps, key=order)


def _source(ep: metadata.EntryPoint) -> Source:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return Source(ep.name, "unknown", "unknown")
    return Source(ep.name, dist.metadata["Name"], dist.version)


def _report(problem: str, problems: list[str]) -> None:
    if strict():
        raise PluginError(problem)
    problems.append(problem)
    print(f"rnnbench: warning: {problem}", file=sys.stderr)


def collect(
    pm: pluggy.PluginManager,
    plugins: Iterable[tuple[object, Source]],
    problems: list[str] | None = None,
) -> Registry:
    """Register each plugin object with `pm`, call its hooks, and build the registry.

    Each plugin's hooks are called on their own, so a failing or duplicating plugin
    is attributed to its own entry point and skipped without touching the others.
    """
    registry = Registry(problems=problems if problems is not None else [])
    for plugin, source in plugins:
        try:
            pm.register(plugin, name=source.entry_point)
        except (ValueError, pluggy.PluginValidationError) as exc:  # bad hook signature, or twice
            _report(f"plugin {source} could not be registered: {exc}", registry.problems)
            continue
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            pm.unregister(plugin)
            _report(f"plugin {source} is invalid: {exc}", registry.problems)
            continue
        _call_hooks(pm, plugin, source, registry)
    return registry


def _call_hooks(pm: pluggy.PluginManager, plugin: object, source: Source, registry: Registry) -> None:
    found: dict[str, list] = {"model": [], "task": []}

    def registrar(kind: str, expected: type) -> Callable[[object], None]:
        def register(spec: object) -> None:
            if not isinstance(spec, expected):
                raise TypeError(f"register() expects a {expected.__name__}, got {type(spec).__name__}")
            found[kind].append(spec)

        return register

    try:
        for hook_name, kind, spec_type in (
            ("register_models", "model", ModelSpec),
            ("register_tasks", "task", TaskSpec),
        ):
            caller = pm.subset_hook_caller(
                hook_name, remove_plugins=[p for p in pm.get_plugins() if p is not plugin]
            )
            caller(register=registrar(kind, spec_type))
    except Exception as exc:  # a plugin's hook raised: report, keep the rest working
        pm.unregister(plugin)
        _report(f"plugin {source} failed in its hooks: {type(exc).__name__}: {exc}", registry.problems)
        return
    for kind, table in (("model", registry.models), ("task", registry.tasks)):
        for spec in found[kind]:
            if spec.name in table:
                other = table[spec.name][1]
                _report(
                    f"duplicate {kind} name {spec.name!r} from plugin {source} "
                    f"is ignored: already registered by {other}",
                    registry.problems,
                )
                continue
            table[spec.name] = (spec, source)


def load_entry_point_plugins(problems: list[str]) -> list[tuple[object, Source]]:
    """Import each entry point on its own; report (or, strict, raise) the ones that fail."""
    loaded = []
    for ep in _entry_points():
        source = _source(ep)
        try:
            loaded.append((ep.load(), source))
        except Exception as exc:
            _report(f"plugin {source} failed to load: {type(exc).__name__}: {exc}", problems)
    return loaded


_cached: Registry | None = None


def get_registry(refresh: bool = False) -> Registry:
    """The process-wide registry, loaded lazily on first use."""
    global _cached
    if _cached is None or refresh:
        problems: list[str] = []
        plugins = load_entry_point_plugins(problems)
        _cached = collect(make_manager(), plugins, problems)
    return _cached


def reset_registry() -> None:
    global _cached
    _cached = None
