"""Start-up cost of the CLI: `rnnbench list` wall time (median of several runs).

    python benchmarks/startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from common import machine, markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for label, code in (("python -c pass (reference)", ["-c", "pass"]),
                        ("rnnbench --version", ["-m", "rnnbench", "--version"]),
                        ("rnnbench list", ["-m", "rnnbench", "list"])):
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, *code], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        rows.append([label, f"{statistics.median(times):.2f}"])
    print(f"# CLI start-up (median of {args.repeats}); {machine()}")
    print(markdown(["command", "seconds"], rows))


if __name__ == "__main__":
    main()
