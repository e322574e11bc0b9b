"""Stress the global trial cap: W worker processes started together claim trial slots of
S studies through rnnbench.sweep.slots, with a trivial objective (a 10-50 ms sleep), R
times; every study must end with exactly n_trials finished trials numbered 0..n-1.

    python benchmarks/global_cap_stress.py --storage sqlite --repetitions 50
    python benchmarks/global_cap_stress.py --storage postgresql://root@127.0.0.1:5432/postgres
    python benchmarks/global_cap_stress.py --storage mysql+pymysql://root@127.0.0.1:3306/test

`sqlite` means a fresh SQLite file per repetition in a temporary folder; server URLs get
fresh study names per repetition (deleted afterwards). The worker processes start once and
meet at a barrier before each repetition, so every repetition starts all of them together. The last stdout line is one JSON
object: repetitions, overcounts (studies with more than n_trials finished), undercounts,
finished counts seen, wall seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path


def worker(
    rounds: list[tuple[str, list[str]]], n_trials: int, sleep_ms: tuple[int, int], barrier
) -> None:
    """One worker process: for each round (storage URL, study names), wait until every
    worker is ready, then claim slots of each study in turn until its cap says FULL (as
    Sweep.search does). Processes live across rounds, so a round costs no start-up."""
    import optuna

    from rnnbench.sweep.locking import StorageLock
    from rnnbench.sweep.slots import Claim, TrialSlots
    from rnnbench.sweep.studies import open_storage

    def objective(trial) -> float:
        time.sleep(random.uniform(*sleep_ms) / 1000)
        return trial.suggest_float("x", 0.0, 1.0)

    storages: dict[str, object] = {}
    for url, names in rounds:
        storage = storages.get(url) or storages.setdefault(url, open_storage(url))
        studies = [optuna.load_study(study_name=name, storage=storage) for name in names]
        barrier.wait()  # all workers claim at the same moment
        for study in studies:
            slots = TrialSlots(
                StorageLock(url, f"{study.study_name}:claim"),
                n_trials,
                before_claim=optuna.storages.fail_stale_trials,
            )
            while (claim := slots.run_one(study, objective)) is not Claim.FULL:
                if claim is Claim.BUSY:
                    time.sleep(0.01)


def run_rounds(
    rounds: list[tuple[str, list[str]]], workers: int, n_trials: int, sleep_ms: tuple[int, int]
) -> list[list[int]]:
    """Finished trials per study of every round, after `workers` processes ran them."""
    import multiprocessing

    import optuna
    from optuna.trial import TrialState

    from rnnbench.sweep.studies import open_storage

    for url, names in rounds:  # created before the workers start, as the sweep's init lock does
        storage = open_storage(url)
        for name in names:
            optuna.create_study(study_name=name, storage=storage)
    context = multiprocessing.get_context("spawn")  # fresh processes, like real workers
    barrier = context.Barrier(workers)
    procs = [
        context.Process(target=worker, args=(rounds, n_trials, sleep_ms, barrier))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    if any(proc.exitcode for proc in procs):
        raise SystemExit(f"a worker failed (exit codes {[p.exitcode for p in procs]})")
    counts = []
    for url, names in rounds:
        storage = open_storage(url)
        found = []
        for name in names:
            trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
            numbers = sorted(t.number for t in trials)
            if numbers != list(range(len(trials))):
                raise SystemExit(f"{name}: trial numbers {numbers}")
            found.append(sum(t.state == TrialState.COMPLETE for t in trials))
            if not url.startswith("sqlite"):
                optuna.delete_study(study_name=name, storage=storage)
        counts.append(found)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="sqlite", help="'sqlite' or a server storage URL")
    parser.add_argument("--repetitions", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--studies", type=int, default=2)
    parser.add_argument("--n-trials", type=int, default=8)
    parser.add_argument("--sleep-ms", default="10,50", help="objective sleep range, ms")
    args = parser.parse_args()
    low, high = (int(x) for x in args.sleep_ms.split(","))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tag = uuid.uuid4().hex[:8]
        rounds = [
            (
                f"sqlite:///{Path(tmp) / f'rep{rep}.db'}"
                if args.storage == "sqlite"
                else args.storage,
                [f"stress-{tag}-{rep}:{i}" for i in range(args.studies)],
            )
            for rep in range(args.repetitions)
        ]
        counts = run_rounds(rounds, args.workers, args.n_trials, (low, high))
    seen: dict[int, int] = {}
    for rep, found in enumerate(counts, start=1):
        print(f"repetition {rep}/{args.repetitions}: finished per study {found}", file=sys.stderr)
        for c in found:
            seen[c] = seen.get(c, 0) + 1
    flat = [c for found in counts for c in found]
    print(
        json.dumps(
            {
                "storage": args.storage.split(":")[0],
                "repetitions": args.repetitions,
                "workers": args.workers,
                "studies": args.studies,
                "n_trials": args.n_trials,
                "overcounts": sum(c > args.n_trials for c in flat),
                "undercounts": sum(c < args.n_trials for c in flat),
                "finished_counts": {str(k): v for k, v in sorted(seen.items())},
                "wall_seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
