"""Start-up cost of the CLI: wall time (median of several runs) and peak resident memory
of `rnnbench --help`, `list` and `describe`, against `python -c "import torch"` timed in
the same invocation.

    python benchmarks/startup.py [--repeats 7] [--before /other/checkout/.venv/bin/python]

--before times the same commands with another environment's interpreter (e.g. the main
checkout's venv) in the same run, for a before/after table. Goals (issue 31):
`rnnbench list` <= 0.6x `import torch`, `rnnbench --help` <= 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from common import machine, markdown

COMMANDS = (
    ("python -c pass", ["-c", "pass"]),
    ('python -c "import torch" (reference)', ["-c", "import torch"]),
    ("rnnbench --help", ["-m", "rnnbench", "--help"]),
    ("rnnbench --version", ["-m", "rnnbench", "--version"]),
    ("rnnbench list", ["-m", "rnnbench", "list"]),
    ("rnnbench describe lstm", ["-m", "rnnbench", "describe", "lstm"]),
)
REFERENCE = 1  # index of the import-torch row in COMMANDS


def run_once(python: str, args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen([python, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{python} {' '.join(args)} exited {child.returncode}")
    return wall, usage.ru_maxrss / 1024  # Linux: ru_maxrss in KiB


def measure(python: str, repeats: int) -> list[tuple[float, float]]:
    """Per command: (median wall seconds, median peak MiB); one warm-up run each."""
    results = []
    for _, args in COMMANDS:
        run_once(python, args)  # warm the page cache and bytecode
        runs = [run_once(python, args) for _ in range(repeats)]
        results.append(
            (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--before",
        metavar="PYTHON",
        help="another environment's interpreter, timed in the same run",
    )
    args = parser.parse_args()
    columns = [("after" if args.before else "this checkout", sys.executable)]
    if args.before:
        columns.insert(0, ("before", args.before))
    measured = {label: measure(python, args.repeats) for label, python in columns}
    header = ["command"]
    for label, _ in columns:
        header += [f"{label}: s", f"{label}: x import torch", f"{label}: peak MiB"]
    rows = []
    for index, (name, _) in enumerate(COMMANDS):
        row = [name]
        for label, _ in columns:
            seconds, mib = measured[label][index]
            reference = measured[label][REFERENCE][0]
            row += [f"{seconds:.2f}", f"{seconds / reference:.2f}", f"{mib:.0f}"]
        rows.append(row)
    print(f"# CLI start-up (median of {args.repeats}); {machine()}")
    print(markdown(header, rows))


if __name__ == "__main__":
    main()
