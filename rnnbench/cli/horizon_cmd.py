"""`rnnbench horizon`: the longest dependency each model learns within a step budget."""

from __future__ import annotations

import argparse
import sys

from rnnbench.cli.common import (
    add_budget_options,
    add_device_options,
    add_output_options,
    ensure_results_dir,
    print_json,
    quiet_libraries,
)
from rnnbench.contract.errors import ConfigError

DESCRIPTION = """\
Trains every model at every length with every seed for the same number of optimiser
steps (no early stopping) and reports the longest length each model solves on at least
half its seeds. The defaults make 3 models x 4 lengths x 2 seeds = 24 runs of 2000
steps: about 20 minutes on a 2-core CPU. Any task whose spec declares a length option
and a solved criterion works; `rnnbench list` shows them (built-in: adding, copy,
the seq2seq tasks reverse, sort and addition, waveform)."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "horizon",
        help="memory-horizon curve on a task with a length option",
        description=DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--models", default="rnn,lstm,gru", help="comma-separated models")
    parser.add_argument(
        "--task", default="adding", help="a task with a length option and a solved criterion"
    )
    parser.add_argument(
        "--lengths", default="25,50,100,200", help="comma-separated lengths (copy: blank stretch T)"
    )
    parser.add_argument(
        "--budget-steps",
        type=int,
        default=2000,
        help="optimiser steps per run (the same for every model and length)",
    )
    parser.add_argument("--seeds", type=int, default=2, help="seeds per model and length")
    parser.add_argument("--name", default="horizon", help="name of this horizon study")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model.*, task.* or train.* option applied to every run",
    )
    add_budget_options(parser)
    add_device_options(parser)
    add_output_options(parser)
    parser.set_defaults(handler=run)


def parse_ints(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{option}: expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise ConfigError(f"{option}: expected positive integers, got {text!r}")
    return values


def run(args: argparse.Namespace) -> int:
    from rnnbench.contract.registry import get_registry
    from rnnbench.sweep.horizon import HorizonStudy, check_task, run_horizon, summary
    from rnnbench.tracking.mlflow_tracker import MlflowTracker, check_tracking_uri
    from rnnbench.training.config import (
        check_experiment,
        parse_sets,
        resolve_tracking_uri,
        tracking_uri_source,
    )
    from rnnbench.training.devices import check_devices

    for flag in ("budget_steps", "seeds"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise ConfigError(
                f"--{flag.replace('_', '-')}: must be >= 1, got {getattr(args, flag)}"
            )
    check_experiment(args.experiment)
    quiet_libraries()
    registry = get_registry()
    check_task(registry, args.task)
    sets = parse_sets(args.sets)
    length_option = registry.task(args.task).length_option
    # options the study sets itself: a --set for them would be silently overridden
    owned = {
        ("task", length_option): "--lengths",
        ("train", "seed"): "--seeds",
        ("train", "max_steps"): "--budget-steps",
        ("train", "max_epochs"): "--budget-steps",
        ("train", "patience"): "--budget-steps (no early stopping)",
    }
    for (group, key), flag in owned.items():
        if key in sets[group]:
            raise ConfigError(f"--set {group}.{key}: horizon sets it itself; use {flag}")
    sets["train"].setdefault("progress", "false")
    for flag in ("accelerator", "devices", "strategy", "param_budget", "budget_counts"):
        if getattr(args, flag) is not None:
            sets["train"][flag] = getattr(args, flag)
    study = HorizonStudy(
        models=[m.strip() for m in args.models.split(",") if m.strip()],
        task=args.task,
        lengths=parse_ints(args.lengths, "--lengths"),
        budget_steps=args.budget_steps,
        seeds=args.seeds,
        name=args.name,
        sets=sets,
        results_dir=args.results_dir,
        experiment=args.experiment,
    )
    # every configuration is checked before anything is written
    from rnnbench.training.budget import fit_for_config
    from rnnbench.training.config import build_run_config

    for model in study.models:
        config = build_run_config(registry, model, study.task, sets)
        check_devices(config.train)
        fit_for_config(config, registry)
    source = tracking_uri_source(args.tracking_uri)
    if source:
        check_tracking_uri(resolve_tracking_uri(args.tracking_uri, args.results_dir), option=source)
    study.results_dir = ensure_results_dir(args.results_dir)
    tracker = MlflowTracker(
        resolve_tracking_uri(args.tracking_uri, study.results_dir),
        args.experiment,
        artifact_root=study.results_dir / "mlartifacts",
    )
    print(
        f"horizon {study.name!r}: {study.runs} runs of {study.budget_steps} steps",
        file=sys.stderr,
        flush=True,
    )
    result = run_horizon(
        study, tracker, registry, report=lambda line: print(line, file=sys.stderr, flush=True)
    )
    if args.json:
        print_json(
            {
                **summary(result.points, study.models),
                "mlflow_parent_run_id": result.parent_run_id,
                "files": [str(f) for f in result.files],
            }
        )
        return 0
    folder = study.results_dir / "horizon" / study.name
    print((folder / "horizon.md").read_text(), end="")
    print(f"\nwritten: {', '.join(str(f) for f in result.files)}")
    return 0
