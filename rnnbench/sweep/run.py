"""A whole sweep: check, open the stores, run every pair's search and finals, publish the
leaderboard. `run_sweep` is the library entry point; `rnnbench sweep` parses its
arguments into a SweepConfig and calls it.

    from rnnbench.sweep import build_sweep_config, run_sweep
    from rnnbench.contract.registry import get_registry
    config = build_sweep_config(get_registry(), "my-sweep.yaml", {"n_trials": 4})
    result = run_sweep(config)           # SQLite in config.results_dir by default
    result.rows[0]["model"], result.files
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import ConfigError, RnnbenchError
from rnnbench.contract.registry import Registry, get_registry
from rnnbench.sweep.config import SweepConfig
from rnnbench.sweep.context import Pair, SweepContext
from rnnbench.sweep.finals import run_finals
from rnnbench.sweep.locking import StorageLock, check_storage_url
from rnnbench.sweep.progress import SweepProgress
from rnnbench.sweep.search import search, stopping_trial
from rnnbench.sweep.space import FixedConfiguration, fixed_config
from rnnbench.sweep.studies import best_trial, open_storage, open_study
from rnnbench.sweep.workers import Helpers, helper_report, is_helper


@dataclass
class PairOutcome:
    task: str
    model: str
    study: str
    trials: dict[str, int] = field(default_factory=dict)
    best_value: float | None = None
    best_trial: int | str | None = None
    finals: list[dict] = field(default_factory=list)
    note: str = ""


@dataclass
class SweepResult:
    name: str
    parent_run_id: str
    storage_url: str
    outcomes: list[PairOutcome]
    rows: list[dict]  # the leaderboard (rnnbench.tracking.leaderboard.build_rows)
    files: list[Path]
    curves: list = field(default_factory=list)  # rnnbench.tracking.expected_best.Curve
    cost: list = field(default_factory=list)  # rnnbench.tracking.cost.ModelCost, by model
    views: list = field(default_factory=list)  # rnnbench.tracking.views.View, one per task
    tracking_uri: str = ""
    experiment_id: str = ""


LINE_WIDTH = 120  # columns of every line a sweep prints (but a failure report)
TRACEBACK_MARK = "(traceback: "  # a failure report names its traceback file after this


def stderr_line(line: str) -> None:
    """One progress line on stderr, cut at a word to LINE_WIDTH columns (a failed run's
    full error is in its MLflow tags). A line that points at a traceback file is a pair's
    one-line failure report: it stays whole, so that the plugin, the reason and the file
    can be read."""
    from rnnbench.tracking.mlflow_tracker import cut_line

    whole = TRACEBACK_MARK in line
    print(line if whole else cut_line(line, LINE_WIDTH), file=sys.stderr, flush=True)


def check_before_writing(config: SweepConfig) -> None:
    """What can be refused before any folder, database or lock file exists: the devices,
    the storage URL's scheme and driver, an unreachable tracking server."""
    from rnnbench.tracking.mlflow_tracker import check_tracking_uri
    from rnnbench.training.config import (
        check_experiment,
        resolve_tracking_uri,
        tracking_uri_source,
    )
    from rnnbench.training.devices import check_devices

    check_devices(config.train)
    check_experiment(config.experiment)
    if config.storage:
        check_storage_url(config.storage)
    source = tracking_uri_source(config.tracking_uri)
    if source:
        check_tracking_uri(
            resolve_tracking_uri(config.tracking_uri, Path(config.results_dir)), option=source
        )


def check_pairs(config: SweepConfig, registry: Registry) -> None:
    """Every pair's configuration (searched values at their defaults) passes the checks
    `rnnbench run` makes (build_run_config: options, diagnostics, embeddings, budget
    request) and, under a parameter budget, reaches it: before anything is written."""
    from rnnbench.training.budget import fit_for_config

    for task, model in config.pairs(registry):
        try:
            run = fixed_config(config, registry, task, model)
        except RnnbenchError as exc:
            raise type(exc)(f"{model} on {task}: {exc}") from None
        if config.train.get("param_budget"):
            try:
                fit_for_config(run, registry)
            except ConfigError as exc:
                raise ConfigError(f"{config.budget_at}: {exc}") from None


def open_sweep(config: SweepConfig, registry: Registry, report=stderr_line) -> SweepContext:
    """The results folder, the storage, the tracker and the parent run, ready to run.
    Workers starting together: one creates the schemas and the parent run, the rest join."""
    from rnnbench.sweep.parent import open_parent
    from rnnbench.tracking.mlflow_tracker import MlflowTracker
    from rnnbench.training.config import resolve_tracking_uri
    from rnnbench.training.setup import ensure_results_dir, quiet_libraries

    quiet_libraries()
    results_dir = ensure_results_dir(config.results_dir)  # config: absolute, not created
    storage_url = config.storage or f"sqlite:///{(results_dir / 'optuna.db').as_posix()}"
    pairs = config.pairs(registry)
    with StorageLock(storage_url, f"{config.name}:init"):
        storage = open_storage(storage_url, config.heartbeat)
        uri = resolve_tracking_uri(config.tracking_uri, results_dir)
        # a tracking server keeps the artifacts itself (every host reaches them through
        # it); a database URI stores them beside the results
        served = uri.lower().startswith(("http://", "https://"))
        tracker = MlflowTracker(
            uri, config.experiment, artifact_root=None if served else results_dir / "mlartifacts"
        )
        parent = open_parent(tracker, config, pairs, storage_url, report)
    progress = SweepProgress(len(pairs), config.n_trials + config.seeds, report)
    return SweepContext(config, registry, tracker, storage, storage_url, progress, parent)


def run_pairs(ctx: SweepContext) -> list[PairOutcome]:
    """Search and finalise every pair, in order (the search phase within the timeout)."""
    pairs = ctx.config.pairs(ctx.registry)
    started = time.monotonic()
    deadline = None if ctx.config.timeout is None else started + ctx.config.timeout
    outcomes = []
    for index, (task, model) in enumerate(pairs, start=1):
        pair = Pair(task, model, index, len(pairs))
        if ctx.config.n_trials == 0:
            outcomes.append(conclude_fixed(ctx, pair))
        else:
            outcomes.append(conclude(ctx, search(ctx, pair, deadline), pair))
    return outcomes


def conclude_fixed(ctx: SweepContext, pair: Pair) -> PairOutcome:
    """No search: the pair's fixed configuration trained with every seed (the study holds
    no trial, only the finals' records, shared between workers)."""
    study = open_study(ctx, pair.task, pair.model)
    config = fixed_config(ctx.config, ctx.registry, pair.task, pair.model)
    fixed = FixedConfiguration(
        "fixed",
        {"config": {"model_params": dict(config.model_params), "train": dict(config.train)}},
    )
    outcome = PairOutcome(pair.task, pair.model, study.study_name, best_trial="fixed")
    outcome.finals = run_finals(ctx, study, pair, fixed)
    return outcome


def conclude(ctx: SweepContext, study: Any, pair: Pair) -> PairOutcome:
    """The pair's outcome, after its final seeds (none without a complete trial)."""
    from optuna.trial import TrialState

    outcome = PairOutcome(pair.task, pair.model, study.study_name)
    trials = study.get_trials(deepcopy=False)
    outcome.trials = {
        s.name.lower(): sum(t.state == s for t in trials)
        for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    }
    best = best_trial(study)
    stopped = stopping_trial(study)
    if stopped is not None:  # reported once, by its trial's line; said again with the board
        outcome.note = (
            f"not on the leaderboard: trial {stopped.number} failed before "
            f"training, so its other trials were not run: "
            f"{stopped.user_attrs.get('error', '')}"
        )
    elif best is None:
        outcome.note = (
            "no complete trial: "
            + "; ".join(
                sorted(
                    {
                        t.user_attrs.get("error")
                        or t.user_attrs.get("reason", t.state.name.lower())
                        for t in trials
                    }
                )
            )[:300]
        )
        ctx.progress.report(f"{pair.label}: {outcome.note}")
    else:
        outcome.best_value, outcome.best_trial = best.value, best.number
        outcome.finals = run_finals(ctx, study, pair, best)
    return outcome


def run_sweep(
    config: SweepConfig,
    registry: Registry | None = None,
    argv: list[str] | None = None,
    report=stderr_line,
) -> SweepResult | None:
    """Run the sweep described by `config` and publish its leaderboard.

    With `workers` > 1, helper processes re-run `python -m rnnbench ARGV` (the command
    line that built `config`), so `argv` is needed. In a helper (started that way) this
    runs trials and seeds silently and returns None; the lead publishes.
    """
    from rnnbench.sweep.parent import publish

    registry = registry or get_registry()
    check_before_writing(config)
    check_pairs(config, registry)
    if is_helper():  # its trial and seed lines go to the lead, which prints them
        ctx = open_sweep(config, registry, report=lambda line: None)
        ctx.progress.report = helper_report
        run_pairs(ctx)
        return None
    if config.workers > 1 and argv is None:
        raise ConfigError(
            "workers > 1: the helper processes re-run the command line; pass "
            "argv (e.g. ['sweep', '--config', 'my-sweep.yaml']) or workers=1"
        )
    # Helpers start as soon as the configuration is known to be valid, so that their
    # start-up (imports, storage) overlaps this process's; they stop with it on failure.
    helpers = Helpers(argv or [], config.workers - 1, report)
    try:
        ctx = open_sweep(config, registry, report)
        try:
            outcomes = run_pairs(ctx)
        except BaseException:
            ctx.tracker.end_run(ctx.parent_run_id, "KILLED")
            raise
        for problem in helpers.wait():
            report(problem)
    finally:
        helpers.stop()
    with StorageLock(ctx.storage_url, f"{config.name}:publish"):
        missing = [f"{o.model} on {o.task}: {o.note}" for o in outcomes if o.note and not o.finals]
        rows, files, curves, cost, views = publish(
            ctx.tracker, str(ctx.parent_run_id), config, config.results_dir, missing
        )
        ctx.tracker.end_run(ctx.parent_run_id, "FINISHED")
    report(f"sweep {config.name!r} done in {ctx.progress.elapsed()}")
    return SweepResult(
        config.name,
        str(ctx.parent_run_id),
        ctx.storage_url,
        outcomes,
        rows,
        files,
        curves,
        cost,
        views,
        ctx.tracker.tracking_uri,
        ctx.tracker.experiment_id,
    )
