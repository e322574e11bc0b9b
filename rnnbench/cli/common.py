"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rnnbench.training.config import TRAIN_PARAMS
from rnnbench.training.setup import ensure_results_dir, quiet_libraries

__all__ = [
    "add_device_options",
    "add_output_options",
    "ensure_results_dir",
    "print_json",
    "quiet_libraries",
]


def folder(text: str) -> Path:
    """An argparse type for folder options: '' (which Path reads as '.') is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty folder name (use . for this folder)")
    return Path(text)


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results-dir",
        type=folder,
        default=Path("results"),
        help="output folder for databases and artifacts (default: ./results)",
    )
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
        "sqlite:///RESULTS_DIR/mlflow.db)",
    )
    parser.add_argument("--experiment", default="rnnbench", help="MLflow experiment name")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object as the last line of stdout"
    )


def add_device_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--accelerator",
        choices=TRAIN_PARAMS["accelerator"].choices,
        help="Lightning accelerator (train.accelerator)",
    )
    parser.add_argument("--devices", help="device count, 'auto' or ids like 0,1 (train.devices)")
    parser.add_argument("--strategy", help="Lightning strategy, e.g. ddp (train.strategy)")


def add_budget_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param-budget",
        type=int,
        metavar="N",
        help="size every model's width so that its parameter count is within "
        "5%% of N (train.param_budget; the width is then not searched)",
    )
    parser.add_argument(
        "--budget-counts",
        choices=TRAIN_PARAMS["budget_counts"].choices,
        help="what --param-budget counts: recurrent (default: no embeddings, "
        "no task head) or all (train.budget_counts)",
    )


def print_json(obj: Any) -> None:
    print(json.dumps(obj, sort_keys=True, default=str))
