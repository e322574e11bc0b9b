"""The leaderboard, rebuilt from tracked runs alone: final-phase runs grouped by (task, model).

This package's own module holds the rows (the data every form shows); its submodules
present them:

    text    the rows as terminal text, Markdown, CSV and JSON; the sweep run's description
    files   the files of a sweep's leaderboard: CSV, Markdown, one PNG bar chart per task

For each pair the newest group of final runs (the latest best trial's seeds) is
summarised: mean and standard deviation over seeds of the task's main test metric,
the trivial baseline, `solved` seeds, diverged seeds, parameter count, optimiser steps,
training time and throughput, and the winning hyperparameters. Within a task, rows are
ranked by mean (direction from the task's mode); the leader is marked; every row is
compared with the baseline, and the leader with the runner-up (see rnnbench.tracking.stats).

A row is "at baseline" when the one-sample test over its seeds cannot tell it from the
baseline at ALPHA (or its mean equals it), "worse" when it can and the mean is on the
wrong side, "better" when it can and the mean is on the right side.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

from rnnbench.tracking import schema, stats

ALPHA = 0.05  # significance level of every "beats" statement

# The flat columns of leaderboard.csv / --format json, in order.
COLUMNS = (
    "task",
    "rank",
    "model",
    "metric",
    "direction",
    "unit",
    "mean",
    "std",
    "seeds",
    "values",
    "baseline",
    "baseline_name",
    "vs_baseline",
    "p_vs_baseline",
    "solved",
    "diverged",
    "p_vs_runner_up",
    "params",
    "budget_params",
    "steps",
    "train_seconds",
    "throughput",
    "throughput_unit",
    "best_trial",
    "hparams",
)

SEARCHED_TRAIN = ("train.lr", "train.batch_size", "train.clip_value")


def final_runs(tracker: Any, sweep: str | None = None) -> list:
    """FINISHED final-phase RunRecords of one sweep (all sweeps when None)."""
    tags = schema.tags({schema.PHASE: "final", schema.SWEEP: sweep})  # None: every sweep
    return tracker.find_runs(tags, status="FINISHED")


def sweep_runs(tracker: Any) -> list:
    """The sweeps' parent RunRecords, newest first."""
    return tracker.find_runs(schema.tags({schema.ROLE: "sweep"}), newest_first=True)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def summarise(task: str, model: str, members: list) -> dict[str, Any] | None:
    """One row from the final runs of one best configuration (one run per seed)."""
    tags = members[0].tags
    metric = f"test_{schema.MAIN_METRIC.read(tags, 'loss')}"
    diverged = sum(schema.DIVERGED.read(r.tags, False) for r in members)
    values = [
        r.metrics[metric]
        for r in members
        if _finite(r.metrics.get(metric)) and not schema.DIVERGED.read(r.tags, False)
    ]
    if not values and not diverged:
        return None
    solved = [schema.SOLVED.read(r.tags) for r in members]  # True, False or None (no criterion)

    def mean_of(key: str) -> float | None:
        found = [r.metrics[key] for r in members if _finite(r.metrics.get(key))]
        return statistics.fmean(found) if found else None

    params = members[0].params
    mode = schema.MODE.read(tags, "min")
    return {
        "task": task,
        "model": model,
        "metric": metric,
        "mode": mode,
        "direction": "lower" if mode == "min" else "higher",
        "unit": schema.UNIT.read(tags, ""),
        "mean": statistics.fmean(values) if values else math.nan,
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "seeds": len(members),
        "values": values,
        "baseline": members[0].metrics.get("baseline"),
        "baseline_name": schema.BASELINE_NAME.read(tags, ""),
        "evaluation": schema.EVALUATION.read(tags, ""),
        "solved": (
            f"{sum(s is True for s in solved)}/{len(solved)}"
            if any(s is not None for s in solved)
            else ""
        ),
        "diverged": diverged,
        "params": int(members[0].metrics.get("params", 0)),
        # sized to a parameter budget (rnnbench.training.budget): the count under its rule
        "budget_params": (
            int(members[0].metrics["budget_params"])
            if _finite(members[0].metrics.get("budget_params"))
            else None
        ),
        "param_budget": params.get("train.param_budget"),
        "budget_counts": params.get("train.budget_counts"),
        "steps": mean_of("steps"),
        "train_seconds": mean_of("wall_seconds"),
        "throughput": mean_of("throughput") or 0.0,
        "throughput_unit": schema.THROUGHPUT_UNIT.read(tags, "samples"),
        "best_trial": schema.BEST_TRIAL.read(tags),
        "hparams": {
            k: v for k, v in sorted(params.items()) if k.startswith("model.") or k in SEARCHED_TRAIN
        },
    }


def current_finals(runs: list) -> dict[tuple[str, str], list]:
    """(task, model) -> the final runs that its leaderboard row summarises: those of the
    newest best trial (a resumed sweep's earlier best trial's seeds are left out)."""
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for run in runs:
        groups[(schema.TASK.read(run.tags), schema.MODEL.read(run.tags))].append(run)
    out = {}
    for pair, members in groups.items():
        newest = schema.BEST_TRIAL.read(max(members, key=lambda r: r.start_time).tags)
        out[pair] = [r for r in members if schema.BEST_TRIAL.read(r.tags) == newest]
    return out


def build_rows(runs: list) -> list[dict[str, Any]]:
    """Ranked, annotated rows, grouped by task (tasks in name order)."""
    by_task: dict[str, list[dict]] = defaultdict(list)
    for (task, model), members in current_finals(runs).items():
        row = summarise(task, model, members)
        if row is not None:
            by_task[task].append(row)
    rows: list[dict[str, Any]] = []
    for task in sorted(by_task):
        rows.extend(rank(by_task[task]))
    return rows


def better(a: float, b: float, mode: str) -> bool:
    return a < b if mode == "min" else a > b


def rank(rows: list[dict]) -> list[dict]:
    """Sort one task's rows best first (diverged-only rows last) and annotate them."""
    mode = rows[0]["mode"]
    sign = 1.0 if mode == "min" else -1.0
    rows = sorted(
        rows,
        key=lambda r: (
            math.isnan(r["mean"]),
            sign * r["mean"] if not math.isnan(r["mean"]) else 0.0,
            r["model"],
        ),
    )
    for position, row in enumerate(rows, start=1):
        row["rank"] = position
        row["winner"] = position == 1 and not math.isnan(row["mean"])
        row["vs_baseline"], row["p_vs_baseline"] = compare_with_baseline(row)
        row["p_vs_runner_up"] = None
    if len(rows) > 1 and rows[0]["winner"] and not math.isnan(rows[1]["mean"]):
        test = stats.welch(rows[0]["values"], rows[1]["values"])
        rows[0]["p_vs_runner_up"] = None if test is None else test.p_value
    return rows


def compare_with_baseline(row: dict) -> tuple[str, float | None]:
    """("better" | "at" | "worse" | "", p-value of the one-sample test or None)."""
    baseline, mean = row["baseline"], row["mean"]
    if baseline is None or math.isnan(mean):
        return "", None
    test = stats.one_sample(row["values"], baseline)
    p = None if test is None else test.p_value
    if not better(mean, baseline, row["mode"]):
        # worse only when the seeds tell it apart from the baseline
        return ("worse" if p is not None and p < ALPHA and mean != baseline else "at"), p
    if p is not None and p >= ALPHA:
        return "at", p
    return "better", p


def margin_in_stds(row: dict) -> float | None:
    """|mean - baseline| / std over seeds: how many seed spreads the lead is worth."""
    if row["baseline"] is None or not row["std"] or math.isnan(row["mean"]):
        return None
    return abs(row["mean"] - row["baseline"]) / row["std"]


def verdicts(rows: list[dict]) -> dict[str, str]:
    """Per task, one sentence: who leads, whether it beats the runner-up and the baseline."""
    out = {}
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        leader = mine[0]
        if not leader["winner"]:
            out[task] = "no model finished without diverging"
            continue
        parts = [f"{leader['model']} leads"]
        if len(mine) > 1:
            p = leader["p_vs_runner_up"]
            word = "beats" if p is not None and p < ALPHA else "does not clearly beat"
            parts.append(f"{word} {mine[1]['model']} ({stats.format_p(p)}, Welch)")
        if leader["vs_baseline"]:
            word = {
                "better": "beats",
                "at": "is not distinguishable from",
                "worse": "is worse than",
            }[leader["vs_baseline"]]
            margin = margin_in_stds(leader)
            parts.append(
                f"{word} the baseline ({stats.format_p(leader['p_vs_baseline'])}"
                + (f", margin {margin:,.0f} std" if margin is not None else "")
                + ")"
            )
        out[task] = "; ".join(parts)
    return out
