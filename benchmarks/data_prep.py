"""Preparing SST-2 (load, tokenise, build the vocabulary, encode, tensorise) with a
cold cache versus warm, each in a fresh process: warm with only the `datasets` map
cache (task.cache=false), and warm with rnnbench's prepared-data cache as well.

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
from rnnbench.contract.registry import get_registry
spec = get_registry().task("text-classification")
task = spec.factory(spec.options.resolve({"dataset": %r, "cache": %r}, "task"),
                    batch_size=64, seed=0)
start = time.perf_counter()
task.prepare()
print(time.perf_counter() - start)
"""


def prepare_seconds(data: str, cache: str, prepared_cache: bool = True) -> float:
    env = {**os.environ, "HF_DATASETS_CACHE": cache, "HF_HUB_OFFLINE": "1"}
    code = PREPARE % (data, str(prepared_cache).lower())
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2")
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cold, maps_only, warm = [], [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(prepare_seconds(args.data, cache))
            maps_only.append(prepare_seconds(args.data, cache, prepared_cache=False))
            warm.append(prepare_seconds(args.data, cache))
    c = statistics.median(cold)
    rows = [["cold", c]]
    rows += [["warm, datasets map cache only (task.cache=false)", statistics.median(maps_only)]]
    rows += [["warm, prepared-data cache", statistics.median(warm)]]
    print(f"# SST-2 data preparation (median of {args.repeats}); {machine()}")
    print(
        markdown(
            ["cache", "seconds", "speed-up"],
            [[name, f"{s:.2f}", f"{c / s:.2f}x"] for name, s in rows],
        )
    )


if __name__ == "__main__":
    main()
