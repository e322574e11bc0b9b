"""The Chinese-Text-Classification-Pytorch reference configuration, and validation and
early stopping measured in batches."""

import pytest
from conftest import ROOT

from rnnbench.contract.registry import get_registry

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)


def test_ctcp_reference_file_loads_and_validates():
    from rnnbench.sweep.config import build_sweep_config

    config = build_sweep_config(get_registry(), ROOT / "results/reference/ctc-p.yaml", {})
    assert config.models == ("textrnn", "rcnn") and config.n_trials == 0
    t = config.train
    assert (t["lr"], t["batch_size"], t["optimizer"], t["max_epochs"]) == (1e-3, 128, "adam", 10)
    assert (t["val_check_interval"], t["patience_batches"], t["clip_algorithm"]) == (
        100,
        1000,
        "none",
    )
    task = config.task_options["text-classification"]
    assert (task["tokenizer"], task["max_length"], task["vocab_size"]) == ("char", 32, 10002)
    assert task["equal_lengths"] is True  # one length per batch: the fused LSTM kernel
    assert config.model_params["textrnn"] == {
        "embedding_dim": 300,
        "hidden_size": 128,
        "num_layers": 2,
        "dropout": 0.5,
    }
    assert config.model_params["rcnn"]["cell"] == "lstm"


def test_validation_every_n_batches_and_patience_in_batches(tmp_path):
    from rnnbench.tracking import MemoryTracker
    from rnnbench.training.config import build_run_config, parse_sets
    from rnnbench.training.runner import execute, prepare

    folder = tmp_path / "d"
    folder.mkdir()
    rows = "".join(f"{'good' if i % 2 else 'bad'} film\t{i % 2}\n" for i in range(32))
    for split in ("train", "dev", "test"):
        (folder / f"{split}.tsv").write_text("sentence\tlabel\n" + rows)
    sets = parse_sets(
        [
            f"task.dataset={folder}",
            "train.batch_size=4",
            "train.progress=false",
            "model.hidden_size=4",
            "model.embedding_dim=4",
            "train.max_epochs=20",
            "train.val_check_interval=3",
            "train.patience_batches=6",
            "train.lr=0.05",
        ]
    )
    registry = get_registry()
    prepared = prepare(
        build_run_config(
            registry, "textrnn", "text-classification", sets, results_dir=tmp_path / "r"
        ),
        registry,
    )
    tracker = MemoryTracker()
    result = execute(prepared, registry, tracker)
    steps = [step for step, _ in tracker.runs[result.mlflow_run_id].history["val_acc"]]
    fit_steps = steps[:-1]  # the last value is the final validation of the best checkpoint
    assert fit_steps and all((s + 1) % 3 == 0 for s in fit_steps), steps  # every 3 batches
    # the task is learned at once, then 2 validations (6 batches) without improvement stop it
    assert result.steps < 20 * 8 and result.steps % 3 == 0
