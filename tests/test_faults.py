"""Interrupted runs resume; unusable outputs fail in one line before training starts."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

RUN = [
    "run",
    "--model",
    "lstm",
    "--task",
    "adding",
    "--set",
    "task.seq_len=10",
    "--set",
    "task.train_size=3000",
    "--set",
    "task.val_size=64",
    "--set",
    "task.test_size=64",
    "--set",
    "model.hidden_size=16",
    "--set",
    "train.patience=100",
    "--set",
    "train.progress=false",
    "--max-epochs",
    "6",
]


def test_interrupted_run_resumes_from_its_last_checkpoint(tmp_path):
    results = tmp_path / "results"
    command = [sys.executable, "-m", "rnnbench", *RUN, "--results-dir", str(results), "--json"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    victim = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 180
    while time.time() < deadline and not list(results.glob("runs/*/checkpoints/last.ckpt")):
        time.sleep(0.2)
    checkpoints = list(results.glob("runs/*/checkpoints/last.ckpt"))
    assert checkpoints, "no checkpoint was written"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    run_id = checkpoints[0].parts[-3]

    proc = subprocess.run(
        [*command, "--resume"], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["mlflow_run_id"] == run_id
    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["rnnbench.resumed_from"] == "last.ckpt"
    epochs = [m.step for m in client.get_metric_history(run_id, "train_loss")]
    assert len(epochs) == 6 and len(set(epochs)) == 6  # each epoch trained once, none repeated


def test_resume_without_a_checkpoint_is_one_line(cli, tmp_path):
    code, _, err = cli(*RUN, "--results-dir", str(tmp_path / "r"), "--resume")
    assert code == 2 and "--resume: no unfinished run of this exact configuration" in err


def test_nearly_full_disk_is_refused_before_training(cli, tmp_path, monkeypatch):
    import shutil as real

    from rnnbench.training import setup

    usage = real.disk_usage(tmp_path)
    monkeypatch.setattr(setup.shutil, "disk_usage", lambda p: usage._replace(free=10 * 2**20))
    code, _, err = cli(*RUN, "--results-dir", str(tmp_path / "r"))
    assert code == 2 and "only 10 MiB free" in err


def test_unreachable_tracking_server_is_one_line(cli, tmp_path):
    start = time.time()
    code, _, err = cli(
        *RUN, "--results-dir", str(tmp_path / "r"), "--tracking-uri", "http://127.0.0.1:9"
    )
    assert code == 2 and "--tracking-uri http://127.0.0.1:9: not usable" in err
    assert len(err.strip().splitlines()) == 1
    assert time.time() - start < 60


@pytest.mark.parametrize("workers", ["1", "2"])
def test_unreachable_storage_is_one_line(cli, tmp_path, workers):
    """With --workers 2 the helper meets the same error: it is still printed once."""
    code, _, err = cli(
        "sweep",
        "--models",
        "lstm",
        "--tasks",
        "adding",
        "--results-dir",
        str(tmp_path / "r"),
        "--storage",
        "postgresql://root@127.0.0.1:1/none",
        "--workers",
        workers,
    )
    assert code == 2 and "--storage postgresql://root@127.0.0.1:1/none: cannot connect" in err
    assert len(err.strip().splitlines()) == 1
