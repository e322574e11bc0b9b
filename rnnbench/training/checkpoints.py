"""checkpoints/last.ckpt, the state that `rnnbench run --resume` continues from.

Lightning's ModelCheckpoint(save_last=True) rewrites last.ckpt only in epochs that
improve the monitored metric, so a run killed after an epoch without improvement
resumed from an older epoch and trained (and logged) epochs twice. This callback
writes it at the end of every training epoch instead.

Contract, with BenchmarkSystem and RunLogger: it is a Checkpoint, so Lightning calls
it after the LightningModule's on_train_epoch_end, by which time every metric of the
epoch has been written to MLflow (validation at validation end, the per-step values
and the training-epoch values by the system before this hook). MLflow therefore holds
at least the epochs that last.ckpt holds; values that a killed process logged after
it are not logged again on resume (see RunLogger's `logged`).
"""

from __future__ import annotations

import os
from pathlib import Path

from lightning.pytorch.callbacks import Checkpoint

LAST_NAME = "last.ckpt"
# A LoggedModel's files (runner.log_best_model, read by training.restore): {"state_dict":
# ...} of the best checkpoint, and the run's result.json (its settings and data facts).
MODEL_WEIGHTS, MODEL_SETTINGS = "weights.pt", "result.json"


class ResumeCheckpoint(Checkpoint):
    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LAST_NAME

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # Written beside and renamed: a kill mid-write leaves the previous file whole.
        # save_checkpoint is collective (every rank calls it; global rank 0 writes).
        partial = self.path.with_name(LAST_NAME + ".partial")
        trainer.save_checkpoint(partial)
        if trainer.is_global_zero:
            os.replace(partial, self.path)
        trainer.strategy.barrier("resume_checkpoint")


def best_checkpoint(results_dir: Path, run_id: str) -> Path | None:
    """The newest best*.ckpt of run `run_id` under results_dir/runs, or None."""
    folder = Path(results_dir) / "runs" / run_id / "checkpoints"
    found = sorted(folder.glob("best*.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None
