"""`rnnbench leaderboard`: rebuild the leaderboard from MLflow alone."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnbench.errors import ConfigError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("leaderboard", help="print the leaderboard from MLflow")
    parser.add_argument("--results-dir", type=Path, default=Path("results"),
                        help="results folder whose mlflow.db to read (default ./results)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (overrides --results-dir)")
    parser.add_argument("--experiment", default="rnnbench", help="MLflow experiment name")
    parser.add_argument("--sweep", help="sweep name (default: the most recent sweep)")
    parser.add_argument("--task", help="only this task")
    parser.add_argument("--format", choices=("table", "csv", "markdown", "json"), default="table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rnnbench.config import resolve_tracking_uri

    if not args.tracking_uri and not (args.results_dir / "mlflow.db").exists():
        raise ConfigError(f"--results-dir {args.results_dir}: no mlflow.db there "
                          "(run `rnnbench sweep` first, or pass --tracking-uri)")
    from mlflow.tracking import MlflowClient

    from rnnbench.leaderboard import build_rows, final_runs, latest_sweep, render

    client = MlflowClient(resolve_tracking_uri(args.tracking_uri, args.results_dir))
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        raise ConfigError(f"--experiment {args.experiment!r}: no such MLflow experiment")
    sweep = args.sweep or latest_sweep(client, experiment.experiment_id)
    rows = build_rows(final_runs(client, experiment.experiment_id, sweep))
    if args.task:
        rows = [r for r in rows if r["task"] == args.task]
    if not rows:
        raise ConfigError(f"no finished final runs for sweep {sweep!r}"
                          + (f" and task {args.task!r}" if args.task else ""))
    print(render(rows, args.format), end="" if args.format != "json" else "\n")
    return 0
