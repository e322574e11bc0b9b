"""Sizing a model to a parameter budget (`--param-budget N`, `param_budget:`).

The model spec names the hyperparameter that sets its width (`ModelSpec.width`); for a
task's `ModelContext` and head and the other hyperparameters held fixed, the width is
found by bisection over 1..MAX_WIDTH (the width parameter's own minimum and maximum
narrow that range), with every candidate built on torch's `meta` device: shapes only,
no parameter memory, no initialisation work.

What counts (the leaderboard's caption, `budget_counts`):
    recurrent (default): trainable parameters (requires_grad) of the model and the
        task's head, each shared tensor once, EXCEPT the parameters of every
        torch.nn.Embedding module inside the model (token embeddings; a memory
        network's A/C matrices) and all parameters of the task's head (the output
        layer, D -> classes or vocabulary). Those scale with the vocabulary and the
        label set, not with the architecture.
    all: every trainable parameter of the model and the head (the leaderboard's
        `params`).

A width is accepted when its count is within TOLERANCE (5%) of the budget; a budget
outside what the widths reach, or falling between two adjacent widths' counts, is a
one-line ConfigError naming the model and the reachable range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rnnbench.contract.errors import ConfigError, plugin_call
from rnnbench.contract.specs import ModelContext, ModelSpec

COUNTS = ("recurrent", "all")
TOLERANCE = 0.05  # relative: |count - budget| <= TOLERANCE * budget
MAX_WIDTH = 8192  # the sane cap on any width (an 8192-unit LSTM has 537M recurrent weights)


@dataclass(frozen=True)
class BudgetFit:
    """The derived width and the parameter count it gives (under `counts`)."""

    width_param: str  # e.g. "hidden_size"
    width: int
    count: int  # budgeted parameters at `width`
    budget: int
    counts: str  # "recurrent" or "all"


def budgeted_count(model: Any, head: Any, counts: str = "recurrent") -> int:
    """Trainable parameters of model + head under the counting rule above (each shared
    tensor once); works on meta and real tensors alike."""
    import torch

    excluded: set[int] = set()
    if counts == "recurrent":
        excluded |= {id(p) for p in head.parameters()}
        for module in model.modules():
            if isinstance(module, torch.nn.Embedding):
                excluded |= {id(p) for p in module.parameters()}
    seen: dict[int, int] = {}
    for p in (*model.parameters(), *head.parameters()):
        if p.requires_grad and id(p) not in excluded:
            seen[id(p)] = p.numel()
    return sum(seen.values())


def build_on_meta(
    spec: ModelSpec,
    context: ModelContext,
    head_factory: Callable[[int], Any],
    hparams: Mapping[str, Any],
) -> tuple[Any, Any]:
    """(model, head) with every parameter on the meta device (no storage allocated);
    torch's RNG state is restored (a builder may draw from it, e.g. for a CPU buffer),
    so a seeded run trains as it would with its width fixed by hand."""
    import torch

    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        model = spec.builder(context, **hparams)
        head = head_factory(model.output_size)
    return model, head


def check_request(spec: ModelSpec, counts: str, fixed: Iterable[str], at: str) -> None:
    """Refuse, before anything is built, a budget the model cannot take: no declared
    width, a width that is no int hyperparameter, or a width fixed by the user (`fixed`:
    the hyperparameter names given a value or a search space)."""
    if counts not in COUNTS:
        raise ConfigError(f"{at}: budget_counts must be one of {', '.join(COUNTS)}, got {counts!r}")
    if spec.width is None:
        raise ConfigError(
            f"{at}: model {spec.name!r} declares no width (ModelSpec.width), "
            "so it cannot be sized to a parameter budget"
        )
    param = spec.params.get(spec.width)
    if param is None or param.type is not int:
        raise ConfigError(
            f"{at}: model {spec.name!r} declares width={spec.width!r}, which "
            "is not one of its int hyperparameters"
        )
    if spec.width in set(fixed):
        raise ConfigError(
            f"{at}: model {spec.name!r}: {spec.width} is derived from the "
            f"parameter budget; do not also set model.{spec.width}"
        )


def fit_width(
    spec: ModelSpec,
    context: ModelContext,
    head_factory: Callable[[int], Any],
    hparams: Mapping[str, Any],
    budget: int,
    counts: str = "recurrent",
    task: str = "",
) -> BudgetFit:
    """The width whose count is closest to `budget`, within TOLERANCE; `hparams` are the
    other hyperparameters (any value given for the width is ignored)."""
    check_request(spec, counts, (), f"param_budget {budget:,}")
    assert spec.width is not None  # checked by check_request
    width_param = spec.width
    param = spec.params[width_param]
    low = max(1, int(param.minimum or 1))
    high = min(MAX_WIDTH, int(param.maximum) if param.maximum is not None else MAX_WIDTH)
    others = {k: v for k, v in hparams.items() if k != spec.width}
    cache: dict[int, int] = {}

    def count(width: int) -> int:
        if width not in cache:
            model, head = build_on_meta(spec, context, head_factory, {**others, width_param: width})
            cache[width] = budgeted_count(model, head, counts)
        return cache[width]

    where = (
        f"param_budget {budget:,} ({counts} parameters): model {spec.name!r}"
        f"{f' on task {task!r}' if task else ''}"
    )
    if budget < count(low) * (1 - TOLERANCE) or budget > count(high) * (1 + TOLERANCE):
        raise ConfigError(
            f"{where} reaches {count(low):,}..{count(high):,} ({spec.width} "
            f"{low}..{high}, other hyperparameters as given)"
        )
    lo, hi = low, high  # invariant: count(hi) >= budget or hi == high
    while lo < hi:
        mid = (lo + hi) // 2
        if count(mid) >= budget:
            hi = mid
        else:
            lo = mid + 1
    best = min({max(low, lo - 1), lo}, key=lambda w: (abs(count(w) - budget), w))
    if abs(count(best) - budget) > TOLERANCE * budget:
        raise ConfigError(
            f"{where}: no width within {TOLERANCE:.0%} ({spec.width}="
            f"{max(low, lo - 1)} gives {count(max(low, lo - 1)):,}, {lo} gives "
            f"{count(lo):,})"
        )
    return BudgetFit(spec.width, best, count(best), budget, counts)


def fit_budget(config: Any, spec: ModelSpec, task: Any) -> BudgetFit | None:
    """With `train.param_budget` > 0: the width for the prepared `task`, derived from the
    other model hyperparameters (the caller makes the config that holds it:
    `RunConfig.with_derived`); else None."""
    budget = config.train.get("param_budget", 0)
    if not budget:
        return None
    return fit_width(
        spec,
        task.context(),
        task.head,
        config.model_params,
        budget,
        config.train.get("budget_counts", "recurrent"),
        config.task,
    )


def fit_for_config(config: Any, registry: Any) -> BudgetFit | None:
    """The budget check of one run configuration before anything is written: builds the
    task's data (as the run would) and fits the width on a copy of its hyperparameters."""
    budget = config.train.get("param_budget", 0)
    if not budget:
        return None
    task_spec = registry.task(config.task)
    label = registry.plugin_label("task", config.task)
    task = plugin_call(
        label,
        "its factory",
        task_spec.factory,
        dict(config.task_options),
        batch_size=config.train["batch_size"],
        seed=config.train["seed"],
    )
    plugin_call(label, "Task.prepare()", task.prepare)
    return fit_width(
        registry.model(config.model),
        task.context(),
        task.head,
        dict(config.model_params),
        budget,
        config.train.get("budget_counts", "recurrent"),
        config.task,
    )
