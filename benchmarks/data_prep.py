"""Preparing SST-2 (tokenise, build the vocabulary, encode) with a cold `datasets`
cache versus from the cache, each in a fresh process.

    python benchmarks/data_prep.py [--data ../shared/data/sst2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import machine, markdown

PREPARE = """
import time
from rnnbench.registry import get_registry
spec = get_registry().task("text-classification")
task = spec.factory(spec.options.resolve({"dataset": %r}, "task"), batch_size=64, seed=0)
start = time.perf_counter()
task.prepare()
print(time.perf_counter() - start)
"""


def prepare_seconds(data: str, cache: str) -> float:
    env = {**os.environ, "HF_DATASETS_CACHE": cache, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", PREPARE % data], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cold, warm = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(prepare_seconds(args.data, cache))
            warm.append(prepare_seconds(args.data, cache))
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"# SST-2 data preparation (median of {args.repeats}); {machine()}")
    print(markdown(["cache", "seconds", "speed-up"],
                   [["cold", f"{c:.2f}", "1.00x"], ["warm", f"{w:.2f}", f"{c / w:.2f}x"]]))


if __name__ == "__main__":
    main()
