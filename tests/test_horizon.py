"""`rnnbench horizon`: runs per model, length and seed, the solved criterion, outputs."""

import csv
import json

import pytest

from rnnbench.sweep.horizon import HorizonPoint, largest_solved

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)


def test_largest_solved_length_needs_half_the_seeds():
    points = [
        HorizonPoint("lstm", 50, "test_mse", [0.001, 0.002], [True, True]),
        HorizonPoint("lstm", 100, "test_mse", [0.005, 0.1], [True, False]),
        HorizonPoint("lstm", 200, "test_mse", [0.1, 0.2], [False, False]),
        HorizonPoint("rnn", 50, "test_mse", [0.1, 0.008], [False, False]),
    ]
    assert largest_solved(points, "lstm") == 100
    assert largest_solved(points, "rnn") is None


def test_horizon_command_writes_table_curve_and_mlflow_rows(cli, tmp_path):
    results = tmp_path / "results"
    code, out, err = cli(
        "horizon",
        "--models",
        "rnn,gru",
        "--task",
        "copy",
        "--lengths",
        "3,6",
        "--budget-steps",
        "8",
        "--seeds",
        "1",
        "--set",
        "task.train_size=128",
        "--set",
        "task.val_size=32",
        "--set",
        "task.test_size=32",
        "--set",
        "model.hidden_size=8",
        "--results-dir",
        str(results),
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert set(summary["largest_solved"]) == {"rnn", "gru"}
    assert [(p["model"], p["length"]) for p in summary["points"]] == [
        ("rnn", 3),
        ("rnn", 6),
        ("gru", 3),
        ("gru", 6),
    ]
    for point in summary["points"]:  # copy's memoryless baseline 10 ln 8 / (T + 20)
        assert abs(point["baseline"] - 10 * 2.0794415 / (point["length"] + 20)) < 1e-4
    folder = results / "horizon" / "horizon"
    rows = list(csv.DictReader((folder / "horizon.csv").open()))
    assert len(rows) == 4 and rows[0]["metric"] == "test_loss"
    assert (folder / "horizon.png").stat().st_size > 1000
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("rnnbench").experiment_id])
    children = [r for r in runs if r.data.tags.get("rnnbench.phase") == "horizon"]
    assert len(children) == 4
    assert {r.data.params["train.max_steps"] for r in children} == {"8"}
    assert sorted(r.data.tags["rnnbench.length"] for r in children) == ["3", "3", "6", "6"]

    # the study's shared view: its runs (the filter MLflow applies), ranked by model
    from rnnbench.tracking.views import (
        SHARED_VIEW_TAG_PREFIX,
        decode_state,
        read_views,
        view_url,
    )

    experiment = client.get_experiment_by_name("rnnbench")
    tag = SHARED_VIEW_TAG_PREFIX + "rnnbench--horizon-horizon-copy"
    assert set(read_views(experiment.tags)) == {"rnnbench--horizon-horizon-copy"}
    envelope = json.loads(experiment.tags[tag])
    assert envelope["name"] == "horizon · copy horizon"
    state = decode_state(envelope["state"])
    assert state["orderByKey"] == "metrics.`test_loss`" and state["orderByAsc"] is True
    assert state["groupBy"]["groupByKeys"] == [{"mode": "tag", "groupByData": "rnnbench.model"}]
    assert state["selectedColumns"][:2] == ["metrics.`test_loss`", "metrics.`solved`"]
    shown = client.search_runs([experiment.experiment_id], state["searchFilter"])
    assert sorted(r.info.run_id for r in shown) == sorted(r.info.run_id for r in children)
    assert view_url(
        "http://127.0.0.1:5000", experiment.experiment_id, tag[len(SHARED_VIEW_TAG_PREFIX) :]
    ).endswith("&viewStateShareKey=rnnbench--horizon-horizon-copy")


def test_horizon_rejects_bad_lengths(cli, tmp_path):
    code, _, err = cli("horizon", "--lengths", "50,abc", "--results-dir", str(tmp_path / "r"))
    assert code == 2 and "--lengths: expected comma-separated integers" in err


def test_horizon_is_usable_from_python_and_refuses_tasks_without_a_length(tmp_path):
    import pytest

    from rnnbench.contract.errors import ConfigError
    from rnnbench.sweep.horizon import HorizonStudy, run_horizon
    from rnnbench.tracking.mlflow_tracker import MlflowTracker

    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    sets = {
        "task": {"train_size": "64", "val_size": "32", "test_size": "32"},
        "model": {"hidden_size": "8"},
        "train": {"progress": "false"},
    }
    study = HorizonStudy(
        models=["gru"],
        task="adding",
        lengths=[4],
        budget_steps=4,
        seeds=2,
        sets=sets,
        results_dir=tmp_path,
    )
    lines = []
    result = run_horizon(study, tracker, report=lines.append)
    assert [p.length for p in result.points] == [4] and len(result.points[0].values) == 2
    assert lines[0].startswith("[1/2] gru T=4 seed 0: test_mse ")
    with pytest.raises(ConfigError, match="horizon needs a task that declares a length option"):
        run_horizon(HorizonStudy(models=["gru"], task="listops"), tracker)


def test_horizon_help_shows_defaults_and_the_number_of_runs(cli, capsys):
    import pytest

    with pytest.raises(SystemExit):
        cli("horizon", "--help")
    text = capsys.readouterr().out
    assert "24 runs of 2000" in text and "(default: 2000)" in text
