"""`rnnbench sweep`: parse the flags into a SweepConfig and call rnnbench.sweep.run."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rnnbench.cli.common import add_device_options, folder, print_json


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
    add_schema_flags(parser)
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


def add_schema_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per sweep-file key that has one (rnnbench.sweep.config.SCHEMA): its type,
    help and choices come from there; unset flags are None (the file's value holds)."""
    from rnnbench.sweep.config import SCHEMA

    parsers = {int: int, float: float, Path: folder}
    for key in SCHEMA:
        if key.flag is None:
            continue
        options: dict = {"dest": key.name, "default": None, "help": key.help.replace("%", "%%")}
        if key.type is bool:
            options["action"] = "store_true"
        else:
            options["type"] = parsers.get(key.type, str)
            if key.choices:
                options["choices"] = key.choices
            if key.metavar:
                options["metavar"] = key.metavar
            if key.type is list:
                options["help"] = "comma-separated " + options["help"]
        parser.add_argument(key.flag, **options)


def run(args: argparse.Namespace) -> int:
    from rnnbench.contract.registry import get_registry
    from rnnbench.sweep.config import SCHEMA, TRAIN_FLAGS, build_sweep_config
    from rnnbench.sweep.run import run_sweep

    registry = get_registry()
    flags = {key.name: getattr(args, key.name) for key in SCHEMA if key.flag is not None}
    flags.update({name: getattr(args, name) for name in TRAIN_FLAGS})
    config = build_sweep_config(registry, args.config, flags, args.sets)
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
    from rnnbench.tracking.leaderboard.text import render

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
