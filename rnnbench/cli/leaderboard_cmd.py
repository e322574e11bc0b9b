"""`rnnbench leaderboard`: rebuild a sweep's leaderboard from MLflow alone, or list sweeps."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnbench.cli.common import folder
from rnnbench.contract.errors import ConfigError
from rnnbench.tracking import schema


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("leaderboard", help="print a sweep's leaderboard from MLflow")
    parser.add_argument(
        "--results-dir",
        type=folder,
        default=Path("results"),
        help="results folder whose mlflow.db to read (default ./results)",
    )
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (overrides --results-dir)")
    parser.add_argument("--experiment", default="rnnbench", help="MLflow experiment name")
    parser.add_argument("--sweep", help="sweep name (default: the most recent sweep)")
    parser.add_argument("--list", action="store_true", help="list the sweeps instead")
    parser.add_argument("--task", help="only this task")
    parser.add_argument("--format", choices=("table", "csv", "markdown", "json"), default="table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rnnbench.training.config import resolve_tracking_uri

    if not args.tracking_uri and not (args.results_dir / "mlflow.db").exists():
        raise ConfigError(
            f"--results-dir {args.results_dir}: no mlflow.db there "
            "(run `rnnbench sweep` first, or pass --tracking-uri)"
        )
    from rnnbench.tracking.leaderboard import build_rows, final_runs, sweep_runs
    from rnnbench.tracking.leaderboard.text import render
    from rnnbench.tracking.mlflow_tracker import MlflowTracker
    from rnnbench.training.config import tracking_uri_source

    tracker = MlflowTracker.open_existing(
        resolve_tracking_uri(args.tracking_uri, args.results_dir),
        args.experiment,
        option=tracking_uri_source(args.tracking_uri) or "--results-dir",
    )
    sweeps = sweep_runs(tracker)
    if args.list:
        print(list_sweeps(sweeps), end="")
        return 0
    names = [schema.SWEEP.read(s.tags) for s in sweeps]
    sweep = args.sweep or (names[0] if names else None)
    if sweep is None:
        raise ConfigError("no sweep in this tracking store (run `rnnbench sweep` first)")
    if sweep not in names:
        from rnnbench.contract.params import suggest

        raise ConfigError(
            f"--sweep {sweep!r}: no such sweep{suggest(sweep, names)} "
            "(`rnnbench leaderboard --list` lists them)"
        )
    rows = build_rows(final_runs(tracker, sweep))
    if args.task:
        rows = [r for r in rows if r["task"] == args.task]
    if not rows:
        raise ConfigError(
            f"no finished final runs for sweep {sweep!r}"
            + (f" and task {args.task!r}" if args.task else "")
        )
    if args.format == "table" and not args.sweep:
        print(f"(the most recent of {len(names)} sweeps; --list shows them all)", file=sys.stderr)
    print(render(rows, args.format, sweep), end="" if args.format != "json" else "\n")
    if args.format in ("table", "markdown"):
        print("\n" + below_the_tables(tracker, sweep, args.format, args.task), end="")
    return 0


def below_the_tables(tracker, sweep: str, fmt: str, task: str | None) -> str:
    """The sweep's expected-best curves and its cost by model, as the sweep printed them."""
    from rnnbench.tracking import cost, expected_best_report
    from rnnbench.tracking.expected_best import curves_of_sweep

    curves = [c for c in curves_of_sweep(tracker, sweep) if task is None or c.task == task]
    spent = cost.costs_of_sweep(tracker, sweep)
    if fmt == "markdown":
        return "\n".join(
            t for t in (expected_best_report.markdown(curves), cost.markdown(spent)) if t
        )
    return "\n".join(t for t in (expected_best_report.terminal(curves), cost.terminal(spent)) if t)


def list_sweeps(sweeps: list) -> str:
    """name, started, status, pairs: one line per sweep, newest first."""
    import datetime

    from rnnbench.tracking.tables import text_table

    body = []
    for run in sweeps:
        started = datetime.datetime.fromtimestamp(run.start_time / 1000).strftime("%Y-%m-%d %H:%M")
        pairs = schema.SWEEP_PAIRS.read(run.tags, "")
        count = len(pairs.split(",")) if pairs else ""
        body.append(
            [
                schema.SWEEP.read(run.tags, "?"),
                started,
                run.status.lower(),
                str(count),
                pairs if len(pairs) <= 60 else pairs[:57] + "...",
            ]
        )
    return text_table(["sweep", "started", "status", "pairs", ""], body, right=(3,))
