"""Plugin discovery: built-ins and third-party plugins alike come from the `rnnbench`
entry-point group, are loaded one by one, and register specs through the hooks.

No plugin fails silently. Each of these is reported in one line naming the entry
point, its distribution and version (and skipped), or is fatal in strict mode:
an entry point that fails to import; a hook implementation under an unknown name
(with the closest real hook); one whose signature cannot receive `register`; a
module whose hook-named functions lack `@rnnbench.hookimpl`; a plugin whose hooks
raise, or run without registering anything; a duplicate model or task name.

Environment switches:
  RNNBENCH_STRICT_PLUGINS=1   any problem above is fatal instead of reported and skipped.
  RNNBENCH_LOAD_PLUGINS=a,b   load only these entry points (by name); a name that matches
                              no entry point is a ConfigError listing the available ones;
                              an empty value loads none (tests register their own plugins).
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from rnnbench.contract import hookspecs
from rnnbench.contract.errors import ConfigError, PluginError
from rnnbench.contract.extension_specs import DiagnosticSpec, PrunerSpec, SamplerSpec
from rnnbench.contract.params import suggest
from rnnbench.contract.plugin_checks import one_line, plugin_problems
from rnnbench.contract.specs import ModelSpec, TaskSpec

ENTRY_POINT_GROUP = "rnnbench"
#: hook name -> (spec type it registers, registry kind)
HOOKS: dict[str, tuple[type, str]] = {
    "register_models": (ModelSpec, "model"),
    "register_tasks": (TaskSpec, "task"),
    "register_diagnostics": (DiagnosticSpec, "diagnostic"),
    "register_samplers": (SamplerSpec, "sampler"),
    "register_pruners": (PrunerSpec, "pruner"),
}
KINDS = tuple(kind for _, kind in HOOKS.values())


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
    """Models and tasks by name, with their sources, and the problems met loading them.

    failed: the plugins skipped because of a problem, with that problem (one line), so
    that an unknown name can point at the plugin that would have provided it.
    """

    models: dict[str, tuple[ModelSpec, Source]] = field(default_factory=dict)
    tasks: dict[str, tuple[TaskSpec, Source]] = field(default_factory=dict)
    diagnostics: dict[str, tuple[DiagnosticSpec, Source]] = field(default_factory=dict)
    samplers: dict[str, tuple[SamplerSpec, Source]] = field(default_factory=dict)
    pruners: dict[str, tuple[PrunerSpec, Source]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    failed: list[tuple[Source, str]] = field(default_factory=list)

    def table(self, kind: str) -> dict[str, tuple[Any, Source]]:
        """name -> (spec, source) of one kind ("model", "task", "diagnostic", ...)."""
        tables: dict[str, dict[str, tuple[Any, Source]]] = {
            "model": self.models,
            "task": self.tasks,
            "diagnostic": self.diagnostics,
            "sampler": self.samplers,
            "pruner": self.pruners,
        }
        return tables[kind]

    def get(self, kind: str, name: str) -> Any:
        table = self.table(kind)
        if name not in table:
            raise ConfigError(self._unknown(kind, name, table))
        return table[name][0]

    def diagnostic(self, name: str) -> DiagnosticSpec:
        return self.get("diagnostic", name)

    def sampler(self, name: str) -> SamplerSpec:
        return self.get("sampler", name)

    def pruner(self, name: str) -> PrunerSpec:
        return self.get("pruner", name)

    def model(self, name: str) -> ModelSpec:
        if name not in self.models:
            raise ConfigError(self._unknown("model", name, self.models))
        return self.models[name][0]

    def task(self, name: str) -> TaskSpec:
        if name not in self.tasks:
            raise ConfigError(self._unknown("task", name, self.tasks))
        return self.tasks[name][0]

    def source_of(self, kind: str, name: str) -> Source:
        return self.table(kind)[name][1]

    def plugin_label(self, kind: str, name: str) -> str:
        """ "task 'x' (plugin DIST VERSION, entry point 'EP')": how every one-line plugin
        failure names its plugin."""
        source = self.source_of(kind, name)
        return (
            f"{kind} {name!r} (plugin {source.distribution} {source.version}, entry point "
            f"{source.entry_point!r})"
        )

    def _unknown(self, kind: str, name: str, table: Iterable[str]) -> str:
        """'unknown model X' plus the failed plugin that probably provides it, else a
        spelling suggestion and the plugins that failed to load."""
        likely = [(s, why) for s, why in self.failed if _related(name, s)]
        if likely:
            source, why = likely[0]
            return (
                f"unknown {kind} {name!r}: its plugin {source} failed to load and was "
                f"skipped ({why})"
            )
        message = f"unknown {kind} {name!r}{suggest(name, table)}"
        if self.failed:
            listed = "; ".join(f"{s}: {why}" for s, why in self.failed)
            message += f"; plugins that failed to load: {listed}"
        return message


def _related(name: str, source: Source) -> bool:
    """Whether a spec name and an entry point or distribution name look alike
    ('indrnn' and 'rnnbench-indrnn', 'tiny-gru' and 'rnnbench-tiny'): one contains
    the other, once lower-cased, stripped of punctuation and of 'rnnbench'."""

    def norm(text: str) -> str:
        return "".join(c for c in text.lower() if c.isalnum()).replace("rnnbench", "")

    key = norm(name)
    for other in (norm(source.entry_point), norm(source.distribution)):
        if key == other or (min(len(key), len(other)) >= 3 and (key in other or other in key)):
            return bool(key)
    return False


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
        wanted = [n.strip() for n in selected.split(",") if n.strip()]
        available = sorted({ep.name for ep in eps})
        unmatched = [n for n in wanted if n not in available]
        if unmatched:
            raise ConfigError(
                f"RNNBENCH_LOAD_PLUGINS: no entry point named {unmatched[0]!r} in the "
                f"{ENTRY_POINT_GROUP!r} group (available: {', '.join(available) or 'none'})"
            )
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
    problem = one_line(problem)
    if strict():
        raise PluginError(problem)
    problems.append(problem)
    print(f"rnnbench: warning: {problem}", file=sys.stderr)


def _skip(source: Source, problem: str, why: str, registry: Registry) -> None:
    """Report a plugin's problem and remember it as failed (unknown names point here)."""
    registry.failed.append((source, one_line(why)))
    _report(f"plugin {source} {problem}", registry.problems)


def collect(
    pm: pluggy.PluginManager,
    plugins: Iterable[tuple[object, Source]],
    problems: list[str] | None = None,
    failed: list[tuple[Source, str]] | None = None,
) -> Registry:
    """Register each plugin object with `pm`, call its hooks, and build the registry.

    Each plugin's hooks are called on their own, so a failing or duplicating plugin
    is attributed to its own entry point and skipped without touching the others.
    """
    registry = Registry(
        problems=problems if problems is not None else [],
        failed=failed if failed is not None else [],
    )
    for plugin, source in plugins:
        found = plugin_problems(pm, plugin, list(HOOKS))
        if found:
            for problem in found:
                _skip(source, problem, problem, registry)
            continue
        try:
            pm.register(plugin, name=source.entry_point)
            pm.check_pending()
        except (ValueError, pluggy.PluginValidationError) as exc:  # registered twice, or else
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            _skip(source, f"could not be registered: {exc}", str(exc), registry)
            continue
        _call_hooks(pm, plugin, source, registry)
    return registry


def _call_hooks(
    pm: pluggy.PluginManager, plugin: object, source: Source, registry: Registry
) -> None:
    found: dict[str, list] = {kind: [] for kind in KINDS}

    def registrar(kind: str, expected: type) -> Callable[[object], None]:
        def register(spec: object) -> None:
            if not isinstance(spec, expected):
                raise TypeError(
                    f"register() expects a {expected.__name__}, got {type(spec).__name__}"
                )
            found[kind].append(spec)

        return register

    try:
        for hook_name, (spec_type, kind) in HOOKS.items():
            caller = pm.subset_hook_caller(
                hook_name, remove_plugins=[p for p in pm.get_plugins() if p is not plugin]
            )
            caller(register=registrar(kind, spec_type))
    except Exception as exc:  # a plugin's hook raised: report, keep the rest working
        pm.unregister(plugin)
        why = f"{type(exc).__name__}: {exc}"
        _skip(source, f"failed in its hooks: {why}", why, registry)
        return
    if not any(found.values()):
        pm.unregister(plugin)
        _skip(
            source,
            "registered no model or task: its hooks ran but never called register(spec)",
            "it registered nothing",
            registry,
        )
        return
    for kind in KINDS:
        table = registry.table(kind)
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


def load_entry_point_plugins(
    problems: list[str], failed: list[tuple[Source, str]] | None = None
) -> list[tuple[object, Source]]:
    """Import each entry point on its own; report (or, strict, raise) the ones that fail."""
    loaded = []
    for ep in _entry_points():
        source = _source(ep)
        try:
            loaded.append((ep.load(), source))
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            if failed is not None:
                failed.append((source, one_line(why)))
            _report(f"plugin {source} failed to load: {why}", problems)
    return loaded


_cached: Registry | None = None


def get_registry(refresh: bool = False) -> Registry:
    """The process-wide registry, loaded lazily on first use."""
    global _cached
    if _cached is None or refresh:
        problems: list[str] = []
        failed: list[tuple[Source, str]] = []
        plugins = load_entry_point_plugins(problems, failed)
        _cached = collect(make_manager(), plugins, problems, failed)
    return _cached


def reset_registry() -> None:
    global _cached
    _cached = None
