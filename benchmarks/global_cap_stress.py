"""Stress the global trial cap: W worker processes started together claim trial slots of
S studies through rnnbench.trial_slots, with a trivial objective (a 10-50 ms sleep), R
times; every study must end with exactly n_trials finished trials numbered 0..n-1.

    python benchmarks/global_cap_stress.py --storage sqlite --repetitions 50
    python benchmarks/global_cap_stress.py --storage postgresql://root@127.0.0.1:5432/postgres
    python benchmarks/global_cap_stress.py --storage mysql+pymysql://root@127.0.0.1:3306/test

`sqlite` means a fresh SQLite file per repetition in a temporary folder; server URLs get
fresh study names per repetition (deleted afterwards). The last stdout line is one JSON
object: repetitions, overcounts (studies with more than n_trials finished), undercounts,
finished counts seen, wall seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def worker(url: str, studies: list[str], n_trials: int, start_at: float, sleep_ms: tuple[int, int]) -> None:
    """One worker: every study in turn, until its cap says FULL (as Sweep.search does)."""
    import optuna

    from rnnbench.locking import StorageLock
    from rnnbench.sweep import open_storage
    from rnnbench.trial_slots import Claim, TrialSlots

    storage = open_storage(url)
    time.sleep(max(0.0, start_at - time.time()))  # all workers claim at the same moment

    def objective(trial) -> float:
        time.sleep(random.uniform(*sleep_ms) / 1000)
        return trial.suggest_float("x", 0.0, 1.0)

    for name in studies:
        study = optuna.load_study(study_name=name, storage=storage)
        slots = TrialSlots(StorageLock(url, f"{name}:claim"), n_trials,
                           before_claim=optuna.storages.fail_stale_trials)
        while (claim := slots.run_one(study, objective)) is not Claim.FULL:
            if claim is Claim.BUSY:
                time.sleep(0.01)


def repetition(url: str, workers: int, studies: int, n_trials: int,
               sleep_ms: tuple[int, int]) -> list[int]:
    """Finished trials per study after one round of `workers` processes."""
    import optuna
    from optuna.trial import TrialState

    from rnnbench.sweep import open_storage

    storage = open_storage(url)
    names = [f"stress-{uuid.uuid4().hex[:8]}:{i}" for i in range(studies)]
    for name in names:  # created before the workers start, as the sweep's init lock does
        optuna.create_study(study_name=name, storage=storage)
    start_at = time.time() + 0.5 + 0.25 * workers  # after every worker's imports
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", url, ",".join(names),
                               str(n_trials), repr(start_at), f"{sleep_ms[0]},{sleep_ms[1]}"])
             for _ in range(workers)]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(f"a worker failed (exit codes {codes})")
    counts = []
    for name in names:
        trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
        finished = [t for t in trials if t.state == TrialState.COMPLETE]
        if sorted(t.number for t in trials) != list(range(len(trials))):
            raise SystemExit(f"{name}: trial numbers {sorted(t.number for t in trials)}")
        counts.append(len(finished))
        if not url.startswith("sqlite"):
            optuna.delete_study(study_name=name, storage=storage)
    return counts


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        url, names, n, start_at, sleep = sys.argv[2:7]
        low, high = (int(x) for x in sleep.split(","))
        worker(url, names.split(","), int(n), float(start_at), (low, high))
        return
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
    seen: dict[int, int] = {}
    over = under = 0
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repetitions):
            url = f"sqlite:///{Path(tmp) / f'rep{rep}.db'}" if args.storage == "sqlite" \
                else args.storage
            counts = repetition(url, args.workers, args.studies, args.n_trials, (low, high))
            over += sum(c > args.n_trials for c in counts)
            under += sum(c < args.n_trials for c in counts)
            for c in counts:
                seen[c] = seen.get(c, 0) + 1
            print(f"repetition {rep + 1}/{args.repetitions}: finished per study {counts}",
                  file=sys.stderr, flush=True)
    print(json.dumps({"storage": args.storage.split(":")[0], "repetitions": args.repetitions,
                      "workers": args.workers, "studies": args.studies,
                      "n_trials": args.n_trials, "overcounts": over, "undercounts": under,
                      "finished_counts": {str(k): v for k, v in sorted(seen.items())},
                      "wall_seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
