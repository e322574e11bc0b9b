"""The sweep's parent run: its identity, its settings, and the leaderboard published on it.

A sweep is identified by its name and its (task, model) pairs. Running the same name
again with the same pairs resumes it (more trials, more seeds, a longer timeout);
running it with other pairs is refused, so that one sweep's leaderboard is never
silently rewritten by another's runs. When what the studies search has changed (task
options, model parameters or spaces, fixed train values, searched train knobs, sampler,
pruner), the sweep resumes and says so in one line: earlier trials keep their settings.

On the parent run: the first run's settings as parameters (immutable, like MLflow
params), the settings a re-run may change as tags (`rnnbench.setting.*`, rewritten every
run), each pair's result as metrics (`TASK.MODEL.test_METRIC`, `.std`, `.solved`,
`.rank`) so the runs table can sort and compare sweeps, and the leaderboard as the run's
description (Markdown on its Overview page), as a table, and as files; below the
leaderboard, the expected-best curves of the search trials and the sweep's cost by model
(rnnbench.tracking.expected_best_report, rnnbench.tracking.cost), with their charts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import ConfigError
from rnnbench.tracking import schema

MUTABLE = ("n_trials", "seeds", "timeout", "workers", "heartbeat")


def identity(config: Any, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """The pairs (which must match to resume) and what the studies search."""
    train = {
        k: v
        for k, v in config.train.items()
        if k not in ("num_threads", "progress", "accelerator", "devices", "strategy")
    }
    return {
        "pairs": sorted(f"{task}/{model}" for task, model in pairs),
        "task_options": {t: dict(o) for t, o in config.task_options.items()},
        "model_params": {
            m: {k: str(v) for k, v in p.items()} for m, p in config.model_params.items()
        },
        "train": train,
        "search_train": sorted(config.search_train),
        "sampler": config.sampler,
        "pruner": config.pruner,
    }


def fingerprint(values: dict[str, Any]) -> str:
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def settings(config: Any) -> dict[str, Any]:
    return {k: getattr(config, k) for k in MUTABLE}


def open_parent(
    tracker: Any,
    config: Any,
    pairs: list[tuple[str, str]],
    storage_url: str,
    report=lambda line: None,
) -> str:
    """The parent run of sweep `config.name`: created, or reopened after checking that
    the existing one has the same pairs (a one-line ConfigError otherwise)."""
    wanted = identity(config, pairs)
    search = {k: v for k, v in wanted.items() if k != "pairs"}
    found = tracker.find_runs(
        schema.tags({schema.ROLE: "sweep", schema.SWEEP: config.name}), newest_first=False, limit=1
    )
    if found:
        parent = found[0]
        if schema.SWEEP_IDENTITY.read(parent.tags) != fingerprint({"pairs": wanted["pairs"]}):
            raise ConfigError(identity_conflict(config.name, parent, wanted))
        if schema.SWEEP_SEARCH.read(parent.tags) != fingerprint(search):
            changed = changed_keys(parent, search)
            report(
                f"resuming sweep {config.name!r} with changed "
                f"{', '.join(changed) or 'settings'}: its earlier trials keep theirs"
            )
        else:
            report(f"resuming sweep {config.name!r}: finished trials and seeds are kept")
        tracker.reopen_run(parent.run_id)
        run_id = parent.run_id
    else:
        params = {f"sweep.{k}": _text(v) for k, v in wanted.items()}
        run_id = tracker.start_run(
            f"sweep {config.name}",
            schema.tags(
                {
                    schema.ROLE: "sweep",
                    schema.SWEEP: config.name,
                    schema.STORAGE: storage_url,
                    schema.SWEEP_IDENTITY: fingerprint({"pairs": wanted["pairs"]}),
                    schema.SWEEP_PAIRS: ",".join(wanted["pairs"])[:5000],
                }
            ),
            params,
        )
    tracker.set_tags(
        run_id,
        {
            **schema.tags({schema.SWEEP_SEARCH: fingerprint(search)}),
            **{f"{schema.SETTING_PREFIX}{k}": str(v) for k, v in settings(config).items()},
        },
    )
    return run_id


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def changed_keys(parent: Any, search: dict[str, Any]) -> list[str]:
    """Keys of `search` whose value differs from the parent's first-run parameters
    (values cut to MLflow's parameter length cannot be compared and are skipped)."""
    from rnnbench.tracking.mlflow_tracker import MAX_PARAM_LENGTH

    out = []
    for key, value in search.items():
        recorded = parent.params.get(f"sweep.{key}")
        if recorded is None or (recorded.endswith("...") and len(recorded) >= MAX_PARAM_LENGTH):
            continue
        if recorded != _text(value):
            out.append(key.replace("_", " "))
    return out


def identity_conflict(name: str, parent: Any, wanted: dict[str, Any]) -> str:
    """One line: how the pairs differ from the existing sweep's, and what to do."""
    if schema.SWEEP_IDENTITY.read(parent.tags) is None:
        return (
            f"sweep {name!r} exists in this tracking store from an older rnnbench; "
            "pass --study-name NEW to start a new sweep"
        )
    old = schema.SWEEP_PAIRS.read(parent.tags, "").split(",")
    return (
        f"sweep {name!r} already exists with other pairs (its pairs are "
        f"{', '.join(old)}; these are {', '.join(wanted['pairs'])}); pass --study-name "
        "NEW for a new sweep, or the same models and tasks to resume it"
    )


def publish(
    tracker: Any, parent: str, config: Any, results_dir: Path, missing: Sequence[str] = ()
) -> tuple[list, list, list, list, list]:
    """Leaderboard rows rebuilt from the tracked final runs, the expected-best curves from
    the tracked search runs and the cost of all of them, written to results_dir/sweeps/NAME
    and put on the parent run, and the MLflow UI's leaderboard views
    (rnnbench.tracking.views) written on the experiment; returns (rows, files, curves,
    cost by model, leaderboard views). `missing`: one line per pair without a row, saying
    why (listed under the tables)."""
    from rnnbench.tracking import cost, expected_best_report
    from rnnbench.tracking.expected_best import curves_of_sweep
    from rnnbench.tracking.leaderboard import COLUMNS, build_rows, current_finals, final_runs
    from rnnbench.tracking.leaderboard.files import write_outputs
    from rnnbench.tracking.leaderboard.text import description
    from rnnbench.tracking.views import publish_sweep_views

    finals = final_runs(tracker, config.name)
    rows = build_rows(finals)
    curves, spent = curves_of_sweep(tracker, config.name), cost.costs_of_sweep(tracker, config.name)
    absent = "".join(f"- {line}\n" for line in missing)
    absent = f"Pairs missing from the leaderboard:\n\n{absent}" if absent else ""
    extra = "\n".join(
        t for t in (absent, expected_best_report.markdown(curves), cost.markdown(spent)) if t
    )
    folder = results_dir / "sweeps" / config.name
    files = write_outputs(rows, folder, config.name, extra_markdown=extra)
    files += [*expected_best_report.plot(curves, folder), *cost.plot(rows, folder)]
    if rows:
        table = {
            k: [json.dumps(r[k]) if isinstance(r[k], (dict, list)) else r[k] for r in rows]
            for k in COLUMNS
        }
        tracker.log_table(parent, table, "leaderboard.json")
        tracker.log_metrics(parent, pair_metrics(rows))
        tracker.set_description(
            parent, description(rows, config.name, settings(config)) + "\n" + extra
        )
    for path in files:
        tracker.log_artifact(parent, path)
    current = {r.run_id for members in current_finals(finals).values() for r in members}
    views = publish_sweep_views(tracker, config.name, rows, finals, current)
    return rows, files, curves, spent, views


def pair_metrics(rows: list[dict]) -> dict[str, float]:
    """adding.lstm.test_mse (mean over seeds), .std, .solved (solved seeds), .rank."""
    out: dict[str, float] = {}
    for row in rows:
        key = f"{row['task']}.{row['model']}.{row['metric']}"
        out[key] = row["mean"]
        if row["std"] is not None:
            out[f"{key}.std"] = row["std"]
        if row["solved"]:
            out[f"{row['task']}.{row['model']}.solved"] = float(row["solved"].split("/")[0])
        out[f"{row['task']}.{row['model']}.rank"] = float(row["rank"])
    return out
