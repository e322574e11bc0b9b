"""The files of a sweep's leaderboard: leaderboard.csv, leaderboard.md, and one PNG bar
chart per task (leaderboard-TASK.png).

Each bar is a model's mean over seeds with its std as an error bar and its value
written on it; the leader's bar is coloured; the baseline is a dashed line. When the
values span more than two orders of magnitude (a solved task's winner near zero
beside models at the baseline), the axis is logarithmic so that every bar is visible.
"""

from __future__ import annotations

import math
from pathlib import Path

from rnnbench.tracking.figures import log_axis
from rnnbench.tracking.leaderboard.text import ARROW, WINNER, number, render, tasks, title

LEADER, OTHER, AT_BASELINE = "#2a9d4b", "#4c72b0", "#b0b0b0"


def plot(rows: list[dict], folder: Path) -> list[Path]:
    from rnnbench.tracking.figures import pyplot, save

    plt = pyplot()

    paths = []
    for mine in tasks(rows):
        items = [r for r in mine if not math.isnan(r["mean"])]
        if not items:
            continue
        fig, ax = plt.subplots(figsize=(max(4.5, 1.2 * len(items) + 2), 3.8))
        means = [r["mean"] for r in items]
        colours = [
            LEADER if r["winner"] else AT_BASELINE if r["vs_baseline"] in ("at", "worse") else OTHER
            for r in items
        ]
        bars = ax.bar(
            [f"{r['model']}{' ' + WINNER if r['winner'] else ''}" for r in items],
            means,
            yerr=[r["std"] or 0.0 for r in items],
            capsize=4,
            color=colours,
        )
        baseline = items[0]["baseline"]
        if log_axis([*means, *([baseline] if baseline is not None else [])]):
            ax.set_yscale("log")
        for bar, row in zip(bars, items, strict=True):
            top = bar.get_height() + (row["std"] or 0.0)
            ax.annotate(
                number(row["mean"]),
                (bar.get_x() + bar.get_width() / 2, top),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 2),
                textcoords="offset points",
            )
        if baseline is not None:
            ax.axhline(
                baseline, color="#c44e52", linestyle="--", label=f"baseline {number(baseline)}"
            )
            ax.legend(loc="best", fontsize=8)
        ax.set_title(title(items).split(";")[0], fontsize=9)
        ax.set_ylabel(f"{items[0]['metric']} {ARROW[items[0]['direction']]}")
        path = folder / f"leaderboard-{items[0]['task']}.png"
        save(fig, path)
        paths.append(path)
    return paths


def write_outputs(
    rows: list[dict], folder: Path, sweep: str | None = None, extra_markdown: str = ""
) -> list[Path]:
    """leaderboard.csv, leaderboard.md (with `extra_markdown` below the tables) and the
    charts in `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = folder / "leaderboard.csv", folder / "leaderboard.md"
    csv_path.write_text(render(rows, "csv"))
    markdown = render(rows, "markdown", sweep)
    md_path.write_text(markdown + ("\n" + extra_markdown if extra_markdown else ""))
    return [csv_path, md_path, *plot(rows, folder)]
