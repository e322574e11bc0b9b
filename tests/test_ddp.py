"""DDP with 2 CPU processes (gloo): one tracked run per trial, exact test metrics."""

import json
import os
import subprocess
import sys

import optuna
import pytest
import torch
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

DDP = ["--accelerator", "cpu", "--devices", "2", "--strategy", "ddp"]
TINY = [
    "--set",
    "task.seq_len=8",
    "--set",
    "task.train_size=256",
    "--set",
    "task.val_size=64",
    "--set",
    "task.test_size=63",
    "--set",
    "model.hidden_size=8",
    "--set",
    "train.progress=false",
]


def rnnbench(*args, cwd):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "rnnbench", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def runs(results):
    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    return client, client.search_runs(
        [client.get_experiment_by_name("rnnbench").experiment_id], max_results=1000
    )


def test_ddp_run_is_tracked_once_and_tested_on_exactly_the_test_set(tmp_path):
    results = tmp_path / "results"
    proc = rnnbench(
        "run",
        "--model",
        "lstm",
        "--task",
        "adding",
        *TINY,
        *DDP,
        "--max-epochs",
        "2",
        "--results-dir",
        str(results),
        "--json",
        cwd=tmp_path,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # every rank speaks through rnnbench's filters: no library chatter from rank 1
    assert "weights_only" not in proc.stderr and "is deprecated" not in proc.stderr, proc.stderr
    _client, all_runs = runs(results)
    assert [r.info.run_id for r in all_runs] == [result["mlflow_run_id"]]
    assert all_runs[0].info.status == "FINISHED"

    # Score the best checkpoint by hand on all 63 test examples, on one process.
    from rnnbench.contract.registry import get_registry
    from rnnbench.training.config import build_run_config, parse_sets
    from rnnbench.training.runner import prepare

    sets = parse_sets([s for s in TINY if s != "--set"])
    config = build_run_config(get_registry(), "lstm", "adding", sets)
    prepared = prepare(config, get_registry())
    best = results / "runs" / result["mlflow_run_id"] / "checkpoints" / "best.ckpt"
    prepared.system.load_state_dict(torch.load(best, weights_only=False)["state_dict"])
    prepared.system.eval()
    test = prepared.task.splits[2].tensors
    assert len(test["target"]) == 63
    with torch.no_grad():
        prediction, _ = prepared.system(test["inputs"], test["lengths"])
    exact = float(((prediction - test["target"]) ** 2).mean())
    assert abs(result["metrics"]["test_mse"] - exact) < 1e-6


def test_ddp_sweep_samples_each_trial_once(tmp_path):
    results = tmp_path / "results"
    config = tmp_path / "sweep.yaml"
    config.write_text(
        "name: ddp\nmodels: [lstm]\ntasks: [adding]\nn_trials: 2\nseeds: 1\npruner: none\n"
        "train: {max_epochs: 1}\n"
        "task_options: {adding: {seq_len: 6, train_size: 128, val_size: 32, test_size: 32}}\n"
        "model_params: {lstm: {hidden_size: 8, variant: vanilla}}\n"
    )
    rnnbench("sweep", "--config", str(config), *DDP, "--results-dir", str(results), cwd=tmp_path)
    _, all_runs = runs(results)
    phases = sorted(r.data.tags.get("rnnbench.phase", "parent") for r in all_runs)
    assert phases == ["final", "parent", "search", "search"]
    study = optuna.load_study(
        study_name="ddp:adding:lstm", storage=f"sqlite:///{results / 'optuna.db'}"
    )
    assert len(study.trials) == 2
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
