"""The leaderboard, rebuilt from MLflow alone: final-phase runs grouped by (task, model).

For each pair the newest group of final runs (the latest best trial's seeds) is
summarised: mean and standard deviation of the task's main test metric, the baseline,
parameter count, training throughput and the winning hyperparameters.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

COLUMNS = ("task", "model", "metric", "mean", "std", "seeds", "baseline", "solved", "params",
           "throughput", "throughput_unit", "best_trial", "hparams")


def final_runs(client, experiment_id: str, sweep: str | None = None) -> list:
    query = "tags.`rnnbench.phase` = 'final' and attributes.status = 'FINISHED'"
    if sweep:
        query += f" and tags.`rnnbench.sweep` = '{sweep}'"
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string=query, max_results=1000,
                                  page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def latest_sweep(client, experiment_id: str) -> str | None:
    runs = client.search_runs([experiment_id], filter_string="tags.`rnnbench.role` = 'sweep'",
                              order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0].data.tags.get("rnnbench.sweep") if runs else None


def build_rows(runs: list) -> list[dict[str, Any]]:
    groups: dict[tuple, list] = defaultdict(list)
    for run in runs:
        tags = run.data.tags
        groups[(tags["rnnbench.task"], tags["rnnbench.model"])].append(run)
    rows = []
    for (task, model), members in groups.items():
        newest = max(members, key=lambda r: r.info.start_time).data.tags.get("rnnbench.best_trial")
        members = [r for r in members if r.data.tags.get("rnnbench.best_trial") == newest]
        tags = members[0].data.tags
        metric = f"test_{tags.get('rnnbench.main_metric', 'loss')}"
        values = [r.data.metrics[metric] for r in members if metric in r.data.metrics]
        if not values:
            continue
        solved = [r.data.tags.get("rnnbench.solved") for r in members]
        params = members[0].data.params
        rows.append({
            "task": task, "model": model, "metric": metric,
            "mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "seeds": len(values),
            "baseline": members[0].data.metrics.get("baseline"),
            "solved": (f"{solved.count('True')}/{len(solved)}"
                       if any(s in ("True", "False") for s in solved) else ""),
            "params": int(members[0].data.metrics.get("params", 0)),
            "throughput": statistics.fmean(r.data.metrics.get("throughput", 0.0) for r in members),
            "throughput_unit": tags.get("rnnbench.throughput_unit", "samples"),
            "best_trial": newest,
            "hparams": {k: v for k, v in sorted(params.items())
                        if k.startswith("model.") or k in ("train.lr", "train.batch_size",
                                                           "train.clip_value")},
            "mode": tags.get("rnnbench.mode", "min"),
        })
    rows.sort(key=lambda r: (r["task"], r["mean"] if r["mode"] == "min" else -r["mean"]))
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, dict):
        return " ".join(f"{k.split('.', 1)[1]}={_short(v)}" for k, v in value.items())
    return str(value)


def _short(text: str) -> str:
    """A logged parameter value, floats shown with 4 significant digits."""
    try:
        number = float(text)
    except ValueError:
        return text
    return text if number.is_integer() or "." not in text else f"{number:.4g}"


def to_table(rows: list[dict]) -> list[list[str]]:
    header = ["task", "model", "metric", "mean ± std", "seeds", "baseline", "solved", "params",
              "throughput", "hparams"]
    body = [[r["task"], r["model"], r["metric"], f"{_fmt(r['mean'])} ± {_fmt(r['std'])}",
             str(r["seeds"]), _fmt(r["baseline"]), r["solved"], f"{r['params']:,}",
             f"{r['throughput']:,.0f} {r['throughput_unit']}/s", _fmt(r["hparams"])]
            for r in rows]
    return [header, *body]


def render(rows: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{k: r[k] for k in COLUMNS} for r in rows], default=str)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: json.dumps(r[k]) if isinstance(r[k], dict) else r[k]
                             for k in COLUMNS})
        return out.getvalue()
    table = to_table(rows)
    if fmt == "markdown":
        lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
        lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
        return "\n".join(lines) + "\n"
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True))
                     + "  " + row[-1] for row in table) + "\n"


def plot(rows: list[dict], folder: Path) -> list[Path]:
    """One PNG bar chart per task: mean ± std per model, the baseline as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for task in sorted({r["task"] for r in rows}):
        items = [r for r in rows if r["task"] == task]
        fig, ax = plt.subplots(figsize=(max(4, 1.1 * len(items) + 2), 3.5))
        ax.bar([r["model"] for r in items], [r["mean"] for r in items],
               yerr=[r["std"] for r in items], capsize=4, color="#4c72b0")
        baseline = items[0]["baseline"]
        if baseline is not None:
            ax.axhline(baseline, color="#c44e52", linestyle="--", label=f"baseline {baseline:.3f}")
            ax.legend(loc="best")
        ax.set_title(f"{task}: {items[0]['metric']} (mean ± std over seeds)")
        ax.set_ylabel(items[0]["metric"])
        fig.tight_layout()
        path = folder / f"leaderboard-{task}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def write_outputs(rows: list[dict], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = folder / "leaderboard.csv", folder / "leaderboard.md"
    csv_path.write_text(render(rows, "csv"))
    md_path.write_text(render(rows, "markdown"))
    return [csv_path, md_path, *plot(rows, folder)]
