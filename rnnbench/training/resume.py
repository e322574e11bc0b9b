"""`--resume`: the newest unfinished run of exactly one configuration, by its hash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import RnnbenchError
from rnnbench.tracking import schema
from rnnbench.training.config import RunConfig


def config_hash(config: RunConfig) -> str:
    """A stable fingerprint of everything that defines a run (for --resume)."""
    import hashlib

    text = json.dumps(config.flat(), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def find_resumable(tracker: Any, config: RunConfig) -> tuple[str, Path]:
    """The newest unfinished run of exactly this configuration that left a checkpoint."""
    from rnnbench.training.checkpoints import LAST_NAME

    runs = tracker.find_runs(
        schema.tags({schema.CONFIG_HASH: config_hash(config)}),
        unfinished=True,
        newest_first=True,
        limit=20,
    )
    for run in runs:
        last = Path(config.results_dir) / "runs" / run.run_id / "checkpoints" / LAST_NAME
        if last.exists():
            return run.run_id, last
    raise _nothing_to_resume(config.results_dir)


def check_resumable(results_dir: Path) -> None:
    """--resume with no last checkpoint under RESULTS/runs: refused before any store (the
    MLflow database included) is created. find_resumable then matches the config."""
    from rnnbench.training.checkpoints import LAST_NAME

    if not any((Path(results_dir) / "runs").glob(f"*/checkpoints/{LAST_NAME}")):
        raise _nothing_to_resume(results_dir)


def _nothing_to_resume(results_dir: Path) -> RnnbenchError:
    return RnnbenchError(
        "--resume: no unfinished run of this exact configuration left a "
        f"checkpoint under {Path(results_dir) / 'runs'}"
    )
