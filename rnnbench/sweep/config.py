"""The typed sweep configuration: a YAML file overlaid by command-line flags.

    name: my-sweep                # studies are named NAME:TASK:MODEL (resumable)
    models: [lstm, gru]           # or "all" (the built-in models)
    tasks: [adding]               # or "synthetic" (the built-in synthetic tasks)
    all_installed: false          # true: "all"/"synthetic" include installed plugins
    n_trials: 8                   # finished trials per study, across all workers
                                  # (0: no search, each pair's fixed configuration)
    timeout: 3600                 # seconds for the whole search phase
    seeds: 3                      # final re-training seeds per (task, model)
    storage: sqlite:///results/optuna.db
    heartbeat: 30                 # seconds; a worker silent for 3 beats is declared dead
    sampler: tpe                  # tpe | random
    pruner: median                # median | hyperband | none
    search_train: [lr, batch_size, clip_value]   # shared knobs searched
    train: {max_epochs: 5}        # fixed train.* values
    param_budget: 20000           # size every model's width to this many parameters (±5%)
    budget_counts: recurrent      # recurrent (no embeddings, no head) | all
    log_models: final             # MLflow LoggedModels: final (seeds) | all (+ trials) | none
    task_options: {adding: {seq_len: 100}}
    model_params:                 # fixed values, or search-space overrides
      lstm: {hidden_size: 64, dropout: {low: 0.0, high: 0.3}}
      gru: {hidden_size: {choices: [32, 64]}}

Unknown keys, bad types and unknown names are one-line errors naming the file and line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import ConfigError
from rnnbench.contract.params import Choice, FloatRange, IntRange, Param, Space, suggest
from rnnbench.contract.registry import Registry
from rnnbench.contract.specs import compatibility
from rnnbench.training.budget import check_request
from rnnbench.training.config import TRAIN_PARAMS, selected_diagnostics

# The embedded default benchmark (no --config): a sweep file shipped with the package.
DEFAULT_FILE = Path(__file__).resolve().parent / "defaults" / "default-sweep.yaml"
BUILT_IN = "rnnbench"  # the distribution of the built-in plugins


@dataclass
class SweepConfig:
    name: str = "default"
    models: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    n_trials: int = 4
    timeout: float | None = None
    seeds: int = 3
    storage: str | None = None
    sampler: str = "tpe"
    pruner: str = "median"
    search_train: list[str] = field(default_factory=lambda: ["lr", "batch_size", "clip_value"])
    train: dict[str, Any] = field(default_factory=dict)
    task_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    results_dir: Path = Path("results")
    tracking_uri: str | None = None
    experiment: str = "rnnbench"
    workers: int = 1
    heartbeat: int = 30
    all_installed: bool = False
    param_budget: int = 0
    budget_counts: str = "recurrent"
    log_models: str = "final"  # which runs log their best weights as MLflow LoggedModels
    budget_at: str = ""  # where the budget was given, for error lines (not a file key)

    def pairs(self, registry: Registry) -> list[tuple[str, str]]:
        """(task, model) pairs to benchmark: every compatible combination."""
        out = []
        for task in self.tasks:
            task_spec = registry.task(task)
            for model in self.models:
                model_spec = registry.model(model)
                fixed = {
                    k: v
                    for k, v in self.model_params.get(model, {}).items()
                    if not isinstance(v, Space)
                }
                hparams = {**model_spec.params.defaults(), **fixed}
                if compatibility(model_spec, task_spec, hparams) is None:
                    out.append((task, model))
        return out


KEYS = {
    "name": str,
    "models": list,
    "tasks": list,
    "n_trials": int,
    "timeout": float,
    "seeds": int,
    "storage": str,
    "sampler": str,
    "pruner": str,
    "search_train": list,
    "train": dict,
    "task_options": dict,
    "model_params": dict,
    "results_dir": str,
    "tracking_uri": str,
    "experiment": str,
    "workers": int,
    "heartbeat": int,
    "all_installed": bool,
    "param_budget": int,
    "budget_counts": str,
    "log_models": str,
}
LOG_MODELS = ("final", "all", "none")  # final: the final seeds; all: search trials too
NON_EMPTY = ("name", "results_dir", "experiment", "storage", "tracking_uri", "sampler", "pruner")
FLAG_NAMES = {"name": "--study-name"}  # file key -> flag, where the two differ
MINIMUM = {"n_trials": 0, "seeds": 1, "timeout": 1, "workers": 1, "heartbeat": 1, "param_budget": 0}


def _lines(text: str) -> dict[tuple, int]:
    """Line number (1-based) of every mapping key, by its path of keys."""
    import yaml

    lines: dict[tuple, int] = {}

    def walk(node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines[(*path, key.value)] = key.start_mark.line + 1
                walk(value, (*path, key.value))

    try:
        walk(yaml.compose(text), ())
    except yaml.YAMLError:
        pass
    return lines


def load_file(path: Path) -> tuple[dict[str, Any], dict[tuple, int]]:
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--config {path}: file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config {path}: cannot read ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: invalid YAML ({problem})") from None
    if data is None:
        raise ConfigError(
            f"{path}: the sweep file is empty; name what to benchmark, e.g. "
            "`models: [lstm, gru]` and `tasks: [adding]` (or `models: all`, "
            "`tasks: synthetic` for every built-in)"
        )
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    check_duplicate_keys(text, path)
    return data, _lines(text)


def check_duplicate_keys(text: str, path: Path) -> None:
    """YAML lets the last of two equal keys win silently; a sweep file refuses them,
    naming both lines."""
    import yaml

    def walk(node, where: str) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise ConfigError(
                        f"{path} line {line}: duplicate key {where + key.value!r} "
                        f"(first at line {seen[key.value]})"
                    )
                seen[key.value] = line
                walk(value, f"{where}{key.value}.")
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item, where)

    walk(yaml.compose(text), "")


STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_study_name(name: str, at: str) -> None:
    """A sweep name becomes part of study names and of the leaderboard's file names:
    letters, digits, '.', '_' and '-', starting with a letter or digit, at most 100."""
    if not STUDY_NAME.fullmatch(name) or ".." in name:
        raise ConfigError(
            f"{at}: sweep name {name!r} is not a safe name (letters, digits, "
            "'.', '_', '-'; starting with a letter or digit; no path "
            "separators; at most 100 characters)"
        )


def build_sweep_config(
    registry: Registry, file: Path | None, flags: Mapping[str, Any]
) -> SweepConfig:
    """File values (the embedded default benchmark without a file), then flags (not None)
    on top; everything validated, nothing written."""
    file = Path(file) if file else DEFAULT_FILE
    data, lines = load_file(file)
    source = str(file) if file != DEFAULT_FILE else "the default benchmark"

    given = {k for k, v in flags.items() if v is not None}

    def where(*path: str) -> str:
        """The flag that gave a top-level value, else the file and line."""
        if len(path) == 1 and path[0] in given:
            return FLAG_NAMES.get(path[0], f"--{path[0].replace('_', '-')}")
        line = lines.get(tuple(path))
        return f"{source} line {line}" if line else f"{source}"

    for key in data:
        if key not in KEYS:
            raise ConfigError(f"{where(key)}: unknown key {key!r}{suggest(str(key), KEYS)}")
    merged = {**data, **{k: v for k, v in flags.items() if v is not None}}
    for key, value in merged.items():
        merged[key] = _check_type(key, value, where(key))
    for key in ("models", "tasks"):
        if key in merged and not merged[key]:
            every = "all" if key == "models" else "synthetic"
            raise ConfigError(
                f"{where(key)}: {key} is empty; list names, or write "
                f"`{key}: {every}` for every built-in one"
            )
    check_study_name(str(merged.get("name", "default")), where("name"))
    config = SweepConfig(
        **{k: v for k, v in merged.items() if k != "results_dir"},
        results_dir=Path(merged.get("results_dir", "results")),
    )
    _resolve_names(config, registry, where)
    _resolve_options(config, registry, where, budget_flag=flags.get("param_budget") is not None)
    if config.n_trials == 0:
        _check_fixed(
            config, "--n-trials" if flags.get("n_trials") is not None else where("n_trials"), where
        )
    if not config.pairs(registry):
        raise ConfigError(
            f"{source}: no compatible (task, model) pair among tasks "
            f"{', '.join(config.tasks)} and models {', '.join(config.models)}"
        )
    return config


def _check_type(key: str, value: Any, where: str) -> Any:
    kind = KEYS[key]
    if value is None and key in ("timeout", "storage", "tracking_uri"):
        return None
    if kind is list and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    ok = (isinstance(value, kind) and (kind is bool or not isinstance(value, bool))) or (
        kind is float and isinstance(value, int) and not isinstance(value, bool)
    )
    if not ok:
        raise ConfigError(f"{where}: {key} expects {kind.__name__}, got {value!r}")
    if kind is str and key in NON_EMPTY and not value.strip():
        raise ConfigError(f"{where}: {key} is empty")
    if key == "log_models" and value not in LOG_MODELS:
        raise ConfigError(
            f"{where}: log_models must be one of {', '.join(LOG_MODELS)}, got {value!r}"
        )
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{where}: {key} expects a finite number, got {value!r}")
    if key in MINIMUM and value < MINIMUM[key]:
        raise ConfigError(f"{where}: {key} must be >= {MINIMUM[key]}, got {value!r}")
    return float(value) if kind is float else value


def _resolve_names(config: SweepConfig, registry: Registry, where) -> None:
    def included(kind: str, name: str) -> bool:
        return config.all_installed or registry.source_of(kind, name).distribution == BUILT_IN

    if not config.models or config.models == ["all"]:
        config.models = sorted(n for n in registry.models if included("model", n))
    if not config.tasks or config.tasks == ["synthetic"]:
        config.tasks = sorted(
            n for n, (s, _) in registry.tasks.items() if s.synthetic and included("task", n)
        )
    for kind, names, key in (
        ("model", config.models, "models"),
        ("task", config.tasks, "tasks"),
        ("sampler", [config.sampler], "sampler"),
        ("pruner", [config.pruner], "pruner"),
    ):
        for name in names:
            try:
                registry.get(kind, name)
            except ConfigError as exc:
                raise ConfigError(f"{where(key)}: {exc}") from None
    for name in config.search_train:
        param = TRAIN_PARAMS.get(name)
        if param is None or param.space is None:
            searchable = [p.name for p in TRAIN_PARAMS if p.space is not None]
            raise ConfigError(
                f"{where('search_train')}: {name!r} is not a searchable train "
                f"option{suggest(name, searchable)}"
            )


def _resolve_options(
    config: SweepConfig, registry: Registry, where, budget_flag: bool = False
) -> None:
    for name in config.task_options:
        if name not in registry.tasks:
            raise ConfigError(
                f"{where('task_options', name)}: unknown task {name!r}"
                f"{suggest(name, registry.tasks)}"
            )
    config.task_options = {
        t: registry.task(t).options.resolve(
            _mapping(config.task_options.get(t, {}), where("task_options", t)),
            f"task_options.{t}",
            where("task_options", t),
        )
        for t in config.tasks
    }
    train = {"progress": False, **_mapping(config.train, where("train"))}
    config.train = TRAIN_PARAMS.resolve(train, "train", where("train"))
    if config.param_budget:  # under a search the width is derived, never sampled
        config.train.update(param_budget=config.param_budget, budget_counts=config.budget_counts)
    config.budget_at = (
        "--param-budget"
        if budget_flag
        else where("param_budget" if config.param_budget else "train")
    )
    selected_diagnostics(registry, config.train)  # unknown names refused now
    resolved: dict[str, dict[str, Any]] = {}
    for model in config.model_params:
        if model not in registry.models:
            raise ConfigError(
                f"{where('model_params', model)}: unknown model {model!r}"
                f"{suggest(model, registry.models)}"
            )
    for model in config.models:
        spec = registry.model(model)
        given = _mapping(config.model_params.get(model, {}), where("model_params", model))
        out: dict[str, Any] = {}
        for name, value in given.items():
            at = where("model_params", model, name)
            param = spec.params.get(name)
            if param is None:
                raise ConfigError(
                    f"{at}: model {model!r} has no hyperparameter {name!r}"
                    f"{suggest(name, [p.name for p in spec.params])}"
                )
            out[name] = (
                parse_space(param, value, at)
                if isinstance(value, dict)
                else param.convert(value, f"{at}: model_params.{model}.{name}")
            )
        resolved[model] = out
        if config.train["param_budget"]:
            if budget_flag and spec.width:  # --param-budget overrides the file's widths
                out.pop(spec.width, None)
            check_request(spec, config.train["budget_counts"], out, config.budget_at)
    config.model_params = resolved


def _check_fixed(config: SweepConfig, at: str, where) -> None:
    """n_trials 0 trains each pair's fixed configuration: nothing may be searched."""
    if config.search_train:
        raise ConfigError(
            f"{at}: n_trials 0 (no search) cannot search "
            f"{', '.join(config.search_train)}; set search_train: [] or "
            "n_trials >= 1"
        )
    for model, values in config.model_params.items():
        for name, value in values.items():
            if isinstance(value, Space):
                raise ConfigError(
                    f"{where('model_params', model, name)}: n_trials 0 (no "
                    f"search) needs a fixed value for {model}.{name}, not a "
                    "search space"
                )


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {value!r}")
    return value


def parse_space(param: Param, spec: dict, where: str) -> Space:
    """{choices: [...]} or {low: x, high: y, log: bool} -> a search space for `param`."""
    label = f"{where}: search space for {param.name}"
    if set(spec) == {"choices"}:
        values = spec["choices"]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{label}: choices must be a non-empty list")
        return Choice(tuple(param.convert(v, label) for v in values))
    unknown = set(spec) - {"low", "high", "log"}
    if unknown or not {"low", "high"} <= set(spec):
        raise ConfigError(
            f"{label}: expected {{choices: [...]}} or {{low, high, log}}, "
            f"got keys {', '.join(map(str, spec))}"
        )
    if param.type not in (int, float):
        raise ConfigError(f"{label}: a range needs a numeric hyperparameter")
    low, high = param.convert(spec["low"], label), param.convert(spec["high"], label)
    if low > high:
        raise ConfigError(f"{label}: low {low} is greater than high {high}")
    log = bool(spec.get("log", False))
    return IntRange(low, high, log) if param.type is int else FloatRange(low, high, log)
