"""What a sweep cost, by model: the CPU (and GPU) time of all its tracked runs, and a
chart of each leaderboard row's score against its training time per seed.

CPU time is measured, not estimated: every run logs `cpu_seconds`, the CPU time of the
process that ran it (time.process_time: every thread of that process, user and system;
DataLoader worker processes and the ranks that DDP re-launches are not included), and
`gpu_seconds`, its wall time × devices when it finished training on a CUDA device
(device time held, not kernel time; a failed or pruned run logs no GPU time). Search trials (complete, pruned and failed) and final seeds all
count; a run that logged no `cpu_seconds` (its worker died, or an older rnnbench ran it)
is counted under `unmeasured`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnbench.tracking import schema
from rnnbench.tracking.tables import markdown_table, text_table


@dataclass
class ModelCost:
    model: str
    runs: int = 0
    unmeasured: int = 0  # runs without a cpu_seconds metric
    search_cpu: float = 0.0  # seconds
    final_cpu: float = 0.0  # seconds
    gpu: float = 0.0  # device-seconds

    @property
    def cpu(self) -> float:
        return self.search_cpu + self.final_cpu


def _seconds(run: Any, key: str) -> float | None:
    value = run.metrics.get(key)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def costs(runs: list) -> list[ModelCost]:
    """Per model (name order), the summed cost of the sweep's trial and seed runs."""
    out: dict[str, ModelCost] = defaultdict(lambda: ModelCost(""))
    for run in runs:
        model = schema.MODEL.read(run.tags)
        if schema.ROLE.read(run.tags) == "sweep" or model is None:
            continue
        cost = out[model]
        cost.model = model
        cost.runs += 1
        cpu = _seconds(run, "cpu_seconds")
        if cpu is None:
            cost.unmeasured += 1
            continue
        if schema.PHASE.read(run.tags) == "search":
            cost.search_cpu += cpu
        else:
            cost.final_cpu += cpu
        cost.gpu += _seconds(run, "gpu_seconds") or 0.0
    return [out[m] for m in sorted(out)]


def costs_of_sweep(tracker: Any, sweep: str) -> list[ModelCost]:
    return costs(tracker.find_runs(schema.tags({schema.SWEEP: sweep})))


def duration(seconds: float) -> str:
    if seconds < 600:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 36000 else f"{seconds / 3600:.1f} h"


def _table(rows: list[ModelCost]) -> tuple[list[str], list[list[str]]]:
    gpu = any(c.gpu for c in rows)
    header = [
        "model",
        "runs",
        "search CPU",
        "final CPU",
        "total CPU",
        *(["GPU"] if gpu else []),
        "unmeasured",
    ]
    body = [
        [
            c.model,
            str(c.runs),
            duration(c.search_cpu),
            duration(c.final_cpu),
            duration(c.cpu),
            *([duration(c.gpu)] if gpu else []),
            str(c.unmeasured) if c.unmeasured else "",
        ]
        for c in rows
    ]
    total = sum(c.cpu for c in rows)
    body.append(
        [
            "all",
            str(sum(c.runs for c in rows)),
            duration(sum(c.search_cpu for c in rows)),
            duration(sum(c.final_cpu for c in rows)),
            duration(total),
            *([duration(sum(c.gpu for c in rows))] if gpu else []),
            str(unmeasured) if (unmeasured := sum(c.unmeasured for c in rows)) else "",
        ]
    )
    return header, body


CAPTION = (
    "CPU time is the measured process CPU time (every thread, user + system) of each "
    "run, summed over the sweep's search trials and final seeds; GPU time is wall time "
    "× devices of runs on CUDA; `unmeasured` runs logged no CPU time.\n"
)


def markdown(rows: list[ModelCost]) -> str:
    if not rows:
        return ""
    header, body = _table(rows)
    return f"## Cost by model\n\n{markdown_table(header, body)}\n{CAPTION}"


def terminal(rows: list[ModelCost]) -> str:
    if not rows:
        return ""
    header, body = _table(rows)
    return "cost by model (measured process CPU time)\n" + text_table(
        header, body, indent="  ", right=tuple(range(1, len(header)))
    )


def plot(rows: list[dict], folder: Path) -> list[Path]:
    """cost-TASK.png per task: each leaderboard row's mean score (± std) against its mean
    training wall time per seed, one point per row; an axis is logarithmic when its
    values span more than two orders of magnitude."""
    from rnnbench.tracking.figures import log_axis, pyplot, save

    plt = pyplot()

    paths = []
    for task in dict.fromkeys(r["task"] for r in rows):
        items = [
            r
            for r in rows
            if r["task"] == task and not math.isnan(r["mean"]) and r["train_seconds"]
        ]
        if not items:
            continue
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        for r in items:
            ax.errorbar(
                r["train_seconds"],
                r["mean"],
                yerr=r["std"] or 0.0,
                fmt="o",
                capsize=3,
                label=r["model"],
            )
            ax.annotate(
                r["model"],
                (r["train_seconds"], r["mean"]),
                fontsize=8,
                xytext=(4, 4),
                textcoords="offset points",
            )
        if items[0]["baseline"] is not None:
            ax.axhline(items[0]["baseline"], color="#c44e52", linestyle="--", label="baseline")
        if log_axis([r["train_seconds"] for r in items]):
            ax.set_xscale("log")
        if log_axis([r["mean"] for r in items]):
            ax.set_yscale("log")
        arrow = "↓" if items[0]["mode"] == "min" else "↑"
        ax.set_xlabel("wall time per seed, training and evaluation (s)")
        ax.set_ylabel(f"{items[0]['metric']} {arrow}")
        ax.set_title(f"{task}: score against training time", fontsize=9)
        ax.legend(loc="best", fontsize=8)
        path = folder / f"cost-{task}.png"
        save(fig, path)
        paths.append(path)
    return paths
