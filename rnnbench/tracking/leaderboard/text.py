"""The leaderboard's rows (rnnbench.tracking.leaderboard.build_rows) as text, Markdown, CSV and JSON,
and the sweep's parent-run description (Markdown with text bar charts).

The terminal form is one block per task, at most 120 columns: the metric, its unit and
direction and the baseline in the block's title; rank, model, mean ± std (± only with
two seeds or more), solved seeds, the comparison with the baseline, parameters, steps
and training time per seed; then one line saying who leads and whether it matters.
Hyperparameters and throughput go to the Markdown and CSV files, not the terminal.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from rnnbench.tracking import stats
from rnnbench.tracking.leaderboard import ALPHA, COLUMNS, verdicts
from rnnbench.tracking.tables import markdown_table, text_table

ARROW = {"lower": "↓", "higher": "↑"}
WINNER = "★"


def number(value: Any) -> str:
    """A metric value: 4 decimals; 3 significant digits below 0.001; grouped above 10^4."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.2e}"
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4f}"
    return str(value)


def mean_std(row: dict) -> str:
    if math.isnan(row["mean"]):
        return "diverged"
    if row["std"] is None:
        return number(row["mean"])
    return f"{number(row['mean'])} ± {spread(row['std'], row['mean'])}"


def spread(std: float, mean: float) -> str:
    """The std in the mean's 4 decimals, or in scientific notation when that shows 0."""
    if abs(mean) >= 1e-3 and (std == 0 or std >= 5e-5):
        return f"{std:.4f}"
    return f"{std:.1e}"


def versus_baseline(row: dict) -> str:
    kind = row["vs_baseline"]
    if not kind:
        return ""
    p = stats.format_p(row["p_vs_baseline"]).replace(" ", "")
    label = {"better": "better", "at": "⚠ at baseline", "worse": "⚠ worse"}[kind]
    return f"{label} ({p})" if row["p_vs_baseline"] is not None else label


def flags(row: dict) -> str:
    return f"⚠ diverged {row['diverged']}/{row['seeds']}" if row["diverged"] else ""


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f} s" if value < 600 else f"{value / 60:.1f} min"


def steps(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def param_count(row: dict) -> str:
    """The row's budgeted count when its width was sized to a budget, else every
    trainable parameter."""
    return f"{row['budget_params'] if row.get('budget_params') is not None else row['params']:,}"


def title(rows: list[dict]) -> str:
    """'adding: test_mse (MSE), lower is better; baseline 0.1694 = predict 1'."""
    first = rows[0]
    unit = f" ({first['unit']})" if first["unit"] else ""
    text = f"{first['task']}: {first['metric']}{unit}, {first['direction']} is better"
    if first["baseline"] is not None:
        name = f" = {first['baseline_name']}" if first["baseline_name"] else ""
        text += f"; baseline {number(first['baseline'])}{name}"
    if first.get("budget_params") is not None and first.get("param_budget"):
        counted = (
            "all"
            if first.get("budget_counts") == "all"
            else ("recurrent, embeddings and head excluded")
        )
        text += f"; widths sized to {int(float(first['param_budget'])):,} parameters ({counted})"
    if first.get("evaluation"):
        text += f"; {first['evaluation']}"
    return text


def tasks(rows: list[dict]) -> list[list[dict]]:
    order = list(dict.fromkeys(r["task"] for r in rows))
    return [[r for r in rows if r["task"] == t] for t in order]


def terminal(rows: list[dict], sweep: str | None = None) -> str:
    blocks = [f"sweep {sweep!r}\n"] if sweep else []
    said = verdicts(rows)
    for mine in tasks(rows):
        arrow = ARROW[mine[0]["direction"]]
        header = [
            "#",
            "model",
            f"{mine[0]['metric']} {arrow}",
            "seeds",
            "solved",
            "vs baseline",
            "params",
            "steps",
            "time/seed",
            "",
        ]
        body = [
            [
                f"{r['rank']}{' ' + WINNER if r['winner'] else ''}",
                r["model"],
                mean_std(r),
                str(r["seeds"]),
                r["solved"],
                versus_baseline(r),
                param_count(r),
                steps(r["steps"]),
                seconds(r["train_seconds"]),
                flags(r),
            ]
            for r in mine
        ]
        blocks.append(
            title(mine)
            + "\n"
            + text_table(header, body, indent="  ", right=(3, 6, 7, 8))
            + f"  → {said[mine[0]['task']]}\n"
        )
    return "\n".join(blocks)


def markdown(rows: list[dict], sweep: str | None = None) -> str:
    """Every column, one section per task, then how to read it."""
    said = verdicts(rows)
    parts = [f"# Leaderboard of sweep '{sweep}'\n"] if sweep else []
    for mine in tasks(rows):
        arrow = ARROW[mine[0]["direction"]]
        header = [
            "#",
            "model",
            f"{mine[0]['metric']} {arrow}",
            "seeds",
            "solved",
            "vs baseline",
            "diverged",
            "params",
            "steps",
            "time/seed",
            "throughput",
            "hparams",
        ]
        body = [
            [
                f"{r['rank']}{' ' + WINNER if r['winner'] else ''}",
                r["model"],
                mean_std(r),
                r["seeds"],
                r["solved"],
                versus_baseline(r),
                f"{r['diverged']}/{r['seeds']}" if r["diverged"] else "",
                param_count(r),
                steps(r["steps"]),
                seconds(r["train_seconds"]),
                f"{r['throughput']:,.0f} {r['throughput_unit']}/s",
                hparams(r["hparams"]),
            ]
            for r in mine
        ]
        parts.append(
            f"## {title(mine)}\n\n{markdown_table(header, body)}\n{said[mine[0]['task']]}.\n"
        )
    parts.append(CAPTION)
    return "\n".join(parts)


CAPTION = (
    f"mean ± std over the final seeds of each pair's best configuration (± only with 2 "
    f"seeds or more); {WINNER} marks the leader of each task; `vs baseline` is a two-sided "
    f"one-sample t-test of the seeds against the trivial baseline, and the leader is "
    f'compared with the runner-up by Welch\'s t-test (α = {ALPHA}); "⚠ at baseline" means '
    f'not distinguishable from the baseline ("⚠ worse": significantly worse); a diverged seed (NaN/inf '
    f"or far worse than the baseline) is left out of the mean and flagged; `params` counts "
    f"every trainable parameter; `steps` and `time/seed` are the mean optimiser steps and "
    f"wall time (training and evaluation) of one seed's run.\n"
)


def hparams(values: dict[str, str]) -> str:
    return " ".join(f"{k.split('.', 1)[1]}={_short(v)}" for k, v in values.items())


def _short(text: str) -> str:
    """A logged parameter value, floats shown with 4 significant digits."""
    try:
        value = float(text)
    except ValueError:
        return text
    return text if value.is_integer() or "." not in text else f"{value:.4g}"


def csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: json.dumps(row[k]) if isinstance(row[k], (dict, list)) else row[k] for k in COLUMNS}
        )
    return out.getvalue()


def render(rows: list[dict], fmt: str, sweep: str | None = None) -> str:
    if fmt == "json":
        return json.dumps([{k: row[k] for k in COLUMNS} for row in rows], default=str)
    if fmt == "csv":
        return csv_text(rows)
    if fmt == "markdown":
        return markdown(rows, sweep)
    return terminal(rows, sweep)


def text_chart(rows: list[dict], width: int = 40) -> str:
    """Bars proportional to each row's mean, the baseline as the last bar (for the
    MLflow run description, which renders Markdown but no local images)."""
    items = [(r["model"], r["mean"]) for r in rows if not math.isnan(r["mean"])]
    if rows[0]["baseline"] is not None:
        items.append(("baseline", rows[0]["baseline"]))
    top = max((abs(v) for _, v in items), default=0.0) or 1.0
    label = max(len(name) for name, _ in items)
    lines = [
        f"{name.ljust(label)} {'█' * max(1, round(width * abs(v) / top))} {number(v)}"
        for name, v in items
    ]
    return "```\n" + "\n".join(lines) + "\n```\n"


def description(rows: list[dict], sweep: str, settings: dict[str, Any]) -> str:
    """The sweep's parent-run description: settings, then per task the table, the
    verdict and a bar chart."""
    said = verdicts(rows)
    # The Overview page shows the first lines before "Show more": the verdicts first.
    lines = [
        "\n".join(
            f"- **{mine[0]['task']}** ({mine[0]['metric']} "
            f"{ARROW[mine[0]['direction']]}): {said[mine[0]['task']]}"
            for mine in tasks(rows)
        )
        + "\n",
        f"Sweep '{sweep}': " + " · ".join(f"{k} {v}" for k, v in settings.items()) + "\n",
    ]
    for mine in tasks(rows):
        arrow = ARROW[mine[0]["direction"]]
        header = [
            "#",
            "model",
            f"{mine[0]['metric']} {arrow}",
            "solved",
            "vs baseline",
            "params",
            "time/seed",
        ]
        body = [
            [
                f"{r['rank']}{' ' + WINNER if r['winner'] else ''}",
                r["model"],
                mean_std(r),
                r["solved"],
                versus_baseline(r),
                param_count(r),
                seconds(r["train_seconds"]),
            ]
            for r in mine
        ]
        lines.append(
            f"## {title(mine)}\n\n{markdown_table(header, body)}\n"
            f"**{said[mine[0]['task']]}.**\n\n{text_chart(mine)}"
        )
    lines.append(CAPTION)
    return "\n".join(lines)
