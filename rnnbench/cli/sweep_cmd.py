"""`rnnbench sweep`: parse the flags into a SweepConfig and call rnnbench.sweep.run."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rnnbench.cli.common import add_budget_options, add_device_options, folder, print_json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="search hyperparameters and build the leaderboard",
        description="With no arguments: the default benchmark (rnn, lstm, gru, memnet on the "
        "adding problem at T=100 and copy memory; 1500 optimiser steps per run, "
        "3 seeds, 2 workers; a few minutes on a 2-core CPU), SQLite storage in "
        "the results folder.",
    )
    parser.add_argument("--config", type=Path, help="YAML sweep configuration")
    parser.add_argument("--models", help="comma-separated model names, or 'all'")
    parser.add_argument("--tasks", help="comma-separated task names, or 'synthetic'")
    parser.add_argument(
        "--all-installed",
        action="store_true",
        default=None,
        help="'all' and 'synthetic' include installed plugins, not only the built-ins",
    )
    parser.add_argument(
        "--n-trials", type=int, help="finished trials per study (global cap); 0: no search"
    )
    parser.add_argument("--timeout", type=float, help="seconds for the whole search phase")
    parser.add_argument("--seeds", type=int, help="final re-training seeds (default 3)")
    parser.add_argument("--storage", help="Optuna storage URL (default sqlite in results dir)")
    parser.add_argument("--study-name", dest="name", help="sweep name; studies are NAME:TASK:MODEL")
    parser.add_argument(
        "--workers",
        type=int,
        help="worker processes on this machine sharing the studies "
        "(torch threads are split between them)",
    )
    parser.add_argument(
        "--sampler", help="Optuna sampler by name (tpe, random, or a plugin's; see `rnnbench list`)"
    )
    parser.add_argument(
        "--pruner", help="Optuna pruner by name (median, hyperband, none, or a plugin's)"
    )
    parser.add_argument(
        "--results-dir", type=folder, default=None, help="output folder (default ./results)"
    )
    parser.add_argument(
        "--tracking-uri", help="MLflow tracking URI (default sqlite in results dir)"
    )
    parser.add_argument("--experiment", help="MLflow experiment name (default rnnbench)")
    parser.add_argument(
        "--log-models",
        metavar="final|all|none",
        help="runs that log their best weights to MLflow as LoggedModels: final (the final "
        "seeds; default), all (search trials too) or none",
    )
    add_budget_options(parser)
    add_device_options(parser)
    parser.add_argument(
        "--diagnostics",
        help="diagnostics recorded in every run: names from `rnnbench list`, "
        "comma-separated (e.g. gradient-flow)",
    )
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fixed value over the file's: train.NAME (no longer searched), "
        "task.NAME (every task of the sweep that has it), model.NAME "
        "(every model that has it); repeatable",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rnnbench.contract.registry import get_registry
    from rnnbench.sweep.config import build_sweep_config
    from rnnbench.sweep.run import run_sweep
    from rnnbench.training.config import TRAIN_PARAMS

    registry = get_registry()
    flags = {
        "models": args.models,
        "tasks": args.tasks,
        "n_trials": args.n_trials,
        "timeout": args.timeout,
        "seeds": args.seeds,
        "storage": args.storage,
        "name": args.name,
        "sampler": args.sampler,
        "pruner": args.pruner,
        "workers": args.workers,
        "all_installed": args.all_installed,
        "tracking_uri": args.tracking_uri,
        "experiment": args.experiment,
        "log_models": args.log_models,
        "param_budget": args.param_budget,
        "budget_counts": args.budget_counts,
        "results_dir": str(args.results_dir) if args.results_dir else None,
    }
    config = build_sweep_config(registry, args.config, flags)
    apply_sets(config, registry, args.sets)
    for flag in ("accelerator", "devices", "strategy", "diagnostics"):
        value = getattr(args, flag)
        if value is not None:
            config.train[flag] = TRAIN_PARAMS[flag].convert(value, f"--{flag}")
    result = run_sweep(config, registry, argv=args.argv)
    if result is None:  # a helper process: the lead prints
        return 0
    if args.json:
        from dataclasses import asdict

        print_json(
            {
                "sweep": result.name,
                "mlflow_parent_run_id": result.parent_run_id,
                "storage": result.storage_url,
                "pairs": [asdict(o) for o in result.outcomes],
                "leaderboard": result.rows,
                "expected_best": [{**asdict(c), "points": c.points()} for c in result.curves],
                "cost": [{**asdict(c), "cpu": c.cpu} for c in result.cost],
                "files": [str(f) for f in result.files],
            }
        )
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
    print()
    for line in closing_lines(result, Path(config.results_dir), args):
        print(line)
    return 0


def apply_sets(config, registry, items: list[str]) -> None:
    """--set values on a built SweepConfig: train.NAME (and no longer searched), task.NAME
    on every task of the sweep that has the option, model.NAME on every model that has the
    hyperparameter (a fixed value replaces the file's space); ConfigError naming the key
    when nothing of the sweep has it."""
    from rnnbench.contract.errors import ConfigError
    from rnnbench.training.config import TRAIN_PARAMS, parse_sets

    sets = parse_sets(items)
    for name, raw in sets["train"].items():
        param = TRAIN_PARAMS.get(name)
        if param is None:
            raise ConfigError(f"--set train.{name}: no such train option")
        config.train[name] = param.convert(raw, f"--set train.{name}")
        if name in config.search_train:
            config.search_train = [n for n in config.search_train if n != name]
    for kind, names, spec_of, target in (
        ("task", config.tasks, lambda n: registry.task(n).options, config.task_options),
        ("model", config.models, lambda n: registry.model(n).params, config.model_params),
    ):
        for name, raw in sets[kind].items():
            holders = [n for n in names if spec_of(n).get(name) is not None]
            if not holders:
                raise ConfigError(
                    f"--set {kind}.{name}: no {kind} of this sweep "
                    f"({', '.join(names)}) has {name!r}"
                )
            for holder in holders:
                target.setdefault(holder, {})[name] = (
                    spec_of(holder).get(name).convert(raw, f"--set {kind}.{name}")
                )


def shown_path(path: Path, cwd: Path | None = None) -> str:
    """`path` relative to the working directory when inside it, else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to((cwd or Path.cwd()).resolve())) or "."
    except ValueError:
        return str(path)


def closing_lines(
    result, results_dir: Path, args: argparse.Namespace, width: int = 120
) -> list[str]:
    """Where everything is, in at most four lines of at most `width` columns (the URL
    line excepted when a very long sweep name makes the URL itself longer): the sweep's
    folder and files, the stores, and how to open the first leaderboard in the MLflow UI."""
    from rnnbench.cli.ui_cmd import DEFAULT_PORT
    from rnnbench.tracking.mlflow_tracker import cut_line
    from rnnbench.tracking.views import view_url

    lines = []
    if result.files:
        folder = Path(os.path.commonpath([Path(f).resolve().parent for f in result.files]))
        names = [str(Path(f).resolve().relative_to(folder)) for f in result.files]
        head = f"written to {shown_path(folder)}/: "
        shown: list[str] = []
        left = list(names)
        while left and len(head + ", ".join([*shown, left[0]])) + len(" (+99 more)") <= width:
            shown.append(left.pop(0))
        lines.append(head + ", ".join(shown) + (f" (+{len(left)} more)" if left else ""))
    uri = result.tracking_uri
    is_server = uri.lower().startswith(("http://", "https://"))
    stores = []
    for label, url in (("MLflow", uri), ("Optuna", result.storage_url)):
        path = Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None
        if path is not None and path.resolve().parent == Path(results_dir).resolve():
            stores.append(f"{path.name} ({label})")
        else:
            stores.append(f"{shown_path(path) if path else url} ({label})")
    lines.append(cut_line(f"stores in {shown_path(results_dir)}/: " + ", ".join(stores), width))
    if is_server:
        base, command = uri, "MLflow UI, leaderboard:"
    else:
        base = f"http://127.0.0.1:{DEFAULT_PORT}"
        flags = ""
        if args.tracking_uri:
            flags = f" --tracking-uri {args.tracking_uri}"
        elif Path(results_dir).resolve() != Path("results").resolve():
            flags = f" --results-dir {shown_path(results_dir)}"
        command = f"MLflow UI: rnnbench ui{flags}, then open the leaderboard"
    if result.views:
        lines += [command, view_url(base, result.experiment_id, result.views[0].key)]
    elif not is_server:
        lines.append(command.removesuffix(", then open the leaderboard"))
    return lines
