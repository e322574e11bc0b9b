"""SST-2 text classification: one training epoch with length bucketing (batches of
similar length, trimmed to their longest text) versus padding every batch to
task.max_length, same model, seed and data.

    python benchmarks/sst2_bucketing.py [--data ../shared/data/sst2] [--epochs 1]

Reports training time per epoch (forward, backward, optimiser; the system's own
clock), the speed-up, and test accuracy of both (same within noise).
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

from common import machine, markdown

from rnnbench.contract.registry import get_registry
from rnnbench.tracking.mlflow_tracker import MlflowTracker
from rnnbench.training.config import build_run_config
from rnnbench.training.runner import execute, prepare


def run(data: str, bucket: bool, epochs: int, tmp: Path):
    sets = {
        "task": {"dataset": data, "bucket": str(bucket), "max_length": "64"},
        "train": {"max_epochs": str(epochs), "progress": "false", "lr": "0.002"},
        "model": {"dropout": "0.5"},
    }
    registry = get_registry()
    config = build_run_config(registry, "textrnn", "text-classification", sets, results_dir=tmp)
    tracker = MlflowTracker(f"sqlite:///{tmp / 'mlflow.db'}", artifact_root=tmp / "artifacts")
    prepared = prepare(config, registry)
    result = execute(prepared, registry, tracker, keep_checkpoints=False)
    return prepared.system.train_seconds / epochs, result.metrics["test_acc"]


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2")
    )
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        padded = run(args.data, False, args.epochs, Path(tmp))
        bucketed = run(args.data, True, args.epochs, Path(tmp))
    rows.append(["pad to max_length (64)", f"{padded[0]:.1f}", f"{padded[1]:.4f}", "1.00x"])
    rows.append(
        [
            "length bucketing",
            f"{bucketed[0]:.1f}",
            f"{bucketed[1]:.4f}",
            f"{padded[0] / bucketed[0]:.2f}x",
        ]
    )
    print(f"# SST-2 textrnn, {args.epochs} epoch(s); {machine()}")
    print(markdown(["batching", "train s/epoch", "test acc", "speed-up"], rows))


if __name__ == "__main__":
    main()
