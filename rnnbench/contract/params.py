"""Typed hyperparameters: defaults, validation of user values, Optuna search spaces.

A `Param` is the single source of truth for one knob: `--set model.hidden_size=64`
is parsed and checked against it, a sweep samples it from its `space`, and MLflow
logs it under its dotted name. Nothing here imports torch or optuna at module level.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rnnbench.contract.errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class IntRange:
    """Search an integer in [low, high] (inclusive), optionally on a log scale."""

    low: int
    high: int
    log: bool = False
    step: int = 1


@dataclass(frozen=True)
class FloatRange:
    """Search a float in [low, high], optionally on a log scale."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Choice:
    """Search one of a fixed set of values."""

    values: tuple


Space = IntRange | FloatRange | Choice


@dataclass(frozen=True)
class Param:
    """One typed hyperparameter or option.

    type:    int | float | bool | str; user strings are converted to it.
    default: the value when nothing is set; None means "required" when `required`.
    choices: the only accepted values (validation, not search).
    minimum/maximum: inclusive bounds on accepted values (validation, not search).
    space:   what a sweep samples; None means the parameter stays at its value.
    """

    name: str
    type: type
    default: Any
    help: str = ""
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    space: Space | None = None
    nullable: bool = False

    def convert(self, raw: Any, where: str) -> Any:
        """Convert a user value (string from the CLI or a YAML scalar) and validate it."""
        value = raw
        is_null = raw is None or (
            self.nullable and isinstance(raw, str) and raw.lower() in {"none", "null"}
        )
        if is_null:
            if self.nullable:
                return None
            raise ConfigError(f"{where}: expected {self.type_name}, got {raw!r}")
        try:
            if self.type is bool:
                if isinstance(raw, bool):
                    value = raw
                elif str(raw).lower() in _TRUE:
                    value = True
                elif str(raw).lower() in _FALSE:
                    value = False
                else:
                    raise ValueError
            elif self.type is int:
                if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                    raise ValueError
                value = int(raw) if not isinstance(raw, str) else int(raw.strip())
            elif self.type is float:
                if isinstance(raw, bool):
                    raise ValueError
                value = float(raw)
                if not math.isfinite(value):  # nan/inf parse as floats, and pass bounds checks
                    raise ConfigError(f"{where}: expected a finite number, got {raw!r}")
            elif self.type is str:
                if not isinstance(raw, str | int | float):
                    raise ValueError
                value = str(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected {self.type_name}, got {raw!r}") from None
        self.check(value, where)
        return value

    def check(self, value: Any, where: str) -> None:
        if value is None and self.nullable:
            return
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise ConfigError(f"{where}: {value!r} is not one of {allowed}")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{where}: must be >= {_bound(self.minimum)}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"{where}: must be <= {_bound(self.maximum)}, got {value!r}")

    @property
    def type_name(self) -> str:
        name = self.type.__name__
        if self.choices is not None:
            name += " (one of " + ", ".join(map(str, self.choices)) + ")"
        return name


@dataclass(frozen=True)
class ParamSet:
    """An ordered collection of `Param`s with lookup, defaults and validation."""

    params: tuple[Param, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate parameter names: {sorted(dupes)}")

    def __iter__(self):
        return iter(self.params)

    def __contains__(self, name: str) -> bool:
        return any(p.name == name for p in self.params)

    def get(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def __getitem__(self, name: str) -> Param:
        """The Param called `name` (KeyError if there is none)."""
        param = self.get(name)
        if param is None:
            raise KeyError(name)
        return param

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(
        self, values: Mapping[str, Any], prefix: str, source: str = "--set"
    ) -> dict[str, Any]:
        """Defaults overlaid with converted `values`; unknown names are errors with a suggestion."""
        resolved = self.defaults()
        for name, raw in values.items():
            param = self.get(name)
            where = f"{source} {prefix}.{name}"
            if param is None:
                raise ConfigError(f"{where}: unknown option{suggest(name, [p.name for p in self])}")
            resolved[name] = param.convert(raw, where)
        return resolved


def _bound(value: float) -> str:
    """A bound as written: integers in full (4294967295, not 4.29497e+09)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def suggest(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean X?)' suffix for a misspelled name, or a list of valid names."""
    import difflib

    candidates = sorted(candidates)
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    if candidates:
        return f" (known: {', '.join(candidates)})"
    return ""
