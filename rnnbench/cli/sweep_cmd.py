"""`rnnbench sweep`: Optuna search per (task, model), seeded finals, the leaderboard."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rnnbench.cli.common import add_device_options, ensure_results_dir, print_json, quiet_libraries
from rnnbench.locking import StorageLock


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep", help="search hyperparameters and build the leaderboard",
        description="With no arguments: the default benchmark (rnn, lstm, gru, memnet on the "
                    "adding problem at T=100 and copy memory; 1500 optimiser steps per run, "
                    "3 seeds, 2 workers; a few minutes on a 2-core CPU), SQLite storage in "
                    "the results folder.")
    parser.add_argument("--config", type=Path, help="YAML sweep configuration")
    parser.add_argument("--models", help="comma-separated model names, or 'all'")
    parser.add_argument("--tasks", help="comma-separated task names, or 'synthetic'")
    parser.add_argument("--all-installed", action="store_true", default=None,
                        help="'all' and 'synthetic' include installed plugins, not only the "
                             "built-ins")
    parser.add_argument("--n-trials", type=int,
                        help="finished trials per study (global cap); 0: no search")
    parser.add_argument("--timeout", type=float, help="seconds for the whole search phase")
    parser.add_argument("--seeds", type=int, help="final re-training seeds (default 3)")
    parser.add_argument("--storage", help="Optuna storage URL (default sqlite in results dir)")
    parser.add_argument("--study-name", dest="name", help="sweep name; studies are NAME:TASK:MODEL")
    parser.add_argument("--workers", type=int,
                        help="worker processes on this machine sharing the studies "
                             "(torch threads are split between them)")
    parser.add_argument("--sampler", help="Optuna sampler by name (tpe, random, or a "
                                           "plugin's; see `rnnbench list`)")
    parser.add_argument("--pruner", help="Optuna pruner by name (median, hyperband, none, or "
                                         "a plugin's)")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="output folder (default ./results)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite in results dir)")
    parser.add_argument("--experiment", help="MLflow experiment name (default rnnbench)")
    add_device_options(parser)
    parser.add_argument("--diagnostics",
                        help="diagnostics recorded in every run: names from `rnnbench list`, "
                             "comma-separated (e.g. gradient-flow)")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rnnbench.registry import get_registry
    from rnnbench.sweep_config import build_sweep_config

    registry = get_registry()
    flags = {"models": args.models, "tasks": args.tasks, "n_trials": args.n_trials,
             "timeout": args.timeout, "seeds": args.seeds, "storage": args.storage,
             "name": args.name, "sampler": args.sampler, "pruner": args.pruner,
             "workers": args.workers, "all_installed": args.all_installed,
             "tracking_uri": args.tracking_uri, "experiment": args.experiment,
             "results_dir": str(args.results_dir) if args.results_dir else None}
    config = build_sweep_config(registry, args.config, flags)
    for flag, key in (("accelerator", "accelerator"), ("devices", "devices"),
                      ("strategy", "strategy"), ("diagnostics", "diagnostics")):
        value = getattr(args, flag)
        if value is not None:
            from rnnbench.config import TRAIN_PARAMS

            config.train[key] = TRAIN_PARAMS.get(key).convert(value, f"--{flag}")
    check_before_writing(config)
    if os.environ.get(WORKER_ENV):  # a helper started by --workers: trials and final seeds
        sweep, _ = open_sweep(config, registry)
        sweep.report = lambda line: None
        sweep.run()
        return 0
    # Helpers start as soon as the configuration is known to be valid, so that their
    # start-up (imports, storage) overlaps this process's instead of delaying their
    # first trials; they stop with this process if anything below fails.
    helpers = Helpers(args.argv, config.workers - 1)
    try:
        sweep, parent = open_sweep(config, registry, report=stderr_line)
        try:
            outcomes = sweep.run()
        except BaseException:
            sweep.tracker.end_run(parent, "KILLED")
            raise
        for problem in helpers.wait():
            sweep.report(problem)
    finally:
        helpers.stop()
    from rnnbench.sweep_parent import publish

    results_dir, tracker, storage_url = config.results_dir, sweep.tracker, sweep.storage_url
    with StorageLock(storage_url, f"{config.name}:publish"):
        rows, files = publish(tracker, parent, config, results_dir)
        tracker.end_run(parent, "FINISHED")
    if args.json:
        from dataclasses import asdict

        print_json({"sweep": config.name, "mlflow_parent_run_id": parent, "storage": storage_url,
                    "pairs": [asdict(o) for o in outcomes], "leaderboard": rows,
                    "files": [str(f) for f in files]})
        return 0
    from rnnbench.leaderboard_format import render

    print(render(rows, "table", config.name), end="")
    for outcome in outcomes:
        if outcome.note:
            print(f"{outcome.model} on {outcome.task}: {outcome.note}")
    print(f"\nwritten: {', '.join(str(f) for f in files)}")
    return 0


def check_before_writing(config) -> None:
    """What can be refused before any folder, database or lock file exists: the devices,
    the storage URL's scheme and driver, an unreachable tracking server."""
    from rnnbench.config import resolve_tracking_uri
    from rnnbench.locking import check_storage_url
    from rnnbench.runner import check_devices
    from rnnbench.tracking import check_tracking_uri

    check_devices(config.train)
    if config.storage:
        check_storage_url(config.storage)
    check_tracking_uri(resolve_tracking_uri(config.tracking_uri, Path(config.results_dir)))


def open_sweep(config, registry, report=lambda line: None):
    """(Sweep, parent MLflow run id) after checking the results folder and opening the
    storage and tracking store. Workers starting together: one creates the schemas and
    the parent run, the rest join."""
    from rnnbench.config import resolve_tracking_uri
    from rnnbench.sweep import Sweep, open_storage
    from rnnbench.sweep_parent import open_parent
    from rnnbench.tracking import Tracker

    quiet_libraries()
    results_dir = ensure_results_dir(config.results_dir)
    config.results_dir = results_dir
    if not config.train["num_threads"]:
        config.train["num_threads"] = max(1, (os.cpu_count() or 1) // config.workers)
    storage_url = config.storage or f"sqlite:///{(results_dir / 'optuna.db').as_posix()}"
    with StorageLock(storage_url, f"{config.name}:init"):
        storage = open_storage(storage_url, config.heartbeat)
        tracker = Tracker(resolve_tracking_uri(config.tracking_uri, results_dir),
                          config.experiment, artifact_root=results_dir / "mlartifacts")
        parent = open_parent(tracker, config, config.pairs(registry), storage_url, report)
    sweep = Sweep(config, registry, tracker, storage, storage_url)
    sweep.parent_run_id = parent
    return sweep, parent


WORKER_ENV = "RNNBENCH_SWEEP_WORKER"


def stderr_line(line: str) -> None:
    import sys

    print(line, file=sys.stderr, flush=True)


class Helpers:
    """`count` more processes running the same sweep command on the same storage.

    Their stdout is discarded and their stderr kept in a temporary file, so that a
    problem this process also meets (an unreachable storage, say) is printed once; a
    helper that fails is reported with the last line it wrote.
    """

    def __init__(self, argv: list[str], count: int) -> None:
        import subprocess
        import sys
        import tempfile

        env = {**os.environ, WORKER_ENV: "1"}
        self.logs = [tempfile.TemporaryFile("w+") for _ in range(count)]
        self.procs = [subprocess.Popen([sys.executable, "-m", "rnnbench", *argv], env=env,
                                       stdout=subprocess.DEVNULL, stderr=log)
                      for log in self.logs]

    def wait(self) -> list[str]:
        """Wait for every helper; one line per helper that failed."""
        problems = []
        for index, (proc, log) in enumerate(zip(self.procs, self.logs, strict=True), start=1):
            if proc.wait() != 0:
                log.seek(0)
                lines = [line.strip() for line in log if line.strip()]
                problems.append(f"worker {index} exited with code {proc.returncode}"
                                f"{': ' + lines[-1] if lines else ''}")
        return problems

    def stop(self) -> None:
        """Terminate the helpers still running and drop their logs."""
        import subprocess

        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc, log in zip(self.procs, self.logs, strict=True):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # ignored SIGTERM: stop it for good
                proc.kill()
                proc.wait()
            log.close()
