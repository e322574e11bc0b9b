"""The final phase of one pair: its best configuration (or its fixed one, without a
search) re-trained with seeds 0..S-1 (phase=final) and scored on the test split.

Workers share the seeds: each seed trains under its own storage lock, and its record is
kept in the study's user attributes (`final:BEST:SEED`), so a worker first runs the
seeds nobody holds, then waits for those that other workers hold and runs any left
undone (its holder died, or it failed before this worker started); a re-run of the
sweep skips what is done. One seed failing never loses the others.
"""

from __future__ import annotations

import time
from typing import Any

from rnnbench.sweep.context import Pair, SweepContext
from rnnbench.sweep.locking import StorageLock
from rnnbench.sweep.search import failure_line
from rnnbench.tracking import schema
from rnnbench.training.config import RunConfig


def finished_seeds(study: Any, best: Any, seeds: int) -> int:
    attrs = study.user_attrs
    return sum(f"final:{best.number}:{seed}" in attrs for seed in range(seeds))


def run_finals(ctx: SweepContext, study: Any, pair: Pair, best: Any) -> list[dict]:
    """Train every seed of `best` (a trial, or a FixedConfiguration); their records."""
    seeds = ctx.config.seeds
    held_elsewhere = [
        seed for seed in range(seeds) if not final_seed(ctx, study, pair, best, seed, wait=False)
    ]
    for seed in held_elsewhere:
        final_seed(ctx, study, pair, best, seed, wait=True)
    attrs = study.user_attrs  # read from the storage: other workers' seeds included
    return [attrs[key] for seed in range(seeds) if (key := f"final:{best.number}:{seed}") in attrs]


def final_seed(ctx: SweepContext, study: Any, pair: Pair, best: Any, seed: int, wait: bool) -> bool:
    """Run one final seed unless it is done; False when `wait` is off and another worker
    holds it. A seed that failed since this worker started is not retried (a later run
    of the sweep retries it)."""
    key = f"final:{best.number}:{seed}"
    lock = StorageLock(ctx.storage_url, f"{study.study_name}:{key}")
    if not lock.acquire(blocking=wait):
        return False
    try:
        attrs = study.user_attrs
        failed = attrs.get(f"{key}:error")
        if key in attrs or (failed and failed["at"] >= ctx.started_at):
            return True
        end_abandoned_run(ctx, attrs.get(f"{key}:run"))
        train_seed(ctx, study, pair, best, seed, key)
        return True
    finally:
        lock.release()


def train_seed(ctx: SweepContext, study: Any, pair: Pair, best: Any, seed: int, key: str) -> None:
    """One tracked run of `best` with train.seed = seed; its record (or its error) goes
    to the study, and one progress line says how it went."""
    from rnnbench.training.runner import execute, prepare

    saved = best.user_attrs["config"]
    seeds = ctx.config.seeds
    try:
        config = final_config(ctx, pair, saved, seed)
        result = execute(
            prepare(config, ctx.registry),
            ctx.registry,
            ctx.tracker,
            run_name=f"{pair.task}/{pair.model} seed {seed}",
            parent_run_id=ctx.parent_run_id,
            extra_tags=ctx.tags(
                pair.task,
                pair.model,
                study.study_name,
                "final",
                schema.tags({schema.BEST_TRIAL: best.number}),
            ),
            keep_checkpoints=False,
            # the weights live in the tracking store (unless --log-models none)
            log_model=ctx.config.log_models != "none",
            on_start=lambda run_id: study.set_user_attr(f"{key}:run", run_id),
        )
    except Exception as exc:
        message = failure_line(ctx, pair, f"seed{seed}", exc)
        ctx.progress.report(f"{pair.label}: seed {seed} failed: {message}")
        study.set_user_attr(f"{key}:error", {"error": message[:1000], "at": time.time()})
        return
    study.set_user_attr(
        key,
        {
            "seed": seed,
            "mlflow_run_id": result.mlflow_run_id,
            "metrics": result.to_json()["metrics"],
            "diverged": result.diverged,
        },
    )
    metric = f"test_{ctx.registry.task(pair.task).main_metric}"
    value = result.metrics.get(metric, float("nan"))
    verdict = ", diverged" if result.diverged else ", solved" if result.solved else ""
    done = ctx.config.n_trials + finished_seeds(study, best, seeds)
    ctx.progress.report(
        f"{pair.label}: seed {seed} ({seed + 1} of {seeds}) done in "
        f"{result.wall_seconds:.1f} s, {metric} {value:.4g}{verdict}; "
        f"{ctx.progress.eta(pair.index, done)}"
    )


def final_config(ctx: SweepContext, pair: Pair, saved: dict, seed: int) -> RunConfig:
    """The best configuration with train.seed = seed, through the same build (and
    checks) as `rnnbench run`; under a parameter budget the width is derived again."""
    from rnnbench.sweep.space import run_config

    train = {**saved["train"], "seed": seed}
    model_params = dict(saved["model_params"])
    if train.get("param_budget"):
        model_params.pop(ctx.registry.model(pair.model).width, None)
    return run_config(
        ctx.config, ctx.registry, pair.task, pair.model, model_params, train, f"final seed {seed}"
    )


def end_abandoned_run(ctx: SweepContext, run_id: str | None) -> None:
    """A final seed's run left RUNNING by a worker that died is marked KILLED."""
    if run_id and ctx.tracker.run_status(run_id) == "RUNNING":
        ctx.tracker.set_tags(
            run_id,
            schema.tags(
                {schema.STATUS: "killed", schema.ERROR: "worker died during final training"}
            ),
        )
        ctx.tracker.end_run(run_id, "KILLED")
