"""`rnnbench run --model lstm --task adding` end to end, checked in the MLflow database."""

import json
import subprocess
import sys

import pytest
from conftest import TINY

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)


def test_run_lstm_adding_is_tracked_in_mlflow(cli, tmp_path):
    results = tmp_path / "results"
    code, out, err = cli(
        "run",
        "--model",
        "lstm",
        "--task",
        "adding",
        *TINY,
        "--set",
        "task.seq_len=10",
        "--seed",
        "3",
        "--results-dir",
        str(results),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert {
        "model",
        "task",
        "metrics",
        "baseline",
        "params",
        "wall_seconds",
        "throughput",
        "mlflow_run_id",
    } <= set(result)
    assert result["model"] == "lstm" and result["task"] == "adding"
    assert 0.1 < result["baseline"] < 0.25  # predicting 1 scores ~1/6
    assert {"val_loss", "val_mse", "test_loss", "test_mse"} <= set(result["metrics"])
    assert result["params"] == 4 * (2 * 16 + 16 * 16 + 2 * 16) + 16 + 1
    assert result["throughput"] > 0

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    run = client.get_run(result["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["rnnbench.model"] == "lstm" and tags["rnnbench.task"] == "adding"
    assert tags["rnnbench.seed"] == "3"
    assert tags["rnnbench.model_plugin"].startswith("rnnbench ")
    assert "rnnbench.version" in tags
    assert run.data.params["model.hidden_size"] == "16"
    assert run.data.params["train.seed"] == "3"
    metrics = run.data.metrics
    assert abs(metrics["test_mse"] - result["metrics"]["test_mse"]) < 1e-9
    assert "baseline" in metrics and "throughput" in metrics
    history = client.get_metric_history(run.info.run_id, "val_loss")
    assert len(history) >= 2  # one per epoch, plus the final evaluation
    assert (results / "runs" / run.info.run_id / "result.json").exists()


def test_console_script_runs_and_honours_tracking_uri(tmp_path):
    db = tmp_path / "elsewhere.db"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnnbench",
            "run",
            "--model",
            "lstm",
            "--task",
            "adding",
            *TINY,
            "--set",
            "task.seq_len=5",
            "--max-epochs",
            "1",
            "--results-dir",
            str(tmp_path / "r"),
            "--tracking-uri",
            f"sqlite:///{db}",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert db.exists() and not (tmp_path / "r" / "mlflow.db").exists()
    from mlflow.tracking import MlflowClient

    assert (
        MlflowClient(f"sqlite:///{db}").get_run(result["mlflow_run_id"]).info.status == "FINISHED"
    )


def test_a_step_budget_shorter_than_one_epoch_still_evaluates(cli, tmp_path):
    code, out, err = cli(
        "run",
        "--model",
        "lstm",
        "--task",
        "adding",
        *TINY,
        "--set",
        "train.batch_size=32",
        "--set",
        "train.max_steps=3",
        "--results-dir",
        str(tmp_path / "r"),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert {"val_mse", "test_mse"} <= set(result["metrics"])
