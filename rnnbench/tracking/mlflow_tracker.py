"""MLflow tracking: one MLflow run per rnnbench run, created and closed by the core.

The default backend is SQLite in the results folder (the file store is deprecated).
Runs are created through `MlflowClient`, so that a sweep can nest trial runs under its
parent run with the `mlflow.parentRunId` tag; rnnbench's own Lightning logger
(run_logger.RunLogger) then writes training metrics into the existing run by id.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import ConfigError, reason
from rnnbench.tracking import schema
from rnnbench.tracking.base import RunRecord

MAX_PARAM_LENGTH = 6000  # MLflow 3 rejects longer parameter values (MAX_PARAM_VAL_LENGTH)
FULL_PARAMS_FOLDER = "params"  # artifact folder: KEY.txt holds a value cut in the param
_GIT_COMMIT: str | bool | None = False  # False: not looked up yet
# Runs this process started (or reopened) and has not ended: run id -> its tracker.
# On SIGINT/SIGTERM the CLI marks what is left here KILLED (kill_open_runs).
_OPEN_RUNS: dict[str, MlflowTracker] = {}


def git_commit() -> str | None:
    """The commit of the rnnbench source tree when it is a git checkout, else None."""
    global _GIT_COMMIT
    if _GIT_COMMIT is False:
        try:
            out = subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=Path(__file__).resolve().parent,
                capture_output=True,
                text=True,
                timeout=5,
            )
            _GIT_COMMIT = out.stdout.strip() if out.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            _GIT_COMMIT = None
    return str(_GIT_COMMIT) if _GIT_COMMIT else None


def param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 3] + "..."


REASON_LENGTH = 120  # characters of an exception quoted in a one-line error


def short_reason(exc: BaseException, limit: int = REASON_LENGTH) -> str:
    """'Type: first line of the message', cut at a word boundary to at most `limit`
    characters (with '...'), so that an error line stays readable."""
    return cut_line(reason(exc), limit)


def cut_line(text: str, limit: int = REASON_LENGTH) -> str:
    """`text` cut at a word boundary to at most `limit` characters, '...' marking a cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 3].rsplit(" ", 1)[0].rstrip(" ,;:(") + "..."


# Tracking URI schemes MLflow 3 opens (a database scheme may name a driver: mysql+pymysql).
TRACKING_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "http", "https", "databricks")


def check_tracking_uri(uri: str, timeout: float = 5.0, option: str = "--tracking-uri") -> None:
    """Fail in one line, before any store is created: a scheme MLflow cannot open (the
    file store included, which MLflow 3 refuses), an SQLite file whose folder does not
    exist (never created for the user), an http(s) server that cannot be reached (one
    request to its /health page: any HTTP answer will do). `option` names where the URI
    came from (the flag, or the MLFLOW_TRACKING_URI variable)."""
    import urllib.error
    import urllib.request

    scheme = uri.partition("://")[0].split("+")[0].lower() if "://" in uri else ""
    if scheme in ("", "file"):
        raise ConfigError(
            f"{option} {uri}: MLflow 3 refuses the file store; use a database, "
            "e.g. sqlite:///results/mlflow.db, or a server (http://HOST:5000)"
        )
    if scheme not in TRACKING_SCHEMES:
        raise ConfigError(
            f"{option} {uri}: unsupported scheme {scheme!r} (supported: "
            f"{', '.join(TRACKING_SCHEMES)})"
        )
    if scheme == "sqlite":
        path = uri.partition("://")[2]
        path = path[1:].split("?", 1)[0] if path.startswith("/") else ""
        if path in ("", ":memory:"):
            raise ConfigError(
                f"{option} {uri}: an SQLite tracking store needs a file, e.g. "
                "sqlite:///results/mlflow.db"
            )
        if not Path(path).expanduser().parent.is_dir():
            raise ConfigError(
                f"{option} {uri}: folder {Path(path).parent} does not exist (create it first)"
            )
        return
    if scheme not in ("http", "https"):
        return  # database servers are opened (and checked) by the Tracker itself
    try:
        urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout).close()
    except urllib.error.HTTPError:
        return  # a server answered
    except (OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, BaseException):
            message = short_reason(reason)
        else:
            message = cut_line(f"{type(exc).__name__}: {reason}")
        raise ConfigError(f"--tracking-uri {uri}: not usable ({message})") from None


# MLflow 3 opens an experiment in the GenAI view unless its kind says otherwise.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
DESCRIPTION_TAG = "mlflow.note.content"  # a run's Markdown description (Overview page)


class MlflowTracker:
    """The Tracker (rnnbench.tracking.base) of one MLflow experiment, over MlflowClient;
    the only module that talks to MLflow."""

    def __init__(
        self,
        tracking_uri: str,
        experiment: str = "rnnbench",
        artifact_root: Path | None = None,
        create: bool = True,
        option: str = "--tracking-uri",
    ) -> None:
        """artifact_root: where a new experiment stores artifacts (default: MLflow's);
        create=False: a missing experiment is a ConfigError (readers never write);
        option: where the URI came from, for error lines (flag or environment variable)."""
        os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
        # An unreachable server should fail in seconds, not after minutes of retries.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
        # Alembic prints migration chatter on first use of a new SQLite database.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        from mlflow.tracking import MlflowClient

        self.tracking_uri = tracking_uri
        try:
            self.client = MlflowClient(tracking_uri=tracking_uri)
            found = self.client.get_experiment_by_name(experiment)
            if found is not None:
                self.experiment_id = found.experiment_id
            elif not create:
                raise LookupError(experiment)
            else:
                location = Path(artifact_root).resolve().as_uri() if artifact_root else None
                self.experiment_id = self.client.create_experiment(
                    experiment,
                    artifact_location=location,
                    tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND},
                )
            if found is not None and create and EXPERIMENT_KIND_TAG not in found.tags:
                self.client.set_experiment_tag(
                    self.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND
                )
        except LookupError:
            raise ConfigError(
                f"--experiment {experiment!r}: no such MLflow experiment in {tracking_uri}"
            ) from None
        except Exception as exc:
            raise ConfigError(
                f"{option} {tracking_uri}: not usable ({short_reason(exc)})"
            ) from None

    @classmethod
    def open_existing(
        cls, tracking_uri: str, experiment: str, option: str = "--tracking-uri"
    ) -> MlflowTracker:
        """A reader's tracker: the experiment must exist; nothing is created."""
        return cls(tracking_uri, experiment, create=False, option=option)

    def start_run(
        self,
        name: str,
        tags: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
    ) -> str:
        all_tags = {k: str(v) for k, v in tags.items()}
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        commit = git_commit()
        if commit:
            all_tags.setdefault("mlflow.source.git.commit", commit)
        run = self.client.create_run(self.experiment_id, run_name=name, tags=all_tags)
        run_id = run.info.run_id
        _OPEN_RUNS[run_id] = self
        if params:
            self.log_params(run_id, params)
        return run_id

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, param_value(v)) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[start : start + 100])
        # a value cut to MLflow's limit ends in "..."; its full text is an artifact
        for key, value in params.items():
            if len(str(value)) > MAX_PARAM_LENGTH:
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / f"{key}.txt"
                    path.write_text(str(value))
                    self.client.log_artifact(run_id, str(path), FULL_PARAMS_FOLDER)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        """Final values: a NaN (or inf) value is written as NaN, never left out."""
        self.write_metrics(run_id, self.metric_records(metrics, step, keep_nan=True))

    @staticmethod
    def metric_records(
        metrics: Mapping[str, float], step: int = 0, keep_nan: bool = False
    ) -> list[Any]:
        """MLflow Metric entities stamped now (milliseconds since the epoch). None values
        are left out; so are NaN values unless `keep_nan` (per-step training values skip
        NaN). An infinite value becomes NaN: MLflow's SQL store would otherwise write
        +-1.797e308 (the largest float) as a finite stand-in."""
        import math
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        values = {k: float(v) for k, v in metrics.items() if v is not None}
        values = {k: math.nan if math.isinf(v) else v for k, v in values.items()}
        return [Metric(k, v, now, step) for k, v in values.items() if keep_nan or not math.isnan(v)]

    def write_metrics(self, run_id: str, records: list[Any]) -> None:
        """Metric records from metric_records, in one log_batch call (MLflow splits it
        into requests of at most 1000)."""
        if records:
            self.client.log_batch(run_id, metrics=records)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_tag(run_id, key, str(value))

    def log_json(self, run_id: str, obj: Any, name: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))
            self.client.log_artifact(run_id, str(path))

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), artifact_path)

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status)
        _OPEN_RUNS.pop(run_id, None)

    def delete_tags(self, run_id: str, keys: list[str]) -> None:
        """Remove these tags where the run has them (a resumed run's stale failure)."""
        present = self.client.get_run(run_id).data.tags
        for key in keys:
            if key in present:
                self.client.delete_tag(run_id, key)

    def lightning_logger(self, run_id: str, resumed: bool = False):
        """A Lightning logger that writes training metrics into this run in batches
        (rank 0 only); see RunLogger for when they reach the database. A resumed run's
        logger skips the (key, step) pairs the run already holds."""
        from rnnbench.tracking.run_logger import RunLogger

        return RunLogger(self, run_id, logged=self.logged_steps(run_id) if resumed else frozenset())

    def logged_steps(self, run_id: str) -> frozenset[tuple[str, int]]:
        """(key, step) of every metric value that the run holds."""
        keys = self.client.get_run(run_id).data.metrics
        return frozenset(
            (key, m.step) for key in keys for m in self.client.get_metric_history(run_id, key)
        )

    def find_runs(
        self,
        tags: Mapping[str, str] | None = None,
        status: str | None = None,
        unfinished: bool = False,
        newest_first: bool = True,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs of this experiment whose tags equal `tags`, every page of them."""
        clauses = [f"tags.`{k}` = '{v}'" for k, v in (tags or {}).items()]
        if status:
            clauses.append(f"attributes.status = '{status}'")
        if unfinished:
            clauses.append("attributes.status != 'FINISHED'")
        order = [f"attributes.start_time {'DESC' if newest_first else 'ASC'}"]
        records: list[Any] = []
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id],
                filter_string=" and ".join(clauses),
                order_by=order,
                max_results=min(limit or 1000, 1000),
                page_token=token,
            )
            records.extend(_record(run) for run in page)
            token = page.token
            if not token or (limit is not None and len(records) >= limit):
                return records[:limit] if limit else records

    def run_status(self, run_id: str) -> str:
        return self.client.get_run(run_id).info.status

    def record(self, run_id: str) -> RunRecord:
        """The run with this id (any experiment of the store); LookupError when none."""
        from mlflow.exceptions import MlflowException

        try:
            return _record(self.client.get_run(run_id))
        except MlflowException:
            raise LookupError(run_id) from None

    def reopen_run(self, run_id: str) -> None:
        """Mark a finished or killed run RUNNING again (resume, re-run of a sweep)."""
        self.client.update_run(run_id, status="RUNNING")
        _OPEN_RUNS[run_id] = self

    def log_table(self, run_id: str, columns: Mapping[str, list], name: str) -> None:
        self.client.log_table(run_id, dict(columns), artifact_file=name)

    def log_model(
        self,
        run_id: str,
        name: str,
        folder: Path,
        metrics: Mapping[str, float],
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """An MLflow 3 LoggedModel of run `run_id` holding the files of `folder` (the
        experiment's Models tab lists it with `metrics`, linked to the run); its id."""
        import math

        from mlflow.entities import Metric

        model = self.client.create_logged_model(
            self.experiment_id,
            name=name,
            source_run_id=run_id,
            model_type="rnnbench",
            params={k: param_value(v) for k, v in (params or {}).items()},
        )
        try:
            self.client.log_model_artifacts(model.model_id, str(folder))
            records = self.metric_records(metrics)
            linked = [
                Metric(m.key, m.value, m.timestamp, m.step, model_id=model.model_id, run_id=run_id)
                for m in records
                if not math.isnan(m.value)
            ]
            self.write_metrics(run_id, linked)
        except BaseException:
            self.client.finalize_logged_model(model.model_id, "FAILED")
            raise
        self.client.finalize_logged_model(model.model_id, "READY")
        return model.model_id

    def find_model(self, run_id: str) -> str | None:
        """The id of the newest READY LoggedModel of run `run_id`, or None."""
        from mlflow.exceptions import MlflowException

        try:
            experiment = self.client.get_run(run_id).info.experiment_id
        except MlflowException:
            raise LookupError(run_id) from None
        found = self.client.search_logged_models(
            [experiment],
            filter_string=f"source_run_id = '{run_id}'",
            order_by=[{"field_name": "creation_timestamp", "ascending": False}],
        )
        ready = [m for m in found if str(m.status) == "READY"]  # (status is not filterable)
        return ready[0].model_id if ready else None

    def download_model(self, model_id: str, folder: Path) -> Path:
        """The LoggedModel's files, downloaded into `folder`; the folder holding them."""
        from mlflow.artifacts import download_artifacts

        model = self.client.get_logged_model(model_id)
        return Path(
            download_artifacts(
                artifact_uri=model.artifact_location,
                dst_path=str(folder),
                tracking_uri=self.tracking_uri,
            )
        )

    def experiment_tags(self) -> dict[str, str]:
        """This experiment's tags (fresh from the store)."""
        return dict(self.client.get_experiment(self.experiment_id).tags)

    def set_experiment_tag(self, key: str, value: str) -> None:
        self.client.set_experiment_tag(self.experiment_id, key, value)

    def set_description(self, run_id: str, markdown: str) -> None:
        """The run's Overview text in the MLflow UI (rendered as Markdown)."""
        self.client.set_tag(run_id, DESCRIPTION_TAG, markdown[:MAX_TAG_LENGTH])


MAX_TAG_LENGTH = 8000  # MLflow's limit on a tag value


def end_open_runs(status: str = "KILLED", reason: str = "interrupted") -> None:
    """End every run this process started and has not ended (SIGINT/SIGTERM: KILLED; a
    crash: FAILED), with the reason as its rnnbench.error tag; best effort: a store that
    fails now is left as it is."""
    for run_id, tracker in list(_OPEN_RUNS.items()):
        try:
            tracker.set_tags(
                run_id, schema.tags({schema.STATUS: status.lower(), schema.ERROR: reason})
            )
            tracker.end_run(run_id, status)
        except Exception:
            pass
        _OPEN_RUNS.pop(run_id, None)


def _record(run: Any) -> RunRecord:
    return RunRecord(
        run_id=run.info.run_id,
        name=run.info.run_name or "",
        status=run.info.status,
        start_time=run.info.start_time or 0,
        tags=dict(run.data.tags),
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
    )
