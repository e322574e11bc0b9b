"""The search phase of one pair: trials sample the model's search space and the shared
training knobs, run through the same runner as `rnnbench run`, are pruned on the task's
monitored metric, and are tracked as child runs (phase=search).

Trials are created one at a time under the pair's claim lock (rnnbench.sweep.slots), so
that `n_trials` is an exact cap across re-runs and workers; the loop ends when every
slot is finished, waiting for other workers' running trials, so that the best trial is
final. A trial that raises is FAILED, one that diverges is PRUNED, each with its reason,
and the sweep goes on. Trials are numbered from 0 everywhere (Optuna's trial.number).
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import IncompatibleError, PluginError, reason
from rnnbench.sweep.context import Pair, SweepContext
from rnnbench.sweep.locking import StorageLock
from rnnbench.sweep.slots import Claim, TrialSlots, snapshot
from rnnbench.sweep.space import sample_config
from rnnbench.sweep.studies import best_trial, open_study, sampler, study_name
from rnnbench.tracking import schema
from rnnbench.training.devices import is_distributed

POLL_SECONDS = 1.0  # how often a worker looks whether other workers' trials finished
# A trial that fails before training (the first-batch check, a plugin that raises while
# the run is built) fails the same way for every trial of its pair: the pair stops.
STOPS_THE_PAIR = (IncompatibleError, PluginError)
STOPPED = "stops_pair"  # user attribute of the trial that stopped its pair


class _NoOptunaTrialTraceback(logging.Filter):
    """Drops Optuna's own 'Trial N failed ... Traceback' warnings: the
    sweep reports a failed trial in one line of its own, the traceback in a log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        # "Trial N failed with parameters: ... Traceback", then "Trial N failed with value"
        return not re.match(r"Trial \d+ failed with (parameters|value)", str(record.msg))


def quiet_optuna_trial_failures() -> None:
    logger = logging.getLogger("optuna.study._optimize")
    if not any(isinstance(f, _NoOptunaTrialTraceback) for f in logger.filters):
        logger.addFilter(_NoOptunaTrialTraceback())


def log_traceback(ctx: SweepContext, pair: Pair, what: str, exc: BaseException) -> Path:
    """The full traceback of a failed trial or seed, in
    RESULTS_DIR/sweeps/NAME/logs/TASK-MODEL-WHAT.log; returns its path."""
    folder = Path(ctx.config.results_dir) / "sweeps" / ctx.config.name / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{pair.task}-{pair.model}-{what}")
    path = folder / f"{safe}.log"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def failure_line(ctx: SweepContext, pair: Pair, what: str, exc: BaseException) -> str:
    """'Type: message (traceback: PATH)', one line."""
    return f"{reason(exc)} (traceback: {log_traceback(ctx, pair, what, exc)})"


def stopping_trial(study: Any) -> Any:
    """The trial that stopped the pair (its pair's trials all fail before training), or
    None."""
    return next((t for t in study.get_trials(deepcopy=False) if t.user_attrs.get(STOPPED)), None)


def objective(ctx: SweepContext, pair: Pair, study_label: str):
    """The function Optuna calls for each trial: one tracked run, its monitored value."""
    import optuna
    from optuna_integration import PyTorchLightningPruningCallback

    from rnnbench.training.runner import execute, prepare

    spec = ctx.registry.task(pair.task)

    def run_trial(trial) -> float | None:
        try:
            config = sample_config(trial, ctx.config, ctx.registry, pair.task, pair.model)
            trial.set_user_attr(
                "config", {"model_params": dict(config.model_params), "train": dict(config.train)}
            )
            result = execute(
                prepare(config, ctx.registry),
                ctx.registry,
                ctx.tracker,
                run_name=f"{pair.task}/{pair.model} trial {trial.number}",
                parent_run_id=ctx.parent_run_id,
                extra_tags=ctx.tags(
                    pair.task,
                    pair.model,
                    study_label,
                    "search",
                    schema.tags({schema.TRIAL: trial.number}),
                ),
                # the ranks that DDP re-launches have no trial: prune single-device only
                callbacks=[]
                if is_distributed(config.train)
                else [PyTorchLightningPruningCallback(trial, monitor=spec.monitor)],
                keep_checkpoints=False,
                log_model=ctx.config.log_models == "all",
                on_start=lambda run_id: trial.set_user_attr("mlflow_run_id", run_id),
            )
        except optuna.TrialPruned:
            trial.set_user_attr("reason", f"pruned on {spec.monitor}")
            raise
        except Exception as exc:
            trial.set_user_attr(
                "error", failure_line(ctx, pair, f"trial{trial.number}", exc)[:1000]
            )
            if isinstance(exc, STOPS_THE_PAIR):
                trial.set_user_attr(STOPPED, True)
            raise
        trial.set_user_attr("baseline", result.baseline)  # for best_trial's check
        if result.diverged:  # never a best trial: recorded as pruned, with the reason
            trial.set_user_attr("reason", f"diverged: {result.diverged_reason}")
            raise optuna.TrialPruned(f"diverged: {result.diverged_reason}")
        return result.monitor_value

    return run_trial


def trial_line(ctx: SweepContext, pair: Pair, study: Any, trial: Any) -> str:
    """'[1/7] lstm on adding: trial 2 complete, 21.3 s, val_loss 0.0123 (best 0.0101, trial
    1); 3/4 trials; sweep 35%, ~04:10 left' (within 120 columns but for a long reason)."""
    monitor = ctx.registry.task(pair.task).monitor
    state = trial.state.name.lower()
    reason = trial.user_attrs.get("reason") or trial.user_attrs.get("error", "")
    took = ""
    if trial.datetime_start and trial.datetime_complete:
        took = f", {(trial.datetime_complete - trial.datetime_start).total_seconds():.1f} s"
    value = (
        f", {monitor} {trial.value:.4f}"
        if state == "complete"
        else f" ({reason})"
        if reason
        else ""
    )
    best = best_trial(study)
    best_text = (
        f"best {best.value:.4f}, trial {best.number}"
        if best is not None
        else "no complete trial yet"
    )
    finished = snapshot(study).finished
    return (
        f"{pair.label}: trial {trial.number} {state}{took}{value} ({best_text}); "
        f"{finished}/{ctx.config.n_trials} trials; {ctx.progress.eta(pair.index, finished)}"
    )


def search(ctx: SweepContext, pair: Pair, deadline: float | None):
    """Run trials until the study holds n_trials finished ones; returns the study."""
    import optuna

    label = study_name(ctx.config.name, pair.task, pair.model)
    study = open_study(ctx, pair.task, pair.model)
    n = ctx.config.n_trials
    count = snapshot(study)
    if (count.finished >= n and count.running + count.waiting == 0) or stopping_trial(study):
        return study
    quiet_optuna_trial_failures()
    ctx.progress.report(f"{pair.label}: searching, {count.finished}/{n} trials done")

    def tidy(study) -> None:
        optuna.storages.fail_stale_trials(study)  # a dead worker's trial is retried
        mark_killed_runs(ctx, study)

    def reseed(study, position: int) -> None:
        # Seeded by the trial's position (trials are created one at a time under the
        # claim lock): one worker's sweep is reproducible, and workers never share a
        # random stream (with one sampler seed each would draw the same trials). Optuna
        # has no per-trial sampler argument; Study.sampler is its public attribute.
        study.sampler = sampler(ctx, position)

    def progress(study, trial) -> None:
        line = trial_line(ctx, pair, study, trial)
        if trial.user_attrs.get(STOPPED):
            line += "; the pair stops here (its other trials would fail the same way)"
        ctx.progress.report(line)

    slots = TrialSlots(
        StorageLock(ctx.storage_url, f"{label}:claim"), n, before_claim=tidy, before_trial=reseed
    )
    run_trial = objective(ctx, pair, label)
    while deadline is None or time.monotonic() < deadline:
        claim = slots.run_one(study, run_trial, callbacks=[progress])
        if claim is Claim.FULL or stopping_trial(study):
            break  # every slot finished (the best trial is final), or the pair stopped
        if claim is Claim.BUSY:
            time.sleep(POLL_SECONDS)  # another worker is still running a trial
    return study


def mark_killed_runs(ctx: SweepContext, study: Any) -> None:
    """A trial failed by a stale heartbeat belonged to a killed worker: its tracked run,
    left RUNNING, is marked KILLED."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        run_id = trial.user_attrs.get("mlflow_run_id")
        if not run_id or "error" in trial.user_attrs:
            continue
        if ctx.tracker.run_status(run_id) == "RUNNING":
            ctx.tracker.set_tags(
                run_id,
                schema.tags(
                    {schema.STATUS: "killed", schema.ERROR: "worker died (stale heartbeat)"}
                ),
            )
            ctx.tracker.end_run(run_id, "KILLED")
