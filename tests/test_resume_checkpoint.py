"""last.ckpt is the state after every training epoch, written after the epoch's metrics
were logged; a resumed run does not log a (key, step) pair twice."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from rnnbench.tracking.mlflow_tracker import MlflowTracker
from rnnbench.training.checkpoints import LAST_NAME, ResumeCheckpoint

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)


class WorseningModel(pl.LightningModule):
    """val_loss grows every epoch, so ModelCheckpoint keeps only epoch 0; records which
    epoch last.ckpt held when the module's own epoch-end hook ran."""

    def __init__(self, folder) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.last = folder / LAST_NAME
        self.seen_at_epoch_end: list[int | None] = []

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).pow(2).mean()

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", float(self.current_epoch))

    def on_train_epoch_end(self) -> None:
        held = torch.load(self.last, weights_only=False)["epoch"] if self.last.exists() else None
        self.seen_at_epoch_end.append(held)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_last_checkpoint_follows_every_epoch_and_comes_after_the_epoch_hook(tmp_path):
    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.randn(8, 2)), batch_size=4
    )
    folder = tmp_path / "checkpoints"
    best = ModelCheckpoint(dirpath=folder, monitor="val_loss", mode="min", filename="best")
    model = WorseningModel(folder)
    trainer = pl.Trainer(
        max_epochs=3,
        callbacks=[ResumeCheckpoint(folder), best],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(model, data, data)
    assert torch.load(folder / LAST_NAME, weights_only=False)["epoch"] == 2
    assert torch.load(best.best_model_path, weights_only=False)["epoch"] == 0
    assert model.seen_at_epoch_end == [None, 0, 1]  # saved after the module's hook
    assert sorted(p.name for p in folder.iterdir()) == ["best.ckpt", LAST_NAME]  # no .partial


def test_a_resumed_run_keeps_the_first_value_logged_at_each_step(tmp_path):
    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run_id = tracker.start_run("resumed", {})
    killed = tracker.lightning_logger(run_id)
    killed.log_metrics({"train_loss": 0.5, "val_loss": 0.6}, step=46)
    killed.log_metrics({"train_loss": 0.4}, step=93)  # logged, never checkpointed
    killed.save()

    resumed = tracker.lightning_logger(run_id, resumed=True)
    resumed.log_metrics({"train_loss": 0.45}, step=93)  # epoch 93 trained again
    resumed.log_metrics({"train_loss": 0.3, "val_loss": 0.35}, step=140)
    resumed.finalize("success")

    def history(key):
        return sorted((m.step, m.value) for m in tracker.client.get_metric_history(run_id, key))

    assert history("train_loss") == [(46, 0.5), (93, 0.4), (140, 0.3)]
    assert history("val_loss") == [(46, 0.6), (140, 0.35)]
