"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

from rnnbench.errors import ConfigError


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results-dir", type=Path, default=Path("results"),
                        help="output folder for databases and artifacts (default: ./results)")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
                             "sqlite:///RESULTS_DIR/mlflow.db)")
    parser.add_argument("--experiment", default="rnnbench", help="MLflow experiment name")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object as the last line of stdout")


def add_device_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accelerator", choices=("auto", "cpu", "gpu", "cuda", "mps"),
                        help="Lightning accelerator (train.accelerator)")
    parser.add_argument("--devices", help="device count, 'auto' or ids like 0,1 (train.devices)")
    parser.add_argument("--strategy", help="Lightning strategy, e.g. ddp (train.strategy)")


MIN_FREE_BYTES = 200 * 2**20  # databases, checkpoints and artifacts of a run or sweep


def ensure_results_dir(path: Path) -> Path:
    """Create the results folder or fail with one line (unwritable, or nearly full);
    returns the resolved path."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".rnnbench-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--results-dir {path}: not writable ({exc.strerror or exc})") from None
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_BYTES:
        raise ConfigError(f"--results-dir {path}: only {free / 2**20:.0f} MiB free on its disk "
                          f"(need at least {MIN_FREE_BYTES // 2**20} MiB)")
    return path.resolve()


def quiet_libraries() -> None:
    """Keep stdout for rnnbench's own output; libraries speak only when it matters."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import lightning.pytorch  # noqa: F401  (configures its loggers on import)
    import mlflow  # noqa: F401

    for name in ("lightning.pytorch", "lightning.fabric", "lightning", "alembic", "mlflow",
                 "optuna"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*is deprecated, use `isinstance.*")
    warnings.filterwarnings("ignore", ".*smaller than the logging interval.*")
    # epoch values come from torchmetrics' compute(), which already syncs across ranks
    warnings.filterwarnings("ignore", ".*when logging on epoch level in distributed.*")
    warnings.filterwarnings("ignore", ".*callbacks used to create the checkpoint need.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    warnings.filterwarnings("ignore", ".*Checkpoint directory .* exists and is not empty.*")


def print_json(obj: Any) -> None:
    print(json.dumps(obj, sort_keys=True, default=str))
