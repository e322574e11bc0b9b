"""One Optuna study per (task, model): the storage, creating or joining a study (with its
objective named and its labels for optuna-dashboard), and its best trial."""

from __future__ import annotations

from typing import Any

from rnnbench.contract.errors import ConfigError, reason
from rnnbench.sweep.locking import StorageLock


def study_name(sweep: str, task: str, model: str) -> str:
    return f"{sweep}:{task}:{model}"


def open_storage(url: str, heartbeat: int = 30):
    """An Optuna RDB storage with heartbeats, so that a killed worker's trial is
    failed and retried instead of staying RUNNING forever."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": 60}
    else:
        engine_kwargs["pool_pre_ping"] = True
    try:
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat,
            grace_period=3 * heartbeat,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=3
            ),
        )
    except Exception as exc:
        raise ConfigError(f"--storage {url}: cannot open ({reason(exc)})") from None


def sampler(ctx: Any, seed: int) -> Any:
    """The sweep's sampler (by name, from the registry), seeded."""
    return ctx.registry.sampler(ctx.config.sampler).factory(seed)


def open_study(ctx: Any, task: str, model: str) -> Any:
    """Create the pair's study, or join it: one worker creates it under a storage lock,
    the others load it."""
    import optuna

    spec = ctx.registry.task(task)
    pruner = ctx.registry.pruner(ctx.config.pruner).factory(ctx.config.train["max_epochs"])
    name = study_name(ctx.config.name, task, model)
    with StorageLock(ctx.storage_url, f"{name}:create"):
        study = optuna.create_study(
            study_name=name,
            storage=ctx.storage,
            sampler=sampler(ctx, 0),
            pruner=pruner,
            load_if_exists=True,
            direction="minimize" if spec.mode == "min" else "maximize",
        )
        if study.metric_names != [spec.monitor]:
            # read by optuna-dashboard and trials_dataframe() instead of "Objective 0"
            study.set_metric_names([spec.monitor])
        labels = {
            "task": task,
            "model": model,
            "sweep": ctx.config.name,
            "mlflow_parent_run_id": ctx.parent_run_id,
        }
        for key, value in labels.items():
            if study.user_attrs.get(key) != value:
                study.set_user_attr(key, value)
        return study


def best_trial(study: Any) -> Any:
    """The best complete trial that did not diverge (a study written before diverged
    trials were pruned may hold complete ones: non-finite, or 100x worse than the
    baseline), or None."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    from rnnbench.training.divergence import value_divergence

    minimize = study.direction == StudyDirection.MINIMIZE
    complete = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if value_divergence(t.value, t.user_attrs.get("baseline"), "min" if minimize else "max")
        is None
    ]
    if not complete:
        return None
    # the first of equal values wins, as with study.best_trial
    return (min if minimize else max)(complete, key=lambda t: t.value)
