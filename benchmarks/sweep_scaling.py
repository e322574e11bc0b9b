"""Sweep throughput with 2 worker processes versus 1 on this machine (torch threads
split so that workers x threads <= cores: `--workers 2` gives each process 1 thread,
`--workers 1` one process with 2). A third set-up, 1 worker with 1 thread, separates the
harness's own scaling (2 workers vs 1 at the same threads per worker) from torch's
intra-op thread scaling (1 thread vs 2 in one worker), which bounds the first ratio:
2 workers x 1 thread can beat 1 worker x 2 threads by at most 2 / (thread speed-up).

Every trial costs the same (only the learning rate, clipping threshold and forget-gate
bias are searched; sizes and batch are fixed), so the two set-ups do the same work.
Two figures per run:
  search trials/hour  n_trials / (last trial's end - first trial's start), from the
                      Optuna storage: the throughput of the search phase itself;
  sweep wall          the whole command: start-up, search, final seeds, leaderboard.
The 1- and 2-worker sweeps alternate, `--repeats` times; medians are reported.
The second worker begins about 0.75 s after the first (its own connection to the
storage and the tracking store, after the first has created them): a fixed cost per
sweep, 5% of the 15 s that each of 2 workers searches in a 12-trial sweep, so the
default is 24 trials.

    python benchmarks/sweep_scaling.py [--trials 24] [--seeds 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
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
seeds: {seeds}
pruner: none
search_train: [lr, clip_value]
train: {{max_epochs: 8, patience: 10, batch_size: 64, num_threads: {threads}}}
task_options: {{adding: {{seq_len: 50, train_size: 3000, val_size: 200, test_size: 200}}}}
model_params:
  lstm: {{hidden_size: 64, embedding_dim: 64, num_layers: 1, dropout: 0.1, variant: vanilla}}
"""


def search_span(storage: str) -> float:
    """Seconds from the first trial's start to the last trial's end."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = optuna.load_study(study_name="scaling:adding:lstm", storage=storage).trials
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    return (end - start).total_seconds()


def sweep(trials: int, seeds: int, workers: int, threads: int) -> tuple[float, float]:
    """(search-phase seconds, whole-command seconds) of one fresh sweep; threads 0 lets
    rnnbench split the cores between the workers."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sweep.yaml"
        config.write_text(CONFIG.format(seeds=seeds, threads=threads))
        results = Path(tmp) / "results"
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rnnbench",
                "sweep",
                "--config",
                str(config),
                "--n-trials",
                str(trials),
                "--workers",
                str(workers),
                "--results-dir",
                str(results),
            ],
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - start
        return search_span(f"sqlite:///{results / 'optuna.db'}"), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    setups = {
        "1 worker x 2 threads": (1, 0),
        "1 worker x 1 thread": (1, 1),
        "2 workers x 1 thread": (2, 0),
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in setups}
    for _ in range(args.repeats):  # alternate, so load changes hit every set-up alike
        for name, (workers, threads) in setups.items():
            runs[name].append(sweep(args.trials, args.seeds, workers, threads))
            print(
                f"{name}: search {runs[name][-1][0]:.1f} s, sweep {runs[name][-1][1]:.1f} s",
                file=sys.stderr,
            )
    search = {n: statistics.median(s for s, _ in r) for n, r in runs.items()}
    wall = {n: statistics.median(t for _, t in r) for n, r in runs.items()}
    base = "1 worker x 2 threads"
    rows = [
        [
            n,
            f"{search[n]:.1f}",
            f"{args.trials * 3600 / search[n]:.0f}",
            f"{search[base] / search[n]:.2f}x",
            f"{wall[n]:.1f}",
            f"{wall[base] / wall[n]:.2f}x",
        ]
        for n in setups
    ]
    print(
        f"# sweep scaling, {args.trials} trials + {args.seeds} final seeds, median of "
        f"{args.repeats}; {machine()}"
    )
    print(
        markdown(
            ["set-up", "search s", "search trials/hour", "vs 1x2", "sweep wall s", "vs 1x2"], rows
        )
    )
    harness = search["1 worker x 1 thread"] / search["2 workers x 1 thread"]
    threads = search["1 worker x 1 thread"] / search[base]
    print(
        f"\nharness scaling (2 workers vs 1, 1 thread each): {harness:.2f}x; torch thread "
        f"speed-up (2 threads vs 1, one worker): {threads:.2f}x, so 2 workers x 1 thread "
        f"can beat 1 worker x 2 threads by at most {2 / threads:.2f}x"
    )


if __name__ == "__main__":
    main()
