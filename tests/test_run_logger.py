"""RunLogger buffers per-step values and writes them in batches at Lightning's save and
finalize points, or after flush_seconds; values keep the time they were logged."""

from __future__ import annotations

import math
import time

import pytest

from rnnbench.tracking.mlflow_tracker import MlflowTracker
from rnnbench.tracking.run_logger import RunLogger


class RecordingTracker:
    """Tracker's metric interface; records each write (one database round trip)."""

    metric_records = staticmethod(MlflowTracker.metric_records)

    def __init__(self) -> None:
        self.writes: list[tuple[str, list]] = []

    def write_metrics(self, run_id: str, records: list) -> None:
        self.writes.append((run_id, records))


def test_values_wait_for_save_and_keep_their_step_and_time():
    tracker = RecordingTracker()
    logger = RunLogger(tracker, "run-1", flush_seconds=3600)
    before = int(time.time() * 1000)
    for step in (0, 10, 20):
        logger.log_metrics({"loss": 1.0 / (step + 1), "epoch": 0}, step=step)
    assert tracker.writes == []  # nothing written per step
    logger.save()
    assert len(tracker.writes) == 1
    run_id, records = tracker.writes[0]
    assert run_id == "run-1"
    assert [(m.key, m.step, m.value) for m in records] == [
        ("loss", 0, 1.0),
        ("loss", 10, 1 / 11),
        ("loss", 20, 1 / 21),
    ]  # "epoch" is dropped
    assert all(before <= m.timestamp <= int(time.time() * 1000) for m in records)
    logger.save()
    assert len(tracker.writes) == 1  # an empty buffer costs no write


def test_finalize_writes_what_is_left_on_success_and_failure():
    for status in ("success", "failed"):
        tracker = RecordingTracker()
        logger = RunLogger(tracker, "run-2", flush_seconds=3600)
        logger.log_metrics({"grad_norm": 2.5, "skipped": math.nan}, step=7)
        logger.finalize(status)
        assert [(m.key, m.step, m.value) for _, ms in tracker.writes for m in ms] == [
            ("grad_norm", 7, 2.5)
        ]


def test_a_long_epoch_still_writes_every_flush_seconds():
    tracker = RecordingTracker()
    logger = RunLogger(tracker, "run-3", flush_seconds=0.05)
    logger.log_metrics({"loss": 1.0}, step=0)
    assert tracker.writes == []
    time.sleep(0.06)
    logger.log_metrics({"loss": 0.5}, step=10)
    assert [[m.step for m in ms] for _, ms in tracker.writes] == [[0, 10]]


@pytest.mark.slow
def test_a_buffer_larger_than_one_mlflow_batch_is_written_whole(tmp_path):
    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run_id = tracker.start_run("batches", {})
    logger = tracker.lightning_logger(run_id)
    logger.flush_seconds = 3600
    for step in range(1500):  # MLflow takes at most 1000 metrics per log_batch
        logger.log_metrics({"loss": float(step)}, step=step)
    logger.finalize("success")
    history = tracker.client.get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(1500))
