"""The Tracker interface that the runner, the sweep, the horizon and the leaderboard use,
and an in-memory implementation for tests and `rnnbench run --no-track`.

A tracker holds one experiment's runs: each run has a name, a status (RUNNING, FINISHED,
FAILED, KILLED), string tags and parameters, numeric metrics (the latest value per key
is what `find_runs` returns; the history is kept per step) and artifact files. The MLflow
implementation is rnnbench.tracking.mlflow_tracker.MlflowTracker.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class RunRecord:
    """One tracked run as the leaderboard and the sweep read it (no MLflow types)."""

    run_id: str
    name: str
    status: str  # RUNNING | FINISHED | FAILED | KILLED
    start_time: int  # milliseconds since the epoch
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)  # latest value per key


class Tracker(Protocol):
    def start_run(
        self,
        name: str,
        tags: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
    ) -> str: ...

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None: ...

    def metric_records(
        self, metrics: Mapping[str, float], step: int = 0, keep_nan: bool = False
    ) -> list[Any]:
        """Values stamped now, in the form write_metrics takes (for buffering)."""

    def write_metrics(self, run_id: str, records: list[Any]) -> None: ...

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None: ...

    def log_json(self, run_id: str, obj: Any, name: str) -> None: ...

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None: ...

    def log_table(self, run_id: str, columns: Mapping[str, list], name: str) -> None: ...

    def set_description(self, run_id: str, markdown: str) -> None: ...

    experiment_id: str

    def experiment_tags(self) -> dict[str, str]: ...

    def log_model(
        self,
        run_id: str,
        name: str,
        folder: Path,
        metrics: Mapping[str, float],
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """The files of `folder` as a model of run `run_id` (MLflow: a LoggedModel); its id."""

    def set_experiment_tag(self, key: str, value: str) -> None: ...

    def end_run(self, run_id: str, status: str = "FINISHED") -> None: ...

    def reopen_run(self, run_id: str) -> None: ...

    def delete_tags(self, run_id: str, keys: list[str]) -> None: ...

    def run_status(self, run_id: str) -> str: ...

    def record(self, run_id: str) -> RunRecord:
        """One run by its id; LookupError (KeyError in memory) when there is none."""

    def find_runs(
        self,
        tags: Mapping[str, str] | None = None,
        status: str | None = None,
        unfinished: bool = False,
        newest_first: bool = True,
        limit: int | None = None,
    ) -> list[RunRecord]: ...

    def logged_steps(self, run_id: str) -> frozenset[tuple[str, int]]: ...

    def lightning_logger(self, run_id: str, resumed: bool = False) -> Any: ...


@dataclass
class _Run:
    name: str
    tags: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # key -> (step, v)
    artifacts: list[str] = field(default_factory=list)
    status: str = "RUNNING"
    start_time: int = field(default_factory=lambda: int(time.time() * 1000))


class MemoryTracker:
    """A Tracker that keeps everything in this process (nothing is written to disk)."""

    def __init__(self) -> None:
        self.runs: dict[str, _Run] = {}
        self.experiment_id = "0"
        self.tags: dict[str, str] = {}

    def start_run(self, name, tags, params=None, parent_run_id=None) -> str:
        run_id = uuid.uuid4().hex
        all_tags = {k: str(v) for k, v in tags.items()}
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        self.runs[run_id] = _Run(name, all_tags)
        self.log_params(run_id, params or {})
        return run_id

    def log_params(self, run_id, params) -> None:
        self.runs[run_id].params.update({k: str(v) for k, v in params.items()})

    def log_metrics(self, run_id, metrics, step=0) -> None:
        self.write_metrics(run_id, self.metric_records(metrics, step, keep_nan=True))

    @staticmethod
    def metric_records(metrics, step=0, keep_nan=False) -> list[tuple[str, float, int]]:
        return [
            (k, float(v), step)
            for k, v in metrics.items()
            if v is not None and (keep_nan or float(v) == float(v))
        ]

    def write_metrics(self, run_id, records) -> None:
        for key, value, step in records:
            self.runs[run_id].history.setdefault(key, []).append((step, value))

    def set_tags(self, run_id, tags) -> None:
        self.runs[run_id].tags.update({k: str(v) for k, v in tags.items()})

    def log_json(self, run_id, obj, name) -> None:
        self.runs[run_id].artifacts.append(name)

    def log_artifact(self, run_id, path, artifact_path=None) -> None:
        name = Path(path).name
        self.runs[run_id].artifacts.append(f"{artifact_path}/{name}" if artifact_path else name)

    def log_table(self, run_id, columns, name) -> None:
        self.runs[run_id].artifacts.append(name)

    def set_description(self, run_id, markdown) -> None:
        self.runs[run_id].tags["mlflow.note.content"] = markdown

    def end_run(self, run_id, status="FINISHED") -> None:
        self.runs[run_id].status = status

    def log_model(self, run_id, name, folder, metrics, params=None) -> str:
        model_id = f"m-{uuid.uuid4().hex}"
        self.runs[run_id].artifacts.extend(
            f"models/{model_id}/{p.name}" for p in sorted(Path(folder).iterdir())
        )
        self.log_metrics(run_id, metrics)
        return model_id

    def experiment_tags(self) -> dict[str, str]:
        return dict(self.tags)

    def set_experiment_tag(self, key, value) -> None:
        self.tags[key] = str(value)

    def reopen_run(self, run_id) -> None:
        self.runs[run_id].status = "RUNNING"

    def delete_tags(self, run_id, keys) -> None:
        for key in keys:
            self.runs[run_id].tags.pop(key, None)

    def run_status(self, run_id) -> str:
        return self.runs[run_id].status

    def record(self, run_id: str) -> RunRecord:
        run = self.runs[run_id]
        return RunRecord(
            run_id,
            run.name,
            run.status,
            run.start_time,
            dict(run.tags),
            dict(run.params),
            {k: v[-1][1] for k, v in run.history.items()},
        )

    def find_runs(
        self, tags=None, status=None, unfinished=False, newest_first=True, limit=None
    ) -> list[RunRecord]:
        found = [
            self.record(run_id)
            for run_id, run in self.runs.items()
            if all(run.tags.get(k) == v for k, v in (tags or {}).items())
            and (status is None or run.status == status)
            and not (unfinished and run.status == "FINISHED")
        ]
        found.sort(key=lambda r: r.start_time, reverse=newest_first)
        return found[:limit] if limit else found

    def logged_steps(self, run_id) -> frozenset[tuple[str, int]]:
        return frozenset(
            (k, step) for k, values in self.runs[run_id].history.items() for step, _ in values
        )

    def lightning_logger(self, run_id, resumed=False):
        from rnnbench.tracking.run_logger import RunLogger

        return RunLogger(self, run_id, logged=self.logged_steps(run_id) if resumed else frozenset())
