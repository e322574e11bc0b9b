"""Leaderboards in the MLflow UI: the shared views that a sweep writes on its experiment.

MLflow 3's runs page (checked in the 3.17 frontend and in a browser, docs/guide/ui.md)
can be preset from outside only through a *shared view*: the experiment tag
`mlflow.sharedViewState.<KEY>` holds the JSON envelope
`{"name", "createdAt", "updatedAt" (ms since the epoch), "state"}`, where `state` is the
runs-page state as a JSON string, or "deflate;" + base64(zlib(json)) (the UI's own form);
the whole value is at most 20,000 characters. The URL
`#/experiments/<ID>/runs?workflowType=machine_learning&viewStateShareKey=<KEY>` opens it.

Per (sweep, task) one view: that sweep's current final runs of the task (tag
`rnnbench.on_leaderboard` = "yes", kept by `mark_leaderboard_runs`), grouped by model
(mean over seeds), sorted by the task's main test metric in its direction, with the
columns metric, baseline, solved, parameter count, steps and time per seed. Groups sort
by the aggregate of the sort metric, so the rows are the leaderboard, best first.
One more view lists the sweeps (their parent runs) with each pair's result as columns.
A horizon study (rnnbench.sweep.horizon) writes one view of its runs, ranked by model.
A re-run of a sweep rewrites its views under the same keys (createdAt kept).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rnnbench.tracking import schema

# Names of the MLflow UI's own (rnnbench's tags and metrics: rnnbench.tracking.schema).
SHARED_VIEW_TAG_PREFIX = "mlflow.sharedViewState."  # + KEY: experiment tag, one per view
SOLVED_METRIC = "solved"  # 1.0 / 0.0 per run whose task has a `solved` criterion
VIEW_KEY_PREFIX = "rnnbench-"  # every view key rnnbench writes starts with it
SWEEPS_VIEW_KEY = "rnnbench-sweeps"
MAX_VIEW_CHARS = 20_000  # the UI's (and MLflow's) limit on an experiment tag value
DEFLATE_PREFIX = "deflate;"

# Runs-page column ids, as the UI names them.
RUN_NAME_COLUMN = "attributes.`Run Name`"
START_TIME_KEY = "attributes.start_time"


def metric_column(name: str) -> str:
    return f"metrics.`{name}`"


def tag_column(name: str) -> str:
    return f"tags.`{name}`"


@dataclass(frozen=True)
class View:
    """One shared view: its tag key (URL-safe), its display name and its state (a dict)."""

    key: str
    name: str
    state: dict[str, Any]


def view_key(*parts: str) -> str:
    """A stable, URL-safe key: `rnnbench-` + the parts in [A-Za-z0-9_-], with 8 hex digits
    of their hash when a part had to be changed (so that distinct names never collide)."""
    slugs = [re.sub(r"[^A-Za-z0-9_-]+", "-", p).strip("-") or "x" for p in parts]
    key = VIEW_KEY_PREFIX + "-".join(slugs)
    if slugs != list(parts) or len(key) > 120:
        digest = hashlib.sha1("\0".join(parts).encode()).hexdigest()[:8]
        key = key[:110] + "-" + digest
    return key


def leaderboard_key(sweep: str, task: str) -> str:
    return view_key(sweep, task)


def leaderboard_view(
    sweep: str, task: str, metric: str, mode: str, models: Iterable[str] = ()
) -> View:
    """The view of one task's leaderboard in sweep `sweep`. `metric` is the run metric
    (e.g. test_mse), `mode` "min" or "max"; `models` collapse their seed rows."""
    search_filter = (
        f"tags.`rnnbench.sweep` = '{_quoted(sweep)}' and "
        f"tags.`rnnbench.task` = '{_quoted(task)}' and "
        "tags.`rnnbench.phase` = 'final' and "
        f"tags.`{schema.ON_LEADERBOARD.name}` = 'yes'"
    )
    columns = [
        metric_column(metric),
        metric_column("baseline"),
        metric_column(SOLVED_METRIC),
        metric_column("params"),
        metric_column("steps"),
        metric_column("wall_seconds"),
    ]
    state = ranked_by_model(search_filter, metric, mode, columns, models)
    return View(leaderboard_key(sweep, task), f"{sweep} · {task} leaderboard", state)


def horizon_key(study: str, task: str) -> str:
    """`rnnbench--horizon-STUDY-TASK`: a sweep's key never has "--" after the prefix
    (sweep names start with a letter or digit), so the two kinds never collide."""
    return VIEW_KEY_PREFIX + "-horizon-" + view_key(study, task)[len(VIEW_KEY_PREFIX) :]


def horizon_view(
    study: str, task: str, parent_run_id: str, metric: str, mode: str, models: Iterable[str] = ()
) -> View:
    """The view of horizon study `study` on `task`: the runs under its parent run
    `parent_run_id` (every length and seed), one row per model, ranked by the mean of
    `metric` over them in direction `mode`; beside it the fraction of runs solved."""
    search_filter = (
        f"tags.`mlflow.parentRunId` = '{_quoted(parent_run_id)}' and "
        "tags.`rnnbench.phase` = 'horizon'"
    )
    columns = [
        metric_column(metric),
        metric_column(SOLVED_METRIC),
        metric_column("baseline"),
        metric_column("params"),
        metric_column("steps"),
        metric_column("wall_seconds"),
    ]
    state = ranked_by_model(search_filter, metric, mode, columns, models)
    return View(horizon_key(study, task), f"{study} · {task} horizon", state)


def ranked_by_model(
    search_filter: str, metric: str, mode: str, columns: list[str], models: Iterable[str]
) -> dict[str, Any]:
    """Runs-page state: the runs `search_filter` selects, grouped by model (the mean of
    each column), the groups sorted by `metric` in direction `mode`, `models`' groups
    collapsed."""
    return {
        "searchFilter": search_filter,
        "orderByKey": metric_column(metric),
        "orderByAsc": mode != "max",
        "selectedColumns": columns,
        "columnOrder": columns,
        "columnWidths": {columns[0]: 190},  # the mean at full precision, not cut
        "groupBy": {
            "aggregateFunction": "average",
            "groupByKeys": [{"mode": "tag", "groupByData": schema.MODEL.name}],
        },
        "groupsExpanded": {f"tag.rnnbench.model.{m}": False for m in models},
    }


def sweeps_view(pair_metrics: Iterable[str]) -> View:
    """One row per sweep (its parent run), newest first, each pair's mean as a column
    (`pair_metrics`: the parent runs' metric names `TASK.MODEL.test_METRIC`)."""
    columns = [metric_column(m) for m in pair_metrics]
    state = {
        "searchFilter": "tags.`rnnbench.role` = 'sweep'",
        "orderByKey": START_TIME_KEY,
        "orderByAsc": False,
        "selectedColumns": columns,
        "columnOrder": columns,
        "columnWidths": {c: 170 for c in columns},
        "groupBy": None,
    }
    return View(SWEEPS_VIEW_KEY, "rnnbench sweeps", state)


def _quoted(text: str) -> str:
    return text.replace("'", "\\'")


def encode_state(state: dict[str, Any]) -> str:
    """The state as the UI stores it: plain JSON when it fits, else deflated."""
    text = json.dumps(state, separators=(",", ":"))
    if len(text) <= MAX_VIEW_CHARS - 1000:
        return text
    return DEFLATE_PREFIX + base64.b64encode(zlib.compress(text.encode(), 9)).decode()


def decode_state(value: str) -> dict[str, Any]:
    if value.startswith(DEFLATE_PREFIX):
        value = zlib.decompress(base64.b64decode(value[len(DEFLATE_PREFIX) :])).decode()
    return json.loads(value)


def envelope(view: View, created_ms: int, updated_ms: int) -> str:
    """The tag value; ValueError when it cannot be brought under MAX_VIEW_CHARS (the
    collapsed-group list is dropped first: the ranking does not depend on it)."""
    state = dict(view.state)
    for _attempt in range(2):
        value = json.dumps(
            {
                "name": view.name,
                "createdAt": created_ms,
                "updatedAt": updated_ms,
                "state": encode_state(state),
            }
        )
        if len(value) <= MAX_VIEW_CHARS:
            return value
        state.pop("groupsExpanded", None)
    raise ValueError(
        f"shared view {view.key!r} is {len(value)} characters (limit {MAX_VIEW_CHARS})"
    )


def read_views(tags: dict[str, str]) -> dict[str, dict[str, Any]]:
    """rnnbench's views among experiment tags: key -> decoded envelope (state decoded)."""
    out = {}
    for tag, value in tags.items():
        key = tag[len(SHARED_VIEW_TAG_PREFIX) :]
        if not tag.startswith(SHARED_VIEW_TAG_PREFIX) or not key.startswith(VIEW_KEY_PREFIX):
            continue
        try:
            found = json.loads(value)
            found["state"] = decode_state(found["state"])
        except (ValueError, KeyError, TypeError, zlib.error):
            continue
        out[key] = found
    return out


def write_views(tracker: Any, views: list[View]) -> None:
    """Set each view's experiment tag (a view already there keeps its createdAt); an
    unchanged view is not rewritten."""
    existing = tracker.experiment_tags()
    now = int(time.time() * 1000)
    for view in views:
        tag = SHARED_VIEW_TAG_PREFIX + view.key
        created = now
        if tag in existing:
            try:
                old = json.loads(existing[tag])
                created = int(old["createdAt"])
                if old.get("name") == view.name and decode_state(old["state"]) == json.loads(
                    json.dumps(view.state)
                ):
                    continue
            except (ValueError, KeyError, TypeError, zlib.error):
                pass
        tracker.set_experiment_tag(tag, envelope(view, created, now))


def view_url(base_url: str, experiment_id: str, key: str) -> str:
    """The URL that opens view `key` on the MLflow UI at `base_url`."""
    return (
        f"{base_url.rstrip('/')}/#/experiments/{experiment_id}/runs"
        f"?workflowType=machine_learning&viewStateShareKey={key}"
    )


def mark_leaderboard_runs(tracker: Any, finals: list, current: set[str]) -> None:
    """Tag `schema.ON_LEADERBOARD` "yes" on the final runs in `current` (run ids), "no" on the
    sweep's other final runs (a resumed sweep's earlier best trial); only changes are
    written."""
    for run in finals:
        wanted = "yes" if run.run_id in current else "no"
        if run.tags.get(schema.ON_LEADERBOARD.name) != wanted:
            tracker.set_tags(run.run_id, {schema.ON_LEADERBOARD.name: wanted})


def publish_sweep_views(
    tracker: Any, sweep: str, rows: list[dict], finals: list, current: set[str]
) -> list[View]:
    """Write sweep `sweep`'s leaderboard views (one per task of `rows`, in row order) and
    the sweeps view; returns the leaderboard views (the sweeps view is SWEEPS_VIEW_KEY)."""
    mark_leaderboard_runs(tracker, finals, current)
    views = []
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        views.append(
            leaderboard_view(
                sweep, task, mine[0]["metric"], mine[0]["mode"], [r["model"] for r in mine]
            )
        )
    write_views(tracker, [*views, sweeps_view(sweeps_columns(tracker))])
    return views


def sweeps_columns(tracker: Any) -> list[str]:
    """The pairs' mean metrics (`TASK.MODEL.test_METRIC`) of every sweep's parent run,
    newest sweep first, each name once."""
    names: dict[str, None] = {}
    for parent in tracker.find_runs(schema.tags({schema.ROLE: "sweep"}), newest_first=True):
        for metric in sorted(parent.metrics):
            if metric.count(".") == 2 and metric.split(".")[2].startswith("test_"):
                names.setdefault(metric)
    return list(names)


def sweep_view_keys(tracker: Any, sweep: str) -> list[tuple[str, str]]:
    """(key, name) of the leaderboard views of sweep `sweep` in the store, in task order."""
    found = read_views(tracker.experiment_tags())
    out = []
    for key, value in found.items():
        state = value.get("state", {})
        if key == SWEEPS_VIEW_KEY:
            continue
        if f"tags.`rnnbench.sweep` = '{_quoted(sweep)}'" in state.get("searchFilter", ""):
            out.append((key, value.get("name", key)))
    return sorted(out, key=lambda kv: kv[1])
