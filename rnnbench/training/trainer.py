"""The Lightning Trainer of a run: early stopping, checkpoints, clipping, devices, and a
check that the task's monitored metric is logged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnbench.contract.errors import RnnbenchError
from rnnbench.training.devices import parse_devices

if TYPE_CHECKING:
    from rnnbench.training.prepared import PreparedRun


def make_trainer(prepared: PreparedRun, run_dir: Path, logger: Any, callbacks: Iterable[Any]):
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from rnnbench.training.checkpoints import ResumeCheckpoint
    from rnnbench.training.interrupts import interrupts_first

    train = prepared.config.train
    spec = prepared.task_spec
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        monitor=spec.monitor,
        mode=spec.mode,
        save_top_k=1,
        save_last=False,
        filename="best",
        # the best weights are what validation, test and the logged model read; the
        # optimiser state (twice the weights for Adam) is only in last.ckpt, which
        # resumes: a third of the bytes at every improvement
        save_weights_only=True,
    )
    # strict=False: a run may stop (max_steps) before its first validation; a monitor
    # that validation never logs is caught by monitor_check instead.
    stopper = EarlyStopping(
        monitor=spec.monitor,
        mode=spec.mode,
        patience=patience(train),
        check_finite=True,
        strict=False,
    )
    clip = train["clip_algorithm"]
    trainer = pl.Trainer(
        max_epochs=train["max_epochs"],
        max_steps=train["max_steps"],
        limit_train_batches=train["limit_train_batches"] or None,
        limit_val_batches=train["limit_eval_batches"] or None,
        limit_test_batches=train["limit_eval_batches"] or None,
        gradient_clip_val=train["clip_value"] if clip != "none" else None,
        gradient_clip_algorithm=clip if clip != "none" else None,
        deterministic=train["deterministic"],
        precision=train["precision"],
        accelerator=train["accelerator"],
        devices=parse_devices(train["devices"]),
        strategy=train["strategy"],
        enable_progress_bar=train["progress"],
        enable_model_summary=False,
        num_sanity_val_steps=0,
        # every N batches counted across epochs (train.val_check_interval), else per epoch
        val_check_interval=train.get("val_check_interval") or None,
        check_val_every_n_epoch=None if train.get("val_check_interval") else 1,
        logger=logger,
        callbacks=[
            monitor_check(spec.monitor),
            last_step_validation(),
            checkpoint,
            stopper,
            *callbacks,
            ResumeCheckpoint(run_dir / "checkpoints"),
            interrupts_first(),
        ],
        default_root_dir=run_dir,
        log_every_n_steps=10,
        use_distributed_sampler=False,  # data modules shard training themselves
    )
    return trainer, checkpoint


def patience(train: Mapping[str, Any]) -> int:
    """Validations without improvement before stopping: train.patience (epochs), or
    ceil(train.patience_batches / train.val_check_interval) when measured in batches."""
    if train.get("patience_batches") and train.get("val_check_interval"):
        return max(1, -(-train["patience_batches"] // train["val_check_interval"]))
    return train["patience"]


def single_device_trainer(prepared: PreparedRun, logger: Any):
    import lightning.pytorch as pl

    train = prepared.config.train
    return pl.Trainer(
        accelerator=train["accelerator"],
        devices=1,
        strategy="auto",
        logger=logger,
        precision=train["precision"],
        enable_progress_bar=train["progress"],
        enable_model_summary=False,
        limit_val_batches=train["limit_eval_batches"] or None,
        limit_test_batches=train["limit_eval_batches"] or None,
    )


def last_step_validation():
    """A callback that makes a step budget (train.max_steps) that ends mid-epoch, or
    between two validations of train.val_check_interval, validate after its last step.

    Lightning stops at max_steps without validating unless the step is a validation
    step, so the scored best checkpoint never saw the steps since the last validation.
    Setting `trainer.should_stop` at the last step makes Lightning's training loop run
    one validation right after it (its "stop early" validation), before fit ends: the
    checkpoint, early-stopping and pruning callbacks see it like any other. When the
    last step is a validation step anyway, Lightning still validates once.

    Logged steps, Lightning's convention: a validation after N optimiser steps is
    logged at step N - 1 (as the training-epoch values); the runner's validation of
    the best checkpoint after fit is logged at step N (see runner._train_and_evaluate).
    """
    from lightning.pytorch.callbacks import Callback

    class LastStepValidation(Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            if 0 < trainer.max_steps <= trainer.global_step:
                trainer.should_stop = True

    return LastStepValidation()


def monitor_check(monitor: str):
    """A callback that fails the run at the first validation that lacks the monitored
    metric: early stopping, checkpoints and pruning would otherwise silently do nothing."""
    from lightning.pytorch.callbacks import Callback

    class MonitorCheck(Callback):
        def on_validation_end(self, trainer, pl_module) -> None:
            if not trainer.sanity_checking and monitor not in trainer.callback_metrics:
                logged = ", ".join(sorted(trainer.callback_metrics)) or "nothing"
                raise RnnbenchError(
                    f"the task's monitored metric {monitor!r} was not logged (logged: {logged})"
                )

    return MonitorCheck()
