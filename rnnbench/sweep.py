"""The sweep: one Optuna study per (task, model), then seeded final re-training.

Phases per pair:
  search: trials sample the model's search space and the shared training knobs, run
          through the same runner as `rnnbench run`, are pruned on the task's
          monitored metric, and are tracked as child MLflow runs (phase=search).
          Finished trials are counted toward n_trials across re-runs and workers.
  final:  the best trial's configuration is re-trained with seeds 0..S-1 (phase=final)
          and scored on the test split; workers share the seeds, and results are kept
          in the study's user attributes so a re-run skips what is already done.
A trial that raises is FAILED, one whose loss diverges is PRUNED, each with its reason,
and the sweep goes on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rnnbench.config import TRAIN_PARAMS, RunConfig
from rnnbench.distributed import is_distributed
from rnnbench.errors import ConfigError
from rnnbench.locking import StorageLock
from rnnbench.params import Choice, FloatRange, IntRange, Param, Space
from rnnbench.registry import Registry
from rnnbench.sweep_config import SweepConfig
from rnnbench.trial_slots import Claim, TrialSlots, snapshot

POLL_SECONDS = 1.0  # how often a worker looks whether other workers' trials finished


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
            url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat,
            grace_period=3 * heartbeat,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3),
        )
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"--storage {url}: cannot open ({message})") from None


def suggest(trial, name: str, param: Param, space: Space) -> Any:
    if isinstance(space, Choice):
        return trial.suggest_categorical(name, list(space.values))
    if isinstance(space, IntRange):
        return trial.suggest_int(name, space.low, space.high, log=space.log, step=space.step)
    if isinstance(space, FloatRange):
        return trial.suggest_float(name, space.low, space.high, log=space.log)
    raise TypeError(f"unknown search space {space!r} for {param.name}")


def sample_config(trial, config: SweepConfig, registry: Registry, task: str, model: str) -> RunConfig:
    """Model hyperparameters and searched train knobs from the trial; the rest fixed."""
    spec = registry.model(model)
    overrides = config.model_params.get(model, {})
    model_params = {}
    for param in spec.params:
        value = overrides.get(param.name, param.default)
        space = value if isinstance(value, Space) else (
            param.space if param.name not in overrides else None)
        model_params[param.name] = suggest(trial, f"model.{param.name}", param, space) \
            if space is not None else value
    train = dict(config.train)
    for name in config.search_train:
        param = TRAIN_PARAMS.get(name)
        train[name] = suggest(trial, f"train.{name}", param, param.space)
    return RunConfig(model=model, task=task, model_params=model_params,
                     task_options=dict(config.task_options[task]), train=train,
                     results_dir=config.results_dir, experiment=config.experiment)


def fixed_config(config: SweepConfig, registry: Registry, task: str, model: str) -> RunConfig:
    """The pair's configuration without a search (n_trials 0): each model
    hyperparameter's default, overridden by the sweep's model_params values."""
    spec = registry.model(model)
    overrides = config.model_params.get(model, {})
    return RunConfig(model=model, task=task,
                     model_params={p.name: overrides.get(p.name, p.default) for p in spec.params},
                     task_options=dict(config.task_options[task]), train=dict(config.train),
                     results_dir=config.results_dir, experiment=config.experiment)


@dataclass(frozen=True)
class FixedConfiguration:
    """Stands in for a best trial when nothing is searched: `number` names it in the
    final runs' `rnnbench.best_trial` tag, `user_attrs["config"]` is what they train."""

    number: str
    user_attrs: dict


@dataclass
class PairOutcome:
    task: str
    model: str
    study: str
    trials: dict[str, int] = field(default_factory=dict)
    best_value: float | None = None
    best_trial: int | None = None
    finals: list[dict] = field(default_factory=list)
    note: str = ""


class Sweep:
    """Runs the search and final phases for every compatible pair of a SweepConfig."""

    def __init__(self, config: SweepConfig, registry: Registry, tracker: Any, storage: Any,
                 storage_url: str, report: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.storage_url = storage_url
        self.registry = registry
        self.tracker = tracker
        self.storage = storage
        self.report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        self.parent_run_id: str | None = None
        self.started = time.monotonic()
        self.started_at = time.time()  # wall clock, comparable across workers

    # ------------------------------------------------------------------ studies
    def study(self, task: str, model: str):
        import optuna

        spec = self.registry.task(task)
        pruner = self.registry.pruner(self.config.pruner).factory(self.config.train["max_epochs"])
        name = study_name(self.config.name, task, model)
        with StorageLock(self.storage_url, f"{name}:create"):  # one creator, others load
            study = optuna.create_study(
                study_name=name, storage=self.storage, sampler=self.sampler(0), pruner=pruner,
                load_if_exists=True, direction="minimize" if spec.mode == "min" else "maximize")
            if study.metric_names != [spec.monitor]:
                # read by optuna-dashboard and trials_dataframe() instead of "Objective 0"
                study.set_metric_names([spec.monitor])
            labels = {"task": task, "model": model, "sweep": self.config.name,
                      "mlflow_parent_run_id": self.parent_run_id}
            for key, value in labels.items():
                if study.user_attrs.get(key) != value:
                    study.set_user_attr(key, value)
            return study

    def sampler(self, seed: int):
        return self.registry.sampler(self.config.sampler).factory(seed)

    # ------------------------------------------------------------------- search
    def objective(self, task: str, model: str, study_label: str):
        import optuna
        from optuna_integration import PyTorchLightningPruningCallback

        from rnnbench.runner import execute, prepare

        spec = self.registry.task(task)

        def run_trial(trial) -> float:
            try:
                config = sample_config(trial, self.config, self.registry, task, model)
                trial.set_user_attr("config", {"model_params": config.model_params,
                                               "train": config.train})
                prepared = prepare(config, self.registry)
                result = execute(
                    prepared, self.registry, self.tracker,
                    run_name=f"{task}/{model} trial {trial.number}",
                    parent_run_id=self.parent_run_id,
                    extra_tags=self._tags(task, model, study_label, "search",
                                          {"rnnbench.trial": str(trial.number)}),
                    # the ranks that DDP re-launches have no trial: prune single-device only
                    callbacks=[] if is_distributed(config.train) else
                    [PyTorchLightningPruningCallback(trial, monitor=spec.monitor)],
                    keep_checkpoints=False,
                    on_start=lambda run_id: trial.set_user_attr("mlflow_run_id", run_id),
                )
            except optuna.TrialPruned:
                trial.set_user_attr("reason", f"pruned on {spec.monitor}")
                raise
            except Exception as exc:
                trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:1000])
                raise
            trial.set_user_attr("baseline", result.baseline)  # for _best_trial's check
            if result.diverged:  # never a best trial: recorded as pruned, with the reason
                trial.set_user_attr("reason", f"diverged: {result.diverged_reason}")
                raise optuna.TrialPruned(f"diverged: {result.diverged_reason}")
            return result.monitor_value

        return run_trial

    def search(self, task: str, model: str, index: int, total: int, deadline: float | None):
        """Run trials until the study holds n_trials finished ones (waiting for other
        workers' running trials, so that the best trial is final)."""
        import optuna

        label = study_name(self.config.name, task, model)
        study = self.study(task, model)
        n = self.config.n_trials
        count = snapshot(study)
        pair = f"[{index}/{total}] {model} on {task}"
        if count.finished >= n and count.running + count.waiting == 0:
            return study
        self.report(f"{pair}: searching, {count.finished}/{n} trials done")

        def progress(study, trial) -> None:
            best = _best(study)
            best_text = f"best {self.registry.task(task).monitor} {best:.4f}" \
                if best is not None else "no complete trial yet"
            state = trial.state.name.lower()
            reason = trial.user_attrs.get("reason") or trial.user_attrs.get("error", "")
            self.report(f"{pair}: trial {snapshot(study).finished}/{n} {state}"
                        f"{' (' + reason + ')' if reason and state != 'complete' else ''}"
                        f", {best_text}, elapsed {_clock(time.monotonic() - self.started)}")

        def tidy(study) -> None:
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial is retried
            self.mark_killed_runs(study)

        def reseed(study, position: int) -> None:
            # Seeded by the trial's position (trials are created one at a time under the
            # claim lock): one worker's sweep is reproducible, and workers never share a
            # random stream (with one sampler seed each would draw the same trials).
            study.sampler = self.sampler(position)

        slots = TrialSlots(StorageLock(self.storage_url, f"{label}:claim"), n,
                           before_claim=tidy, before_trial=reseed)
        objective = self.objective(task, model, label)
        while deadline is None or time.monotonic() < deadline:
            claim = slots.run_one(study, objective, callbacks=[progress])
            if claim is Claim.FULL:
                break  # every slot finished: the best trial is final
            if claim is Claim.BUSY:
                time.sleep(POLL_SECONDS)  # another worker is still running a trial
        return study

    def mark_killed_runs(self, study) -> None:
        """A trial failed by a stale heartbeat belonged to a killed worker: its MLflow run,
        left RUNNING, is marked KILLED."""
        from optuna.trial import TrialState

        for trial in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
            run_id = trial.user_attrs.get("mlflow_run_id")
            if not run_id or "error" in trial.user_attrs:
                continue
            if self.tracker.client.get_run(run_id).info.status == "RUNNING":
                self.tracker.set_tags(run_id, {"rnnbench.status": "killed",
                                               "rnnbench.error": "worker died (stale heartbeat)"})
                self.tracker.end_run(run_id, "KILLED")

    # -------------------------------------------------------------------- final
    def final(self, study, task: str, model: str, pair: str, best=None) -> list[dict]:
        """Re-train the best configuration with seeds 0..S-1 and return their records.

        Each seed trains under its own storage lock, so workers share the seeds: a worker
        first runs the seeds nobody holds, then waits for those other workers hold and
        runs any left undone (its holder died, or it failed before this worker started).
        """
        best = best or _best_trial(study)
        if best is None:
            return []
        held_elsewhere = [seed for seed in range(self.config.seeds)
                          if not self._final_seed(study, best, task, model, pair, seed, False)]
        for seed in held_elsewhere:
            self._final_seed(study, best, task, model, pair, seed, True)
        attrs = study.user_attrs  # read from the storage: other workers' seeds included
        return [attrs[key] for seed in range(self.config.seeds)
                if (key := f"final:{best.number}:{seed}") in attrs]

    def _final_seed(self, study, best, task: str, model: str, pair: str, seed: int,
                    wait: bool) -> bool:
        """Run one final seed unless it is done; False when `wait` is off and another
        worker holds it. A seed that failed since this worker started is not retried
        (a later run of the sweep retries it)."""
        from rnnbench.runner import execute, prepare

        key = f"final:{best.number}:{seed}"
        lock = StorageLock(self.storage_url, f"{study.study_name}:{key}")
        if not lock.acquire(blocking=wait):
            return False
        try:
            attrs = study.user_attrs
            failed = attrs.get(f"{key}:error")
            if key in attrs or (failed and failed["at"] >= self.started_at):
                return True
            self._end_abandoned_run(attrs.get(f"{key}:run"))
            saved = best.user_attrs["config"]
            config = RunConfig(model=model, task=task, model_params=saved["model_params"],
                               task_options=dict(self.config.task_options[task]),
                               train={**saved["train"], "seed": seed},
                               results_dir=self.config.results_dir,
                               experiment=self.config.experiment)
            self.report(f"{pair}: final training, seed {seed + 1}/{self.config.seeds} "
                        f"(best trial {best.number})")
            try:
                result = execute(
                    prepare(config, self.registry), self.registry, self.tracker,
                    run_name=f"{task}/{model} seed {seed}", parent_run_id=self.parent_run_id,
                    extra_tags=self._tags(task, model, study.study_name, "final",
                                          {"rnnbench.best_trial": str(best.number)}),
                    keep_checkpoints=False,
                    on_start=lambda run_id: study.set_user_attr(f"{key}:run", run_id),
                )
            except Exception as exc:  # one seed failing must not lose the others
                message = f"{type(exc).__name__}: {exc}"
                self.report(f"{pair}: final seed {seed} failed: {message}")
                study.set_user_attr(f"{key}:error", {"error": message[:1000], "at": time.time()})
                return True
            study.set_user_attr(key, {"seed": seed, "mlflow_run_id": result.mlflow_run_id,
                                      "metrics": result.to_json()["metrics"],
                                      "diverged": result.diverged})
            return True
        finally:
            lock.release()

    def _end_abandoned_run(self, run_id: str | None) -> None:
        """A final seed's MLflow run left RUNNING by a worker that died is marked KILLED."""
        if run_id and self.tracker.client.get_run(run_id).info.status == "RUNNING":
            self.tracker.set_tags(run_id, {"rnnbench.status": "killed",
                                           "rnnbench.error": "worker died during final training"})
            self.tracker.end_run(run_id, "KILLED")

    # ---------------------------------------------------------------------- run
    def _tags(self, task: str, model: str, study: str, phase: str, extra: dict) -> dict:
        spec = self.registry.task(task)
        return {"rnnbench.sweep": self.config.name, "rnnbench.study": study,
                "rnnbench.phase": phase, "rnnbench.main_metric": spec.main_metric,
                "rnnbench.mode": spec.mode, **extra}

    def run(self) -> list[PairOutcome]:
        """Search and finalise every pair, in order."""
        pairs = self.config.pairs(self.registry)
        deadline = None if self.config.timeout is None else self.started + self.config.timeout
        outcomes = []
        for index, (task, model) in enumerate(pairs, start=1):
            if self.config.n_trials == 0:
                outcomes.append(self.conclude_fixed(task, model, index, len(pairs)))
                continue
            study = self.search(task, model, index, len(pairs), deadline)
            outcomes.append(self.conclude(study, task, model, index, len(pairs)))
        return outcomes

    def conclude_fixed(self, task: str, model: str, index: int, total: int) -> PairOutcome:
        """No search: the pair's fixed configuration trained with every seed (the study
        holds no trial, only the finals' records, shared between workers)."""
        study = self.study(task, model)
        config = fixed_config(self.config, self.registry, task, model)
        fixed = FixedConfiguration("fixed", {"config": {"model_params": config.model_params,
                                                        "train": config.train}})
        outcome = PairOutcome(task, model, study.study_name)
        outcome.finals = self.final(study, task, model, f"[{index}/{total}] {model} on {task}",
                                    best=fixed)
        return outcome

    def conclude(self, study, task: str, model: str, index: int, total: int) -> PairOutcome:
        """The pair's outcome, after its final seeds (none without a complete trial)."""
        from optuna.trial import TrialState

        pair = f"[{index}/{total}] {model} on {task}"
        outcome = PairOutcome(task, model, study.study_name)
        trials = study.get_trials(deepcopy=False)
        outcome.trials = {s.name.lower(): sum(t.state == s for t in trials)
                          for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
        best = _best_trial(study)
        if best is None:
            outcome.note = "no complete trial: " + "; ".join(sorted({
                t.user_attrs.get("error") or t.user_attrs.get("reason", t.state.name.lower())
                for t in trials}))[:300]
            self.report(f"{pair}: {outcome.note}")
        else:
            outcome.best_value, outcome.best_trial = best.value, best.number
            outcome.finals = self.final(study, task, model, pair)
        return outcome


def _best_trial(study):
    """The best complete trial that did not diverge (a study written before diverged
    trials were pruned may hold complete ones: non-finite, or 100x worse than
    the baseline), or None."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    from rnnbench.runner import value_divergence

    minimize = study.direction == StudyDirection.MINIMIZE
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if value_divergence(t.value, t.user_attrs.get("baseline"),
                                    "min" if minimize else "max") is None]
    if not complete:
        return None
    # the first of equal values wins, as with study.best_trial
    return (min if minimize else max)(complete, key=lambda t: t.value)


def _best(study) -> float | None:
    best = _best_trial(study)
    return None if best is None else best.value


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"
