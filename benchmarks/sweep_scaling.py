"""Sweep throughput with 2 worker processes versus 1 on this machine (torch threads
split so that workers x threads <= cores), same studies and trial count.

    python benchmarks/sweep_scaling.py [--trials 8]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, markdown

CONFIG = """\
name: scaling
models: [lstm]
tasks: [adding]
seeds: 1
pruner: none
train: {max_epochs: 8, patience: 10}
task_options: {adding: {seq_len: 50, train_size: 3000, val_size: 200, test_size: 200}}
model_params: {lstm: {hidden_size: 64, num_layers: 1, variant: vanilla}}
"""


def sweep_seconds(trials: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sweep.yaml"
        config.write_text(CONFIG)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnnbench", "sweep", "--config", str(config),
                        "--n-trials", str(trials), "--workers", str(workers),
                        "--results-dir", str(Path(tmp) / "results")],
                       check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    one = sweep_seconds(args.trials, 1)
    two = sweep_seconds(args.trials, 2)
    rows = [["1", f"{one:.1f}", f"{args.trials * 3600 / one:.0f}", "1.00x"],
            ["2", f"{two:.1f}", f"{args.trials * 3600 / two:.0f}", f"{one / two:.2f}x"]]
    print(f"# sweep scaling, {args.trials} trials + 1 final; {machine()}")
    print(markdown(["workers", "wall s", "trials/hour", "speed-up"], rows))


if __name__ == "__main__":
    main()
