"""Memory horizon: how long a dependency each model learns within a fixed budget.

For every model, sequence length and seed, one run trains for `budget_steps` optimiser
steps on a task whose spec declares a `length_option` and a `solved` criterion (the
built-in adding: MSE < 0.01; copy: recall accuracy >= 99%) and is scored on its test
split. A length counts as solved for a model when at least half of its seeds solve
it; the model's horizon is its largest solved length.

From Python (the CLI `rnnbench horizon` only parses arguments and calls this):

    from rnnbench.sweep.horizon import HorizonStudy, run_horizon
    study = HorizonStudy(models=["rnn", "lstm"], task="adding", lengths=[25, 50],
                         budget_steps=500, seeds=2)
    result = run_horizon(study, tracker)   # tracker: rnnbench.tracking.MlflowTracker
    result.largest_solved                  # {"rnn": None, "lstm": 50}
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import ConfigError
from rnnbench.tracking import schema
from rnnbench.tracking.tables import markdown_table
from rnnbench.training.config import RunConfig


@dataclass
class HorizonPoint:
    model: str
    length: int
    metric: str
    values: list[float] = field(default_factory=list)
    solved: list[bool] = field(default_factory=list)
    baseline: float | None = None
    run_ids: list[str] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else float("nan")

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    @property
    def is_solved(self) -> bool:
        return bool(self.solved) and sum(self.solved) * 2 >= len(self.solved)


def horizon_config(
    registry: Any, study: HorizonStudy, model: str, length: int, seed: int, length_option: str
) -> RunConfig:
    """The run for one (model, length, seed): the study's --set values with the length,
    the seed and a step budget (no early stopping, so every model gets the same budget),
    through `build_run_config` (the path and checks of `rnnbench run`)."""
    from rnnbench.training.config import build_run_config

    sets = study.sets
    train = {
        **sets.get("train", {}),
        "seed": seed,
        "max_steps": study.budget_steps,
        "max_epochs": 10_000,
        "patience": 10_000,
    }
    return build_run_config(
        registry,
        model,
        study.task,
        {
            "model": dict(sets.get("model", {})),
            "task": {**sets.get("task", {}), length_option: length},
            "train": train,
        },
        source="--set",
        results_dir=study.results_dir,
        experiment=study.experiment,
    )


def largest_solved(points: list[HorizonPoint], model: str) -> int | None:
    solved = [p.length for p in points if p.model == model and p.is_solved]
    return max(solved) if solved else None


def table(points: list[HorizonPoint]) -> tuple[list[str], list[list[str]]]:
    header = ["model", "length", "metric", "mean ± std", "solved", "baseline"]
    rows = [
        [
            p.model,
            str(p.length),
            p.metric,
            f"{p.mean:.4f} ± {p.std:.4f}",
            f"{sum(p.solved)}/{len(p.solved)}",
            "" if p.baseline is None else f"{p.baseline:.4f}",
        ]
        for p in points
    ]
    return header, rows


def write_outputs(points: list[HorizonPoint], models: list[str], folder: Path) -> list[Path]:
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    header, rows = table(points)
    csv_path = folder / "horizon.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", "length", "metric", "mean", "std", "solved", "seeds", "baseline"])
        for p in points:
            writer.writerow(
                [
                    p.model,
                    p.length,
                    p.metric,
                    p.mean,
                    p.std,
                    sum(p.solved),
                    len(p.solved),
                    p.baseline,
                ]
            )
    md_path = folder / "horizon.md"
    md_path.write_text(
        markdown_table(header, rows)
        + "\n"
        + markdown_table(
            ["model", "largest solved length"],
            [[m, str(largest_solved(points, m) or "none")] for m in models],
        )
    )
    return [csv_path, md_path, plot(points, models, folder / "horizon.png")]


def plot(points: list[HorizonPoint], models: list[str], path: Path) -> Path:
    from rnnbench.tracking.figures import pyplot, save

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for model in models:
        mine = sorted((p for p in points if p.model == model), key=lambda p: p.length)
        ax.errorbar(
            [p.length for p in mine],
            [p.mean for p in mine],
            yerr=[p.std for p in mine],
            marker="o",
            capsize=3,
            label=model,
        )
    base = sorted({(p.length, p.baseline) for p in points if p.baseline is not None})
    if base:
        ax.plot([b[0] for b in base], [b[1] for b in base], "k--", label="baseline")
    ax.set_xscale("log")
    ax.set_xlabel("sequence length")
    ax.set_ylabel(f"final {points[0].metric}")
    ax.set_title("memory horizon (mean ± std over seeds)")
    ax.legend()
    return save(fig, path)


def summary(points: list[HorizonPoint], models: list[str]) -> dict[str, Any]:
    return {
        "points": [
            {
                "model": p.model,
                "length": p.length,
                "metric": p.metric,
                "mean": p.mean,
                "std": p.std,
                "solved": sum(p.solved),
                "seeds": len(p.solved),
                "baseline": p.baseline,
                "mlflow_run_ids": p.run_ids,
            }
            for p in points
        ],
        "largest_solved": {m: largest_solved(points, m) for m in models},
    }


@dataclass
class HorizonStudy:
    """What `run_horizon` measures: models x lengths x seeds runs of `budget_steps`."""

    models: list[str]
    task: str
    lengths: list[int] = field(default_factory=lambda: [25, 50, 100, 200])
    budget_steps: int = 2000
    seeds: int = 2
    name: str = "horizon"
    sets: dict[str, dict[str, Any]] = field(default_factory=dict)  # --set values by group
    results_dir: Path = Path("results")
    experiment: str = "rnnbench"

    @property
    def runs(self) -> int:
        return len(self.models) * len(self.lengths) * self.seeds


@dataclass
class HorizonResult:
    points: list[HorizonPoint]
    largest_solved: dict[str, int | None]
    files: list[Path]
    parent_run_id: str


def check_task(registry: Any, task: str) -> Any:
    """The task spec, if `horizon` can vary its length and judge it solved."""
    spec = registry.task(task)
    if spec.length_option is None or spec.solved is None:
        usable = sorted(
            name for name, (s, _) in registry.tasks.items() if s.length_option and s.solved
        )
        raise ConfigError(
            f"--task {task}: horizon needs a task that declares a length option "
            f"and a solved criterion ({', '.join(usable)})"
        )
    return spec


def run_horizon(
    study: HorizonStudy, tracker: Any, registry: Any = None, report=lambda line: None
) -> HorizonResult:
    """Every run of `study`, tracked under one parent run; outputs written to
    results_dir/horizon/NAME. Configurations are all checked before the first run."""
    from rnnbench.contract.registry import get_registry
    from rnnbench.tracking.views import horizon_view, write_views
    from rnnbench.training.runner import execute, prepare

    registry = registry or get_registry()
    spec = check_task(registry, study.task)
    if study.budget_steps < 1 or study.seeds < 1 or not study.lengths or min(study.lengths) < 1:
        raise ConfigError("--budget-steps, --seeds and --lengths must be >= 1")
    for model in study.models:  # every configuration checked before the first run
        for length in study.lengths:
            horizon_config(registry, study, model, length, 0, spec.length_option)
    parent = tracker.start_run(
        f"horizon {study.name}",
        schema.tags({schema.ROLE: "horizon", schema.HORIZON: study.name, schema.TASK: study.task}),
        {
            "horizon.models": ",".join(study.models),
            "horizon.lengths": ",".join(map(str, study.lengths)),
            "horizon.budget_steps": study.budget_steps,
            "horizon.seeds": study.seeds,
        },
    )
    points, done = [], 0
    try:
        for model in study.models:
            for length in study.lengths:
                point = HorizonPoint(model, length, f"test_{spec.main_metric}")
                for seed in range(study.seeds):
                    config = horizon_config(
                        registry, study, model, length, seed, spec.length_option
                    )
                    result = execute(
                        prepare(config, registry),
                        registry,
                        tracker,
                        run_name=f"{study.task}/{model} T={length} seed {seed}",
                        parent_run_id=parent,
                        keep_checkpoints=False,
                        extra_tags=schema.tags(
                            {
                                schema.PHASE: "horizon",
                                schema.HORIZON: study.name,
                                schema.LENGTH: length,
                            }
                        ),
                    )
                    point.values.append(result.metrics.get(point.metric, float("nan")))
                    point.solved.append(bool(result.solved))
                    point.baseline = result.baseline
                    point.run_ids.append(str(result.mlflow_run_id))
                    done += 1
                    report(
                        f"[{done}/{study.runs}] {model} T={length} seed {seed}: "
                        f"{point.metric} {point.values[-1]:.4f}"
                        f"{' (solved)' if result.solved else ''}, "
                        f"{result.wall_seconds:.1f} s"
                    )
                points.append(point)
    except BaseException:
        tracker.end_run(parent, "KILLED")
        raise
    files = write_outputs(points, study.models, Path(study.results_dir) / "horizon" / study.name)
    for path in files:
        tracker.log_artifact(parent, path)
    solved = {m: largest_solved(points, m) for m in study.models}
    tracker.log_metrics(parent, {f"largest_solved.{m}": v or 0 for m, v in solved.items()})
    # the MLflow UI's view of this study (its runs, one row per model, ranked)
    view = horizon_view(
        study.name, study.task, parent, f"test_{spec.main_metric}", spec.mode, study.models
    )
    write_views(tracker, [view])
    tracker.end_run(parent, "FINISHED")
    return HorizonResult(points, solved, files, parent)
