"""`rnnbench horizon`: the longest dependency each model learns within a step budget."""

from __future__ import annotations

import argparse
import sys

from rnnbench.cli.common import (
    add_device_options,
    add_output_options,
    ensure_results_dir,
    print_json,
    quiet_libraries,
)
from rnnbench.errors import ConfigError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("horizon", help="memory-horizon curve on adding or copy")
    parser.add_argument("--models", default="rnn,lstm,gru", help="comma-separated models")
    parser.add_argument("--task", default="adding", choices=("adding", "copy"))
    parser.add_argument("--lengths", default="25,50,100,200",
                        help="comma-separated sequence lengths (copy: blank stretch T)")
    parser.add_argument("--budget-steps", type=int, default=2000,
                        help="optimiser steps per run (the same for every model and length)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per model and length")
    parser.add_argument("--name", default="horizon", help="name of this horizon study")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="model.*, task.* or train.* option applied to every run")
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
    from rnnbench.config import build_run_config, parse_sets, resolve_tracking_uri
    from rnnbench.horizon import (
        HorizonPoint,
        horizon_config,
        largest_solved,
        summary,
        write_outputs,
    )
    from rnnbench.registry import get_registry

    quiet_libraries()
    registry = get_registry()
    lengths = parse_ints(args.lengths, "--lengths")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.budget_steps < 1 or args.seeds < 1:
        raise ConfigError("--budget-steps and --seeds must be >= 1")
    sets = parse_sets(args.sets)
    sets["train"].setdefault("progress", "false")
    for flag in ("accelerator", "devices", "strategy"):
        if getattr(args, flag) is not None:
            sets["train"][flag] = getattr(args, flag)
    bases = {m: build_run_config(registry, m, args.task, sets, results_dir=args.results_dir,
                                 experiment=args.experiment) for m in models}

    from rnnbench.runner import execute, prepare
    from rnnbench.tracking import Tracker

    results_dir = ensure_results_dir(args.results_dir)
    tracker = Tracker(resolve_tracking_uri(args.tracking_uri, results_dir), args.experiment,
                      artifact_root=results_dir / "mlartifacts")
    spec = registry.task(args.task)
    parent = tracker.start_run(f"horizon-{args.name}", {
        "rnnbench.role": "horizon", "rnnbench.horizon": args.name, "rnnbench.task": args.task},
        {"horizon.models": ",".join(models), "horizon.lengths": args.lengths,
         "horizon.budget_steps": args.budget_steps, "horizon.seeds": args.seeds})
    points = []
    try:
        for model in models:
            for length in lengths:
                point = HorizonPoint(model, length, f"test_{spec.main_metric}")
                for seed in range(args.seeds):
                    config = horizon_config(bases[model], length, seed, args.budget_steps,
                                            results_dir)
                    print(f"{model} T={length} seed {seed}", file=sys.stderr, flush=True)
                    result = execute(prepare(config, registry), registry, tracker,
                                     run_name=f"{model}-{args.task}-T{length}-seed{seed}",
                                     parent_run_id=parent, keep_checkpoints=False,
                                     extra_tags={"rnnbench.phase": "horizon",
                                                 "rnnbench.horizon": args.name,
                                                 "rnnbench.length": str(length)})
                    point.values.append(result.metrics.get(point.metric, float("nan")))
                    point.solved.append(bool(result.solved))
                    point.baseline = result.baseline
                    point.run_ids.append(result.mlflow_run_id)
                points.append(point)
    except BaseException:
        tracker.end_run(parent, "KILLED")
        raise
    files = write_outputs(points, models, results_dir / "horizon" / args.name)
    for path in files:
        tracker.log_artifact(parent, path)
    tracker.log_metrics(parent, {f"largest_solved.{m}": largest_solved(points, m) or 0
                                 for m in models})
    tracker.end_run(parent, "FINISHED")
    if args.json:
        print_json({**summary(points, models), "mlflow_parent_run_id": parent,
                    "files": [str(f) for f in files]})
        return 0
    print((results_dir / "horizon" / args.name / "horizon.md").read_text(), end="")
    print(f"\nwritten: {', '.join(str(f) for f in files)}")
    return 0
