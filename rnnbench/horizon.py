"""Memory horizon: how long a dependency each model learns within a fixed budget.

For every model, sequence length and seed, one run trains for `budget_steps` optimiser
steps on a synthetic task and is scored on its test split with the task's own
criterion (adding: MSE < 0.01; copy: recall accuracy >= 99%). A length counts as
solved for a model when at least half of its seeds solve it; the model's horizon is
its largest solved length.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnbench.config import RunConfig


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


def horizon_config(base: RunConfig, length: int, seed: int, budget_steps: int,
                   results_dir: Path) -> RunConfig:
    """The run for one (model, length, seed): the base config with the length, the seed
    and a step budget (no early stopping, so every model gets the same budget)."""
    task_options = {**base.task_options, "seq_len": length}
    train = {**base.train, "seed": seed, "max_steps": budget_steps, "max_epochs": 10_000,
             "patience": 10_000}
    return RunConfig(model=base.model, task=base.task, model_params=dict(base.model_params),
                     task_options=task_options, train=train, results_dir=results_dir,
                     experiment=base.experiment)


def largest_solved(points: list[HorizonPoint], model: str) -> int | None:
    solved = [p.length for p in points if p.model == model and p.is_solved]
    return max(solved) if solved else None


def table(points: list[HorizonPoint]) -> tuple[list[str], list[list[str]]]:
    header = ["model", "length", "metric", "mean ± std", "solved", "baseline"]
    rows = [[p.model, str(p.length), p.metric, f"{p.mean:.4f} ± {p.std:.4f}",
             f"{sum(p.solved)}/{len(p.solved)}",
             "" if p.baseline is None else f"{p.baseline:.4f}"] for p in points]
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
            writer.writerow([p.model, p.length, p.metric, p.mean, p.std, sum(p.solved),
                             len(p.solved), p.baseline])
    md_path = folder / "horizon.md"
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", "| model | largest solved length |", "|---|---|"]
    lines += [f"| {m} | {largest_solved(points, m) or 'none'} |" for m in models]
    md_path.write_text("\n".join(lines) + "\n")
    return [csv_path, md_path, plot(points, models, folder / "horizon.png")]


def plot(points: list[HorizonPoint], models: list[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for model in models:
        mine = sorted((p for p in points if p.model == model), key=lambda p: p.length)
        ax.errorbar([p.length for p in mine], [p.mean for p in mine],
                    yerr=[p.std for p in mine], marker="o", capsize=3, label=model)
    base = sorted({(p.length, p.baseline) for p in points if p.baseline is not None})
    if base:
        ax.plot([b[0] for b in base], [b[1] for b in base], "k--", label="baseline")
    ax.set_xscale("log")
    ax.set_xlabel("sequence length")
    ax.set_ylabel(f"final {points[0].metric}")
    ax.set_title("memory horizon (mean ± std over seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def summary(points: list[HorizonPoint], models: list[str]) -> dict[str, Any]:
    return {
        "points": [{"model": p.model, "length": p.length, "metric": p.metric, "mean": p.mean,
                    "std": p.std, "solved": sum(p.solved), "seeds": len(p.solved),
                    "baseline": p.baseline, "mlflow_run_ids": p.run_ids} for p in points],
        "largest_solved": {m: largest_solved(points, m) for m in models},
    }
