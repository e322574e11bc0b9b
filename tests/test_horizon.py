"""`rnnbench horizon`: runs per model, length and seed, the solved criterion, outputs."""

import csv
import json

from rnnbench.horizon import HorizonPoint, largest_solved


def test_largest_solved_length_needs_half_the_seeds():
    points = [HorizonPoint("lstm", 50, "test_mse", [0.001, 0.002], [True, True]),
              HorizonPoint("lstm", 100, "test_mse", [0.005, 0.1], [True, False]),
              HorizonPoint("lstm", 200, "test_mse", [0.1, 0.2], [False, False]),
              HorizonPoint("rnn", 50, "test_mse", [0.1, 0.008], [False, False])]
    assert largest_solved(points, "lstm") == 100
    assert largest_solved(points, "rnn") is None


def test_horizon_command_writes_table_curve_and_mlflow_rows(cli, tmp_path):
    results = tmp_path / "results"
    code, out, err = cli("horizon", "--models", "rnn,gru", "--task", "copy", "--lengths", "3,6",
                         "--budget-steps", "8", "--seeds", "1", "--set", "task.train_size=128",
                         "--set", "task.val_size=32", "--set", "task.test_size=32",
                         "--set", "model.hidden_size=8", "--results-dir", str(results), "--json")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert set(summary["largest_solved"]) == {"rnn", "gru"}
    assert [(p["model"], p["length"]) for p in summary["points"]] == [
        ("rnn", 3), ("rnn", 6), ("gru", 3), ("gru", 6)]
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


def test_horizon_rejects_bad_lengths(cli, tmp_path):
    code, _, err = cli("horizon", "--lengths", "50,abc", "--results-dir", str(tmp_path / "r"))
    assert code == 2 and "--lengths: expected comma-separated integers" in err
