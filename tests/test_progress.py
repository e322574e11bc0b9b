"""Progress lines: on stderr, one per validation, with the JSON result last on stdout."""

import json

import pytest
from conftest import TINY

from rnnbench.training.progress import clock


@pytest.mark.slow
def test_run_json_reports_progress_on_stderr_and_the_result_last_on_stdout(cli, tmp_path):
    code, out, err = cli(
        "run",
        "--model",
        "gru",
        "--task",
        "adding",
        *TINY,
        "--json",
        "--results-dir",
        str(tmp_path / "results"),
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["model"] == "gru"
    lines = err.strip().splitlines()
    assert lines[0].startswith("gru on adding: training ") and "up to 2 epochs" in lines[0]
    epochs = [line for line in lines if ": epoch " in line]
    assert [line.split(": epoch ")[1].split(",")[0] for line in epochs] == ["1", "2"]
    assert "val_loss" in epochs[-1] and "(best " in epochs[-1] and "elapsed 00:" in epochs[-1]


def test_clock():
    assert clock(75.4) == "01:15" and clock(3725) == "1:02:05"


def test_a_run_without_tracking_writes_no_database(cli, tmp_path):
    results = tmp_path / "results"
    code, out, err = cli(
        "run",
        "--model",
        "gru",
        "--task",
        "adding",
        *TINY,
        "--no-track",
        "--json",
        "--results-dir",
        str(results),
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["metrics"]["test_mse"] > 0
    assert not (results / "mlflow.db").exists()
    assert (results / "runs" / result["mlflow_run_id"] / "result.json").exists()
    code, _, err = cli(
        "run",
        "--model",
        "gru",
        "--task",
        "adding",
        "--no-track",
        "--resume",
        "--results-dir",
        str(tmp_path / "other"),
    )
    assert code == 2 and "cannot be used with --no-track" in err


def test_the_memory_tracker_answers_like_the_mlflow_one():
    from rnnbench.tracking import MemoryTracker

    tracker = MemoryTracker()
    parent = tracker.start_run("sweep s", {"rnnbench.role": "sweep"})
    child = tracker.start_run(
        "adding/gru seed 0", {"rnnbench.phase": "final"}, {"lr": 0.1}, parent_run_id=parent
    )
    tracker.log_metrics(child, {"test_mse": 0.5})
    tracker.log_metrics(child, {"test_mse": 0.25}, step=1)
    tracker.end_run(child)
    [found] = tracker.find_runs({"rnnbench.phase": "final"}, status="FINISHED")
    assert found.metrics == {"test_mse": 0.25} and found.params == {"lr": "0.1"}
    assert found.tags["mlflow.parentRunId"] == parent
    assert tracker.find_runs({"rnnbench.phase": "final"}, unfinished=True) == []
    assert tracker.logged_steps(child) == {("test_mse", 0), ("test_mse", 1)}
    assert tracker.run_status(parent) == "RUNNING"
