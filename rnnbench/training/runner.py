"""Run one (model, task) configuration: build, train, evaluate, track.

Order matters for the "nothing half-written" promise: the task's data and the model
are built and checked first (any error leaves no trace); only then are the results
folder and the MLflow run created.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import Interrupted, RnnbenchError, plugin_call
from rnnbench.contract.registry import Registry
from rnnbench.contract.specs import ModelSpec
from rnnbench.tracking import schema
from rnnbench.training.budget import budgeted_count, fit_budget
from rnnbench.training.config import RunConfig, selected_diagnostics
from rnnbench.training.devices import check_devices, is_distributed
from rnnbench.training.distributed import launch_context
from rnnbench.training.divergence import divergence
from rnnbench.training.embeddings import embedding_size, install_embeddings, prepare_embeddings
from rnnbench.training.prepared import PreparedRun
from rnnbench.training.reports import log_reports
from rnnbench.training.result import RunResult
from rnnbench.training.resume import config_hash, find_resumable
from rnnbench.training.samples import TaskSamples
from rnnbench.training.schedules import OPTIONS as SCHEDULE_OPTIONS
from rnnbench.training.trainer import make_trainer, single_device_trainer
from rnnbench.training.tying import init_uniform, tied_head

SCHEDULE_NAMES = tuple(p.name for p in SCHEDULE_OPTIONS)


def prepare(config: RunConfig, registry: Registry) -> PreparedRun:
    """Build the task's data, the model and the Lightning system from a validated config.
    The PreparedRun's config is that config with the derived values (budgeted width,
    embedding size) over it: what the model is built with, logged and hashed."""
    import lightning.pytorch as pl
    import torch

    from rnnbench.training.preflight import check_first_batch
    from rnnbench.training.system import BenchmarkSystem

    train = config.train
    check_devices(train)
    if train["num_threads"]:
        torch.set_num_threads(train["num_threads"])
    # Denormal arithmetic is microcoded on x86 (tens to hundreds of times slower per
    # operation, depending on the CPU); a recurrent network's vanishing gradients are
    # full of them. set_flush_denormal returns False where the CPU cannot flush.
    torch.set_flush_denormal(train["flush_denormal"])
    model_spec = registry.model(config.model)
    task_spec = registry.task(config.task)
    pl.seed_everything(train["seed"], workers=True, verbose=False)
    # a task or model plugin that raises is one line naming it (PluginError)
    task_label = registry.plugin_label("task", config.task)
    task = plugin_call(
        task_label,
        "its factory",
        task_spec.factory,
        dict(config.task_options),
        batch_size=train["batch_size"],
        seed=train["seed"],
    )
    plugin_call(task_label, "Task.prepare()", task.prepare)
    embeddings = prepare_embeddings(config, model_spec, task)  # train.embeddings, or None
    # the values derived here make a new config (the validated one is immutable): the
    # embedding size of the vectors file, then the width that meets the parameter budget
    config = config.with_derived(embedding_size(model_spec, embeddings))
    context = plugin_call(task_label, "Task.context()", task.context)
    budget = fit_budget(config, model_spec, task)
    if budget is not None:
        config = config.with_derived({budget.width_param: budget.width})
    check_model_memory(model_spec, context, config.model_params)
    model = plugin_call(
        registry.plugin_label("model", config.model),
        "its builder",
        model_spec.builder,
        context,
        **config.model_params,
    )
    if not isinstance(model, torch.nn.Module) or not isinstance(
        getattr(model, "output_size", None), int
    ):
        raise RnnbenchError(
            f"model {config.model!r}: its builder must return an nn.Module with an int "
            "attribute output_size"
        )
    install_embeddings(model, model_spec, embeddings)
    clip = train["clip_algorithm"]
    system = BenchmarkSystem(
        model,
        task,
        lr=train["lr"],
        optimizer=train["optimizer"],
        weight_decay=train["weight_decay"],
        momentum=train["momentum"],
        stateful=task_spec.stateful and model_spec.stateful,
        clip_value=train["clip_value"] if clip != "none" else None,
        clip_algorithm=clip,
        needs=model_spec.needs,
        schedule={name: train[name] for name in SCHEDULE_NAMES},
        monitor=task_spec.monitor,
        mode=task_spec.mode,
    )
    if train["tie_embeddings"]:
        system.head = tied_head(model, model_spec, task, train["tie_projection"])
    if train["init_range"] > 0:
        # pretrained vectors (train.embeddings) keep their values; the head is drawn
        init_uniform(
            model, model_spec, system.head, context, train["init_range"], embeddings is None
        )
    diagnostics = selected_diagnostics(registry, train)
    check_first_batch(
        system,
        config,
        registry,
        spec=model_spec,
        step_states=any(d.needs_step_states for d in diagnostics),
    )
    return PreparedRun(config, model_spec, task_spec, task, system, diagnostics, budget, embeddings)


def check_model_memory(spec: ModelSpec, context: Any, hparams: Mapping[str, Any]) -> None:
    """Build the model on the meta device first (shapes only) and refuse, in one line,
    sizes that cannot be addressed or whose weights, gradients and two optimiser moments
    (4 x float32 per parameter, a lower bound) exceed the free memory."""
    import torch

    from rnnbench.contract.errors import ConfigError
    from rnnbench.contract.memory import check_memory

    sizes = ", ".join(
        f"model.{k}={v}"
        for k, v in hparams.items()
        if isinstance(v, int) and not isinstance(v, bool) and v > 1
    )
    try:
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            model = spec.builder(context, **hparams)
    except (RuntimeError, TypeError, OverflowError, ValueError) as exc:
        if "verflow" not in str(exc):
            return  # not a size problem: the real build reports it
        raise ConfigError(f"model {spec.name!r} ({sizes}): tensors too large to address") from None
    if isinstance(model, torch.nn.Module):
        count = sum(p.numel() for p in model.parameters())
        check_memory(count * 16, f"model {spec.name!r} ({sizes}): {count:,} parameters")


def execute(
    prepared: PreparedRun,
    registry: Registry,
    tracker: Any,
    *,
    run_name: str | None = None,
    parent_run_id: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
    callbacks: Iterable[Any] = (),
    keep_checkpoints: bool = True,
    on_start: Callable[[str], None] | None = None,
    resume: bool = False,
    log_model: bool = False,
) -> RunResult:
    """Train and evaluate a prepared run, tracked as one MLflow run; returns its result.

    On an exception the MLflow run is marked FAILED (KILLED on Ctrl-C) and the
    exception propagates. `log_model`: the best checkpoint's weights and the run's
    settings go to the tracking store as an MLflow LoggedModel (see log_best_model).
    """
    from rnnbench import __version__
    from rnnbench.tracking.views import SOLVED_METRIC

    config = prepared.config
    train = config.train
    model_source = registry.source_of("model", config.model)
    task_source = registry.source_of("task", config.task)
    tags = {
        **schema.tags(
            {
                schema.MODEL: config.model,
                schema.TASK: config.task,
                schema.SEED: train["seed"],
                schema.VERSION: __version__,
                schema.MODEL_PLUGIN: f"{model_source.distribution} {model_source.version}",
                schema.TASK_PLUGIN: f"{task_source.distribution} {task_source.version}",
            }
        ),
        **(extra_tags or {}),
    }
    tags[schema.CONFIG_HASH.name] = config_hash(config)
    params = {**config.flat(), **{f"data.{k}": v for k, v in prepared.task.describe().items()}}
    resume_from = None
    if resume:
        run_id, resume_from = find_resumable(tracker, config)
        tracker.reopen_run(run_id)
        # the interruption it resumes from is no longer this run's outcome
        tracker.delete_tags(run_id, list(FAILURE_TAGS))
        tracker.set_tags(run_id, schema.tags({schema.RESUMED_FROM: resume_from.name}))
    else:
        run_id = tracker.start_run(
            run_name or f"{config.model}-{config.task}", tags, params, parent_run_id=parent_run_id
        )
    run_dir = Path(config.results_dir) / "runs" / run_id
    started, cpu_started = time.perf_counter(), time.process_time()

    def spent() -> dict[str, float]:
        return {
            "wall_seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu_started,
        }

    try:
        if on_start is not None:
            on_start(run_id)
        if is_distributed(train):
            with launch_context(config, run_dir, resume_from):
                result = _train_and_evaluate(
                    prepared, tracker, run_id, run_dir, callbacks, resume_from
                )
        else:
            result = _train_and_evaluate(prepared, tracker, run_id, run_dir, callbacks, resume_from)
        cost = spent()
        result.wall_seconds, result.cpu_seconds = cost["wall_seconds"], cost["cpu_seconds"]
        if result.device_type == "cuda":
            result.gpu_seconds = result.wall_seconds * result.world_size
        if prepared.budget is not None:
            result.budget_params = budgeted_count(
                prepared.system.model, prepared.system.head, prepared.budget.counts
            )
            tracker.log_metrics(run_id, {"budget_params": result.budget_params})
            tracker.set_tags(
                run_id, schema.tags({schema.BUDGET_WIDTH: prepared.budget.width_param})
            )
        tracker.log_metrics(
            run_id,
            {
                **cost,
                "gpu_seconds": result.gpu_seconds,
                "throughput": result.throughput,
                "params": result.params,
                "steps": result.steps,
                **({"baseline": result.baseline} if result.baseline is not None else {}),
                # 1/0, so that the UI's leaderboard views average it into a solved fraction
                **({SOLVED_METRIC: float(result.solved)} if result.solved is not None else {}),
            },
        )
        # NaN stays NaN; inf is stored as NaN too (MLflow's SQL store would write the
        # largest float), its sign kept in the rnnbench.infinite_metrics tag
        nonfinite = {k: v for k, v in result.metrics.items() if not math.isfinite(v)}
        tracker.log_metrics(run_id, nonfinite)
        # SOLVED is written even when None ("None": no criterion), as before the schema
        tags = {
            schema.DIVERGED.name: schema.DIVERGED.text(result.diverged),
            schema.SOLVED.name: schema.SOLVED.text(result.solved),
            **schema.tags(
                {
                    schema.THROUGHPUT_UNIT: result.throughput_unit,
                    schema.UNIT: prepared.task.metric_unit,
                    schema.BASELINE_NAME: prepared.task.baseline_name,
                    schema.EVALUATION: getattr(prepared.task, "evaluation", ""),
                }
            ),
        }
        if result.diverged:
            tags.update(
                schema.tags(
                    {schema.STATUS: "diverged", schema.DIVERGED_REASON: result.diverged_reason}
                )
            )
        infinite = [f"{k}={v}" for k, v in sorted(nonfinite.items()) if math.isinf(v)]
        if infinite:
            tags[schema.INFINITE_METRICS.name] = ",".join(infinite)
        tracker.set_tags(run_id, tags)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "result.json").write_text(json.dumps(result.to_json(), indent=2))
        tracker.log_artifact(run_id, run_dir / "result.json")
        for name, obj in prepared.task.artifacts().items():
            tracker.log_json(run_id, obj, name)
        log_reports(tracker, run_id, run_dir, prepared)  # per-class report, embeddings
        if log_model:
            log_best_model(tracker, run_id, run_dir, config, result)
    except BaseException as exc:
        status = run_status(exc)
        tracker.log_metrics(run_id, spent())  # a pruned or failed run's cost counts too
        signum = exc.signum if isinstance(exc, Interrupted) else Interrupted.pending
        error = (
            f"interrupted ({Interrupted(signum).name})"
            if signum
            else f"{type(exc).__name__}: {exc}"
        )
        tracker.set_tags(
            run_id, schema.tags({schema.STATUS: status.lower(), schema.ERROR: error[:4000]})
        )
        tracker.end_run(run_id, "KILLED" if status != "FAILED" else "FAILED")
        raise
    finally:
        if not keep_checkpoints:
            shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    tracker.end_run(run_id, "FINISHED")
    return result


FAILURE_TAGS = (schema.STATUS.name, schema.ERROR.name)  # set on a run that did not finish


def run_status(exc: BaseException) -> str:
    """FAILED for errors; KILLED for a signal (Interrupted) or Ctrl-C; PRUNED for a search pruner's stop (Optuna's
    TrialPruned, recognised by name so that the runner does not import Optuna)."""
    if isinstance(exc, (Interrupted, KeyboardInterrupt)) or Interrupted.pending is not None:
        return "KILLED"  # also an error that the signal caused (e.g. a DDP peer gone)
    if type(exc).__name__ == "TrialPruned":
        return "PRUNED"
    return "FAILED"


def _train_and_evaluate(
    prepared: PreparedRun,
    tracker: Any,
    run_id: str,
    run_dir: Path,
    callbacks: Iterable[Any],
    resume_from: Path | None = None,
) -> RunResult:
    config, system, task, spec = prepared.config, prepared.system, prepared.task, prepared.task_spec
    logger = tracker.lightning_logger(run_id, resumed=resume_from is not None)
    monitors = [spec.factory(config.train["diagnostics_interval"]) for spec in prepared.diagnostics]
    samples = TaskSamples.attach(prepared, tracker, run_id, run_dir)  # Task.samples texts
    trainer, checkpoint = make_trainer(prepared, run_dir, logger, [*callbacks, *monitors, *samples])
    datamodule = task.datamodule
    trainer.fit(system, datamodule=datamodule, ckpt_path=resume_from)
    if trainer.global_rank == 0:
        for monitor in monitors:
            write = getattr(monitor, "write", None)
            for path in write(run_dir / "diagnostics") if callable(write) else []:
                tracker.log_artifact(run_id, path, "diagnostics")
    world = trainer.world_size
    best = checkpoint.best_model_path or None
    if system.diverged:
        best = None  # no trustworthy checkpoint: evaluate the current weights
    evaluator = trainer
    if world > 1:  # rank 0 alone scores every validation/test example exactly once
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
        evaluator = single_device_trainer(prepared, logger)
    metrics: dict[str, float] = {}
    for stage_run in (evaluator.validate, evaluator.test):
        out = stage_run(system, datamodule=datamodule, ckpt_path=best, verbose=False)
        metrics.update({k: float(v) for k, v in (out[0] if out else {}).items()})
    metrics = {k: v for k, v in metrics.items() if k.startswith(("val_", "test_"))}
    if system.diverged:
        metrics[spec.monitor] = math.nan
    baseline = task.baseline()
    reason = divergence(metrics, baseline, spec, system.diverged)
    for sampled in samples if trainer.global_rank == 0 else ():
        sampled.final(diverged=reason is not None)
    test_metrics = {k[len("test_") :]: v for k, v in metrics.items() if k.startswith("test_")}
    solved = spec.solved(test_metrics) if spec.solved and reason is None else None
    n_params = sum(p.numel() for p in system.parameters())
    monitor_value = metrics.get(spec.monitor)
    return RunResult(
        model=config.model,
        task=config.task,
        metrics=metrics,
        baseline=baseline,
        params=n_params,
        wall_seconds=0.0,
        throughput=system.throughput * world,
        throughput_unit=task.throughput_unit,
        mlflow_run_id=run_id,
        monitor=spec.monitor,
        monitor_value=monitor_value,
        diverged=reason is not None,
        diverged_reason=reason,
        solved=solved,
        epochs=trainer.current_epoch,
        steps=trainer.global_step,
        seed=config.train["seed"],
        device_type=trainer.strategy.root_device.type,
        world_size=world,
        grad_norm_mean=system.grad_norm_mean,
        clip_fraction=system.clip_fraction,
        hparams=config.flat(),
        data={k: str(v) for k, v in task.describe().items()},  # checked by training.restore
    )


def log_best_model(
    tracker: Any, run_id: str, run_dir: Path, config: RunConfig, result: RunResult
) -> str | None:
    """Log the best checkpoint's weights (the system's state_dict only, float32: about
    4 bytes per parameter, no optimiser state) with result.json as an MLflow LoggedModel
    named TASK-MODEL-seedN, linked to the run and its test metrics; its id (None when
    the run kept no checkpoint)."""
    import tempfile

    import torch

    from rnnbench.training.checkpoints import MODEL_SETTINGS, MODEL_WEIGHTS, best_checkpoint

    checkpoint = best_checkpoint(run_dir.parent.parent, run_id)
    if checkpoint is None:
        return None
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    metrics = {k: v for k, v in result.metrics.items() if k.startswith("test_")}
    with tempfile.TemporaryDirectory() as tmp:
        torch.save({"state_dict": state}, Path(tmp) / MODEL_WEIGHTS)
        shutil.copy(run_dir / "result.json", Path(tmp) / MODEL_SETTINGS)
        return tracker.log_model(
            run_id,
            f"{config.task}-{config.model}-seed{config.train['seed']}",
            Path(tmp),
            metrics,
            {"model": config.model, "task": config.task, "params": result.params},
        )
