"""The language-modelling evaluation convention: validation and test run at
task.eval_batch_size streams with the state carried through the whole stream, so the
windowed test loss equals the loss of reading each stream in one piece; the leaderboard
caption states it."""

import math

import lightning.pytorch as pl
import pytest
import torch
import torch.nn.functional as F

from rnnbench.contract.registry import get_registry
from rnnbench.training.config import build_run_config
from rnnbench.training.runner import prepare


def prepared(tmp_path, **task):
    text = "".join(f"line {i % 7} of the {i % 5} text {i % 3}\n" for i in range(300))
    (tmp_path / "lm.txt").write_text(text)
    sets = {
        "task": {
            "dataset": str(tmp_path / "lm.txt"),
            "bptt": 7,
            "cache": False,
            "level": "word",
            **task,
        },
        "model": {"hidden_size": 12, "embedding_dim": 6, "num_layers": 2},
        "train": {"batch_size": 4, "progress": False},
    }
    return prepare(
        build_run_config(get_registry(), "lstm", "language-modelling", sets), get_registry()
    )


@pytest.mark.slow
def test_evaluation_streams_follow_eval_batch_size(tmp_path):
    run = prepared(tmp_path, eval_batch_size=3)
    dm = run.task.datamodule
    assert next(iter(dm.train_dataloader()))["inputs"].shape == (4, 7)
    test = list(dm.test_dataloader())
    per_stream = run.task.ids["test"].numel() // 3
    assert all(b["inputs"].shape[0] == 3 for b in test)
    assert len(test) == math.ceil((per_stream - 1) / 7)
    assert "10 streams" in prepared(tmp_path).task.evaluation


@pytest.mark.slow
def test_windowed_test_loss_equals_reading_each_stream_whole(tmp_path):
    run = prepared(tmp_path, eval_batch_size=3)
    trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    out = trainer.test(run.system, datamodule=run.task.datamodule, verbose=False)[0]
    ids = run.task.ids["test"]
    streams = ids[: ids.numel() // 3 * 3].view(3, -1)  # (3, N/3), as the example batchifies
    system = run.system.eval()
    with torch.no_grad():
        inputs, target = streams[:, :-1], streams[:, 1:]
        lengths = torch.full((3,), inputs.shape[1])
        prediction, _ = system(inputs, lengths)  # one piece: no windows, no detaching
        whole = F.cross_entropy(
            prediction.reshape(-1, prediction.shape[-1]), target.reshape(-1)
        ).item()
    assert out["test_loss"] == pytest.approx(whole, rel=1e-5)


def test_leaderboard_caption_states_the_convention():
    from rnnbench.tracking.leaderboard.text import title

    row = {
        "task": "language-modelling",
        "metric": "test_loss",
        "unit": "nats/word",
        "direction": "lower",
        "baseline": None,
        "baseline_name": "",
        "evaluation": "test: state carried through the whole test stream, 10 streams, bptt 35",
    }
    assert title([row]).endswith(
        "; test: state carried through the whole test stream, 10 streams, bptt 35"
    )
