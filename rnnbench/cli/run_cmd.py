"""`rnnbench run`: train and evaluate one model on one task, tracked in MLflow."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnbench.cli.common import (
    add_budget_options,
    add_device_options,
    add_output_options,
    ensure_results_dir,
    print_json,
    quiet_libraries,
)
from rnnbench.contract.errors import ConfigError
from rnnbench.training.config import TRAIN_PARAMS

FLAG_TO_TRAIN_KEY = {
    "max_epochs": "max_epochs",
    "seed": "seed",
    "clip_algorithm": "clip_algorithm",
    "clip_value": "clip_value",
    "accelerator": "accelerator",
    "devices": "devices",
    "strategy": "strategy",
    "diagnostics": "diagnostics",
    "param_budget": "param_budget",
    "budget_counts": "budget_counts",
}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("run", help="train and evaluate one model on one task")
    parser.add_argument("--model", required=True, help="model name (see `rnnbench list`)")
    parser.add_argument("--task", required=True, help="task name (see `rnnbench list`)")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model.*, task.* or train.* option; repeatable",
    )
    parser.add_argument("--max-epochs", type=int, help="train.max_epochs")
    parser.add_argument("--seed", type=int, help="train.seed")
    parser.add_argument(
        "--clip-algorithm",
        choices=TRAIN_PARAMS["clip_algorithm"].choices,
        help="train.clip_algorithm",
    )
    parser.add_argument("--clip-value", type=float, help="train.clip_value")
    parser.add_argument(
        "--diagnostics",
        help="diagnostics to record, comma-separated names from `rnnbench "
        "list`, e.g. gradient-flow (train.diagnostics)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the newest unfinished run of this exact configuration "
        "from its last checkpoint (same MLflow run)",
    )
    parser.add_argument(
        "--no-track",
        action="store_true",
        help="keep the run's record in memory only: no MLflow database "
        "(checkpoints and result.json still go to the results folder)",
    )
    add_budget_options(parser)
    add_device_options(parser)
    add_output_options(parser)
    parser.set_defaults(handler=run)


def train_overrides(args: argparse.Namespace) -> dict[str, object]:
    """Explicit flags, as train.* values (they win over --set train.*)."""
    return {
        key: getattr(args, flag)
        for flag, key in FLAG_TO_TRAIN_KEY.items()
        if getattr(args, flag, None) is not None
    }


def run(args: argparse.Namespace) -> int:
    from rnnbench.contract.registry import get_registry
    from rnnbench.training.config import (
        build_run_config,
        check_experiment,
        parse_sets,
        resolve_tracking_uri,
        tracking_uri_source,
    )

    check_experiment(args.experiment)
    quiet_libraries()
    registry = get_registry()
    sets = parse_sets(args.sets)
    sets["train"].update({k: str(v) for k, v in train_overrides(args).items()})
    if args.json:
        sets["train"].setdefault("progress", "false")
    config = build_run_config(
        registry,
        args.model,
        args.task,
        sets,
        # the absolute folder (computed, not created: ensure_results_dir creates it later)
        results_dir=Path(args.results_dir).resolve(),
        experiment=args.experiment,
    )

    from rnnbench.tracking import MemoryTracker
    from rnnbench.tracking.mlflow_tracker import MlflowTracker, check_tracking_uri
    from rnnbench.training.progress import ProgressLines
    from rnnbench.training.resume import check_resumable
    from rnnbench.training.runner import execute, prepare

    # everything that can be checked is checked before any folder or store exists
    if args.no_track and args.resume:
        raise ConfigError("--resume continues a tracked run: it cannot be used with --no-track")
    tracking_uri = resolve_tracking_uri(args.tracking_uri, args.results_dir)
    uri_source = tracking_uri_source(args.tracking_uri)
    if not args.no_track and uri_source:
        check_tracking_uri(tracking_uri, option=uri_source)
    if args.resume:
        check_resumable(args.results_dir)
    label = f"{args.model} on {args.task}"
    prepared = prepare(config, registry)  # also checks the requested devices exist
    results_dir = ensure_results_dir(args.results_dir)
    tracker = (
        MemoryTracker()
        if args.no_track
        else MlflowTracker(
            tracking_uri,
            args.experiment,
            artifact_root=results_dir / "mlartifacts",
            option=uri_source or "--results-dir",
        )
    )
    spec = prepared.task_spec
    # Without Lightning's bar (--json, train.progress=false), plain lines on stderr.
    lines = [] if config.train["progress"] else [ProgressLines(label, spec.monitor, spec.mode)]
    result = execute(prepared, registry, tracker, resume=args.resume, callbacks=lines)
    if args.json:
        print_json(result.to_json())
        return 0
    print(format_result(result), file=sys.stdout)
    report = prepared.system.class_report.report() if prepared.system.class_report else None
    if report is not None:
        from rnnbench.training.class_report import format_report

        print(f"per-class report (test):\n{format_report(report)}", file=sys.stdout)
    return 0


def format_result(result) -> str:
    lines = [f"{result.model} on {result.task}  (MLflow run {result.mlflow_run_id})"]
    for name, value in sorted(result.metrics.items()):
        lines.append(f"  {name:<20} {value:.4f}")
    if result.baseline is not None:
        lines.append(f"  {'baseline':<20} {result.baseline:.4f}")
    if result.solved is not None:
        lines.append(f"  {'solved':<20} {'yes' if result.solved else 'no'}")
    if result.diverged:
        lines.append("  diverged: the training loss became NaN or infinite")
    lines.append(f"  {'parameters':<20} {result.params:,}")
    if result.budget_params is not None:
        lines.append(f"  {'budgeted parameters':<20} {result.budget_params:,}")
    lines.append(f"  {'throughput':<20} {result.throughput:,.0f} {result.throughput_unit}/s")
    lines.append(f"  {'wall time':<20} {result.wall_seconds:.1f} s")
    return "\n".join(lines)
