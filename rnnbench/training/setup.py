"""The process around a run: its results folder (writable, with room) and quiet
libraries (stdout stays rnnbench's own)."""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from pathlib import Path

from rnnbench.contract.errors import ConfigError

MIN_FREE_BYTES = 200 * 2**20  # databases, checkpoints and artifacts of a run or sweep


def ensure_results_dir(path: Path) -> Path:
    """Create the results folder or fail with one line (unwritable, or nearly full);
    returns the resolved path."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".rnnbench-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--results-dir {path}: not writable ({exc.strerror or exc})") from None
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_BYTES:
        raise ConfigError(
            f"--results-dir {path}: only {free / 2**20:.0f} MiB free on its disk "
            f"(need at least {MIN_FREE_BYTES // 2**20} MiB)"
        )
    return path.resolve()


def quiet_libraries() -> None:
    """Keep stdout for rnnbench's own output; libraries speak only when it matters."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # against a tracking server (http URI) MLflow writes two "View run/experiment at: URL"
    # lines to stdout at every run's end: dozens of lines in a sweep's output and --json
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    import lightning.pytorch  # noqa: F401  (configures its loggers on import)
    import mlflow  # noqa: F401

    for name in (
        "lightning.pytorch",
        "lightning.fabric",
        "lightning",
        "alembic",
        "mlflow",
        "optuna",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*is deprecated, use `isinstance.*")
    warnings.filterwarnings("ignore", ".*smaller than the logging interval.*")
    # epoch values come from torchmetrics' compute(), which already syncs across ranks
    warnings.filterwarnings("ignore", ".*when logging on epoch level in distributed.*")
    warnings.filterwarnings("ignore", ".*callbacks used to create the checkpoint need.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    warnings.filterwarnings("ignore", ".*Checkpoint directory .* exists and is not empty.*")
