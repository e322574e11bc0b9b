"""`rnnbench sweep`: parse the flags into a SweepConfig and call rnnbench.sweep.run."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnbench.cli.common import add_budget_options, add_device_options, folder, print_json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep", help="search hyperparameters and build the leaderboard",
        description="With no arguments: the default benchmark (rnn, lstm, gru, memnet on the "
                    "adding problem at T=100 and copy memory; 1500 optimiser steps per run, "
                    "3 seeds, 2 workers; a few minutes on a 2-core CPU), SQLite storage in "
                    "the results folder.")
    parser.add_argument("--config", type=Path, help="YAML sweep configuration")
    parser.add_argument("--models", help="comma-separated model names, or 'all'")
    parser.add_argument("--tasks", help="comma-separated task names, or 'synthetic'")
    parser.add_argument("--all-installed", action="store_true", default=None,
                        help="'all' and 'synthetic' include installed plugins, not only the "
                             "built-ins")
    parser.add_argument("--n-trials", type=int,
                        help="finished trials per study (global cap); 0: no search")
    parser.add_argument("--timeout", type=float, help="seconds for the whole search phase")
    parser.add_argument("--seeds", type=int, help="final re-training seeds (default 3)")
    parser.add_argument("--storage", help="Optuna storage URL (default sqlite in results dir)")
    parser.add_argument("--study-name", dest="name", help="sweep name; studies are NAME:TASK:MODEL")
    parser.add_argument("--workers", type=int,
                        help="worker processes on this machine sharing the studies "
                             "(torch threads are split between them)")
    parser.add_argument("--sampler", help="Optuna sampler by name (tpe, random, or a "
                                           "plugin's; see `rnnbench list`)")
    parser.add_argument("--pruner", help="Optuna pruner by name (median, hyperband, none, or "
                                         "a plugin's)")
    parser.add_argument("--results-dir", type=folder, default=None,
                        help="output folder (default ./results)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite in results dir)")
    parser.add_argument("--experiment", help="MLflow experiment name (default rnnbench)")
    add_budget_options(parser)
    add_device_options(parser)
    parser.add_argument("--diagnostics",
                        help="diagnostics recorded in every run: names from `rnnbench list`, "
                             "comma-separated (e.g. gradient-flow)")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rnnbench.contract.registry import get_registry
    from rnnbench.sweep.config import build_sweep_config
    from rnnbench.sweep.run import run_sweep
    from rnnbench.training.config import TRAIN_PARAMS

    registry = get_registry()
    flags = {"models": args.models, "tasks": args.tasks, "n_trials": args.n_trials,
             "timeout": args.timeout, "seeds": args.seeds, "storage": args.storage,
             "name": args.name, "sampler": args.sampler, "pruner": args.pruner,
             "workers": args.workers, "all_installed": args.all_installed,
             "tracking_uri": args.tracking_uri, "experiment": args.experiment,
             "param_budget": args.param_budget, "budget_counts": args.budget_counts,
             "results_dir": str(args.results_dir) if args.results_dir else None}
    config = build_sweep_config(registry, args.config, flags)
    for flag in ("accelerator", "devices", "strategy", "diagnostics"):
        value = getattr(args, flag)
        if value is not None:
            config.train[flag] = TRAIN_PARAMS[flag].convert(value, f"--{flag}")
    result = run_sweep(config, registry, argv=args.argv)
    if result is None:  # a helper process: the lead prints
        return 0
    if args.json:
        from dataclasses import asdict

        print_json({"sweep": result.name, "mlflow_parent_run_id": result.parent_run_id,
                    "storage": result.storage_url,
                    "pairs": [asdict(o) for o in result.outcomes], "leaderboard": result.rows,
                    "expected_best": [{**asdict(c), "points": c.points()} for c in result.curves],
                    "cost": [{**asdict(c), "cpu": c.cpu} for c in result.cost],
                    "files": [str(f) for f in result.files]})
        return 0
    from rnnbench.tracking import cost, expected_best_report
    from rnnbench.tracking.leaderboard_format import render

    print(render(result.rows, "table", result.name), end="")
    print(f"\n{expected_best_report.terminal(result.curves)}", end="")
    if result.cost:
        print(f"\n{cost.terminal(result.cost)}", end="")
    for outcome in result.outcomes:
        if outcome.note:
            print(f"{outcome.model} on {outcome.task}: {outcome.note}")
    print(f"\nwritten: {', '.join(str(f) for f in result.files)}")
    return 0
