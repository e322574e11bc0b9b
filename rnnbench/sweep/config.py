"""The typed sweep configuration: a YAML file overlaid by command-line flags.

The file's keys are declared once, in SCHEMA (typed `SweepKey` entries, as `Param`
declares a run's options): the loader's checks, the flags of `rnnbench sweep`
(rnnbench.cli.sweep_cmd) and the sweep-file reference page (docs/hooks/reference.py,
with a commented example built from each key's `example`) all read it. Among the keys:

    models, tasks                 names, or "all" / "synthetic" for every built-in one
    train                         fixed train.* values (rnnbench.training.config)
    task_options: {TASK: {...}}   fixed task options, by task
    model_params: {MODEL: {...}}  fixed values, or search spaces ({low, high, log} or
                                  {choices: [...]}) overriding the model's own

`build_sweep_config` resolves everything (file, then flags, then --set values) and checks
it before anything is written; the SweepConfig it returns is immutable (frozen; lists
are tuples, mappings read-only). Unknown keys, bad types and unknown names are one-line
errors naming the flag, or the file and line.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rnnbench.contract.errors import ConfigError
from rnnbench.contract.params import Choice, FloatRange, IntRange, Param, Space, suggest
from rnnbench.contract.registry import Registry
from rnnbench.contract.specs import compatibility
from rnnbench.training.budget import COUNTS, check_request
from rnnbench.training.config import TRAIN_PARAMS, parse_sets, selected_diagnostics

# The embedded default benchmark (no --config): a sweep file shipped with the package.
DEFAULT_FILE = Path(__file__).resolve().parent / "defaults" / "default-sweep.yaml"
BUILT_IN = "rnnbench"  # the distribution of the built-in plugins
LOG_MODELS = ("final", "all", "none")  # final: the final seeds; all: search trials too


@dataclass(frozen=True)
class SweepKey:
    """One key of the sweep file: its type, default and help, and its command-line flag.

    `type` is one of str, int, float, bool, Path, list (of names: a YAML list, or a
    comma-separated string as flags give it) and dict (a YAML mapping). Every str and
    Path value must be non-empty. `example` is the YAML value the reference's commented
    example shows."""

    name: str
    type: type
    default: Any
    help: str
    flag: str | None = None  # e.g. "--n-trials"; None: a file key only
    minimum: float | None = None  # int and float keys
    choices: tuple[str, ...] = ()
    nullable: bool = False  # null (or no flag) means "none": no timeout, the default store
    metavar: str | None = None
    example: str = ""

    def check(self, value: Any, where: str) -> Any:
        """The value converted to this key's type (lists as tuples), or a one-line
        ConfigError naming `where` (the flag, or the file and line)."""
        if value is None and self.nullable:
            return None
        kind = str if self.type is Path else self.type
        if self.type is Path and isinstance(value, Path):
            value = str(value)
        if kind is list and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        ok = (isinstance(value, kind) and (kind is bool or not isinstance(value, bool))) or (
            kind is float and isinstance(value, int) and not isinstance(value, bool)
        )
        if not ok:
            raise ConfigError(f"{where}: {self.name} expects {kind.__name__}, got {value!r}")
        if kind is str and not value.strip():
            raise ConfigError(f"{where}: {self.name} is empty")
        if kind is float and not math.isfinite(value):
            raise ConfigError(f"{where}: {self.name} expects a finite number, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{where}: {self.name} must be >= {self.minimum:g}, got {value!r}")
        if self.choices and value not in self.choices:
            raise ConfigError(
                f"{where}: {self.name} must be one of {', '.join(self.choices)}, got {value!r}"
            )
        if kind is list:
            if not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: {self.name} expects a list of names, got {value!r}")
            return tuple(value)
        if self.type is Path:
            return Path(value)
        return float(value) if kind is float else value


SCHEMA: tuple[SweepKey, ...] = (
    SweepKey(
        "name",
        str,
        "default",
        "sweep name; studies are NAME:TASK:MODEL (resumable)",
        flag="--study-name",
        example="my-sweep",
    ),
    SweepKey(
        "models",
        list,
        (),
        "model names, or 'all' (the built-in models)",
        flag="--models",
        example="[lstm, gru]",
    ),
    SweepKey(
        "tasks",
        list,
        (),
        "task names, or 'synthetic' (the built-in synthetic tasks)",
        flag="--tasks",
        example="[adding]",
    ),
    SweepKey(
        "all_installed",
        bool,
        False,
        "'all' and 'synthetic' include installed plugins, not only the built-ins",
        flag="--all-installed",
        example="false",
    ),
    SweepKey(
        "n_trials",
        int,
        4,
        "finished trials per study, across all workers (a global cap); 0: no search, "
        "each pair's fixed configuration",
        flag="--n-trials",
        minimum=0,
        example="8",
    ),
    SweepKey(
        "timeout",
        float,
        None,
        "seconds for the whole search phase",
        flag="--timeout",
        minimum=1,
        nullable=True,
        example="3600",
    ),
    SweepKey(
        "seeds",
        int,
        3,
        "final re-training seeds per (task, model)",
        flag="--seeds",
        minimum=1,
        example="3",
    ),
    SweepKey(
        "storage",
        str,
        None,
        "Optuna storage URL (default: SQLite in the results folder)",
        flag="--storage",
        nullable=True,
        example="sqlite:///results/optuna.db",
    ),
    SweepKey(
        "heartbeat",
        int,
        30,
        "seconds; a worker silent for 3 beats is declared dead",
        minimum=1,
        example="30",
    ),
    SweepKey(
        "sampler",
        str,
        "tpe",
        "Optuna sampler by name (tpe, random, or a plugin's; see `rnnbench list`)",
        flag="--sampler",
        example="tpe",
    ),
    SweepKey(
        "pruner",
        str,
        "median",
        "Optuna pruner by name (median, hyperband, none, or a plugin's)",
        flag="--pruner",
        example="median",
    ),
    SweepKey(
        "search_train",
        list,
        ("lr", "batch_size", "clip_value"),
        "the shared train.* knobs searched",
        example="[lr, batch_size, clip_value]",
    ),
    SweepKey("train", dict, {}, "fixed train.* values", example="{max_epochs: 5}"),
    SweepKey(
        "param_budget",
        int,
        0,
        "size every model's width so that its parameter count is within 5% of this "
        "(train.param_budget; the width is then not searched); 0: no budget",
        flag="--param-budget",
        minimum=0,
        metavar="N",
        example="20000",
    ),
    SweepKey(
        "budget_counts",
        str,
        "recurrent",
        "what the budget counts: recurrent (no embeddings, no task head) or all",
        flag="--budget-counts",
        choices=COUNTS,
        example="recurrent",
    ),
    SweepKey(
        "log_models",
        str,
        "final",
        "runs that log their best weights to MLflow as LoggedModels: final (the final "
        "seeds), all (search trials too) or none",
        flag="--log-models",
        choices=LOG_MODELS,
        example="final",
    ),
    SweepKey(
        "task_options",
        dict,
        {},
        "fixed task options, by task",
        example="{adding: {seq_len: 100}}",
    ),
    SweepKey(
        "model_params",
        dict,
        {},
        "fixed values or search-space overrides, by model",
        example="{lstm: {dropout: {low: 0.0, high: 0.3}}, gru: {num_layers: {choices: [1, 2]}}}",
    ),
    SweepKey(
        "results_dir",
        Path,
        Path("results"),
        "output folder (default ./results)",
        flag="--results-dir",
        example="results",
    ),
    SweepKey(
        "tracking_uri",
        str,
        None,
        "MLflow tracking URI (default: SQLite in the results folder)",
        flag="--tracking-uri",
        nullable=True,
        example="sqlite:///results/mlflow.db",
    ),
    SweepKey(
        "experiment",
        str,
        "rnnbench",
        "MLflow experiment name",
        flag="--experiment",
        example="rnnbench",
    ),
    SweepKey(
        "workers",
        int,
        1,
        "worker processes on this machine sharing the studies (torch threads are split "
        "between them)",
        flag="--workers",
        minimum=1,
        example="1",
    ),
)
KEYS: dict[str, SweepKey] = {key.name: key for key in SCHEMA}
# train.* options a sweep also takes as flags (named as `rnnbench run`'s), over the file's
TRAIN_FLAGS = ("accelerator", "devices", "strategy", "diagnostics")


@dataclass(frozen=True)
class SweepConfig:
    """A resolved, validated sweep (build_sweep_config): one field per SCHEMA key, typed,
    and where the budget was given. Immutable: lists are tuples, mappings read-only."""

    name: str
    models: tuple[str, ...]
    tasks: tuple[str, ...]
    all_installed: bool
    n_trials: int
    timeout: float | None
    seeds: int
    storage: str | None
    heartbeat: int
    sampler: str
    pruner: str
    search_train: tuple[str, ...]
    train: Mapping[str, Any]  # every train.* value (TRAIN_PARAMS), num_threads derived
    param_budget: int
    budget_counts: str
    log_models: str  # LOG_MODELS: which runs log their best weights as MLflow LoggedModels
    task_options: Mapping[str, Mapping[str, Any]]  # every task of the sweep: its options
    model_params: Mapping[str, Mapping[str, Any]]  # every model: fixed values and Spaces
    results_dir: Path  # absolute (created only when the sweep opens its stores)
    tracking_uri: str | None
    experiment: str
    workers: int
    budget_at: str = ""  # where the budget was given, for error lines (not a file key)

    def __post_init__(self) -> None:
        for name in ("models", "tasks", "search_train"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "train", MappingProxyType(dict(self.train)))
        for name in ("task_options", "model_params"):
            nested = {k: MappingProxyType(dict(v)) for k, v in getattr(self, name).items()}
            object.__setattr__(self, name, MappingProxyType(nested))

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
    registry: Registry,
    file: Path | str | None,
    flags: Mapping[str, Any],
    sets: Iterable[str] = (),
) -> SweepConfig:
    """File values (the embedded default benchmark without a file), then flags (not None:
    SCHEMA keys), then `--set KEY=VALUE` items, then the train.* flags of TRAIN_FLAGS on
    top (as `rnnbench run` puts --devices over --set train.devices); everything resolved
    and validated, nothing written.

    --set: train.NAME (and no longer searched), task.NAME on every task of the sweep that
    has the option, model.NAME on every model that has the hyperparameter (a fixed value
    replaces the file's space); a key that nothing of the sweep has is refused."""
    file = Path(file) if file else DEFAULT_FILE
    data, lines = load_file(file)
    source = str(file) if file != DEFAULT_FILE else "the default benchmark"
    given = {k: v for k, v in flags.items() if v is not None and k not in TRAIN_FLAGS}
    train_flags = {k: v for k, v in flags.items() if v is not None and k in TRAIN_FLAGS}
    for key in given:
        if key not in KEYS:
            raise TypeError(f"build_sweep_config: no sweep key {key!r} (flags)")

    def where(*path: str) -> str:
        """The flag that gave a top-level value, else the file and line."""
        if len(path) == 1 and path[0] in given:
            return KEYS[path[0]].flag or f"--{path[0].replace('_', '-')}"
        line = lines.get(tuple(path))
        return f"{source} line {line}" if line else f"{source}"

    for key in data:
        if key not in KEYS:
            raise ConfigError(f"{where(key)}: unknown key {key!r}{suggest(str(key), KEYS)}")
    values = {key.name: key.default for key in SCHEMA}
    for key, value in {**data, **given}.items():
        values[key] = KEYS[key].check(value, where(key))
    for key in ("models", "tasks"):
        if key in data or key in given:
            if not values[key]:
                every = "all" if key == "models" else "synthetic"
                raise ConfigError(
                    f"{where(key)}: {key} is empty; list names, or write "
                    f"`{key}: {every}` for every built-in one"
                )
    check_study_name(values["name"], where("name"))
    _resolve_names(values, registry, where)
    budget_flag = "param_budget" in given
    _resolve_options(values, registry, where, budget_flag)
    sets = list(sets)
    _apply_sets(values, registry, sets)
    for name, value in train_flags.items():  # over the file's and --set's train values
        values["train"][name] = TRAIN_PARAMS[name].convert(value, f"--{name}")
    if "diagnostics" in train_flags:  # where train.diagnostics was given, for error lines
        diagnostics_at = "--diagnostics"
    elif any(item.partition("=")[0].strip() == "train.diagnostics" for item in sets):
        diagnostics_at = "--set train.diagnostics"
    else:
        diagnostics_at = where("train", "diagnostics")
    _check(values, registry, diagnostics_at)
    if values["n_trials"] == 0:
        _check_fixed(values, "--n-trials" if "n_trials" in given else where("n_trials"), where)
    train = values["train"]
    if not train["num_threads"]:  # torch threads split between this machine's workers
        train["num_threads"] = max(1, (os.cpu_count() or 1) // values["workers"])
    values["results_dir"] = values["results_dir"].resolve()  # computed, not created
    config = SweepConfig(**values)
    if not config.pairs(registry):
        raise ConfigError(
            f"{source}: no compatible (task, model) pair among tasks "
            f"{', '.join(config.tasks)} and models {', '.join(config.models)}"
        )
    return config


def _resolve_names(values: dict[str, Any], registry: Registry, where) -> None:
    """models "all", tasks "synthetic" expanded; every name known to the registry."""

    def included(kind: str, name: str) -> bool:
        return values["all_installed"] or registry.source_of(kind, name).distribution == BUILT_IN

    if values["models"] in ((), ("all",)):
        values["models"] = tuple(sorted(n for n in registry.models if included("model", n)))
    if values["tasks"] in ((), ("synthetic",)):
        values["tasks"] = tuple(
            sorted(n for n, (s, _) in registry.tasks.items() if s.synthetic and included("task", n))
        )
    for kind, names, key in (
        ("model", values["models"], "models"),
        ("task", values["tasks"], "tasks"),
        ("sampler", [values["sampler"]], "sampler"),
        ("pruner", [values["pruner"]], "pruner"),
    ):
        for name in names:
            try:
                registry.get(kind, name)
            except ConfigError as exc:
                raise ConfigError(f"{where(key)}: {exc}") from None
    for name in values["search_train"]:
        param = TRAIN_PARAMS.get(name)
        if param is None or param.space is None:
            searchable = [p.name for p in TRAIN_PARAMS if p.space is not None]
            raise ConfigError(
                f"{where('search_train')}: {name!r} is not a searchable train "
                f"option{suggest(name, searchable)}"
            )


def _resolve_options(values: dict[str, Any], registry: Registry, where, budget_flag: bool) -> None:
    """task_options, train and model_params converted and checked against the specs (a
    search space parsed); under --param-budget the file's widths are dropped."""
    for name in values["task_options"]:
        if name not in registry.tasks:
            raise ConfigError(
                f"{where('task_options', name)}: unknown task {name!r}"
                f"{suggest(name, registry.tasks)}"
            )
    values["task_options"] = {
        t: registry.task(t).options.resolve(
            _mapping(values["task_options"].get(t, {}), where("task_options", t)),
            f"task_options.{t}",
            where("task_options", t),
        )
        for t in values["tasks"]
    }
    train = {"progress": False, **_mapping(values["train"], where("train"))}
    values["train"] = TRAIN_PARAMS.resolve(train, "train", where("train"))
    if values["param_budget"]:  # under a search the width is derived, never sampled
        values["train"].update(
            param_budget=values["param_budget"], budget_counts=values["budget_counts"]
        )
    values["budget_at"] = (
        "--param-budget"
        if budget_flag
        else where("param_budget" if values["param_budget"] else "train")
    )
    for model in values["model_params"]:
        if model not in registry.models:
            raise ConfigError(
                f"{where('model_params', model)}: unknown model {model!r}"
                f"{suggest(model, registry.models)}"
            )
    resolved: dict[str, dict[str, Any]] = {}
    for model in values["models"]:
        spec = registry.model(model)
        given = _mapping(values["model_params"].get(model, {}), where("model_params", model))
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
        if values["train"]["param_budget"] and budget_flag and spec.width:
            out.pop(spec.width, None)  # --param-budget overrides the file's widths
        resolved[model] = out
    values["model_params"] = resolved


def _apply_sets(values: dict[str, Any], registry: Registry, items: Iterable[str]) -> None:
    """--set values over the resolved ones (see build_sweep_config)."""
    sets = parse_sets(items)
    for name, raw in sets["train"].items():
        param = TRAIN_PARAMS.get(name)
        if param is None:
            raise ConfigError(f"--set train.{name}: no such train option")
        values["train"][name] = param.convert(raw, f"--set train.{name}")
        values["search_train"] = tuple(n for n in values["search_train"] if n != name)
    for kind, names, spec_of, target in (
        ("task", values["tasks"], lambda n: registry.task(n).options, values["task_options"]),
        ("model", values["models"], lambda n: registry.model(n).params, values["model_params"]),
    ):
        for name, raw in sets[kind].items():
            holders = [n for n in names if spec_of(n).get(name) is not None]
            if not holders:
                raise ConfigError(
                    f"--set {kind}.{name}: no {kind} of this sweep "
                    f"({', '.join(names)}) has {name!r}"
                )
            for holder in holders:
                param = spec_of(holder)[name]
                target.setdefault(holder, {})[name] = param.convert(raw, f"--set {kind}.{name}")


def _check(values: dict[str, Any], registry: Registry, diagnostics_at: str) -> None:
    """What the resolved values must satisfy together: known diagnostics, a parameter
    budget every model can take. (Every pair's whole run configuration is checked by
    `build_run_config` too, before anything is written: rnnbench.sweep.run.check_pairs.)"""
    try:
        selected_diagnostics(registry, values["train"])  # unknown names refused now
    except ConfigError as exc:
        raise ConfigError(f"{diagnostics_at}: {exc}") from None
    train = values["train"]
    if train["param_budget"]:
        for model in values["models"]:
            spec = registry.model(model)
            fixed = values["model_params"].get(model, {})
            check_request(spec, train["budget_counts"], fixed, values["budget_at"])


def _check_fixed(values: dict[str, Any], at: str, where) -> None:
    """n_trials 0 trains each pair's fixed configuration: nothing may be searched."""
    if values["search_train"]:
        raise ConfigError(
            f"{at}: n_trials 0 (no search) cannot search "
            f"{', '.join(values['search_train'])}; set search_train: [] or "
            "n_trials >= 1"
        )
    for model, params in values["model_params"].items():
        for name, value in params.items():
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
