"""The MLflow UI's shared views that a sweep writes (rnnbench.tracking.views)."""

import json
import re
import textwrap

import pytest

from rnnbench.tracking import schema, views
from rnnbench.tracking.base import MemoryTracker


def test_view_keys_are_stable_url_safe_and_distinct():
    assert views.leaderboard_key("tiny", "adding") == "rnnbench-tiny-adding"
    assert views.leaderboard_key("tiny", "adding") == views.leaderboard_key("tiny", "adding")
    odd = views.leaderboard_key("my sweep/2026 · ü", "copy:T=100")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", odd), odd
    # names that slug to the same text still get different keys
    assert views.leaderboard_key("a b", "t") != views.leaderboard_key("a-b", "t")
    assert views.leaderboard_key("a b", "t") != views.leaderboard_key("a/b", "t")
    assert len(views.leaderboard_key("s" * 300, "t" * 300)) <= 120


def test_leaderboard_view_state_ranks_models_by_the_main_metric():
    view = views.leaderboard_view("tiny", "sst", "test_accuracy", "max", ["lstm", "gru"])
    assert view.name == "tiny · sst leaderboard"
    state = view.state
    assert state["orderByKey"] == "metrics.`test_accuracy`" and state["orderByAsc"] is False
    assert state["selectedColumns"] == [
        "metrics.`test_accuracy`",
        "metrics.`baseline`",
        "metrics.`solved`",
        "metrics.`params`",
        "metrics.`steps`",
        "metrics.`wall_seconds`",
    ]
    assert state["columnOrder"] == state["selectedColumns"]
    assert state["groupBy"] == {
        "aggregateFunction": "average",
        "groupByKeys": [{"mode": "tag", "groupByData": "rnnbench.model"}],
    }
    assert state["groupsExpanded"] == {
        "tag.rnnbench.model.lstm": False,
        "tag.rnnbench.model.gru": False,
    }
    assert "tags.`rnnbench.sweep` = 'tiny'" in state["searchFilter"]
    assert "tags.`rnnbench.task` = 'sst'" in state["searchFilter"]
    assert "tags.`rnnbench.phase` = 'final'" in state["searchFilter"]
    assert views.leaderboard_view("t", "adding", "test_mse", "min").state["orderByAsc"] is True


def test_sixty_models_fit_under_the_size_limit_and_round_trip():
    models = [f"plugin-model-with-a-rather-long-name-{i:03d}" for i in range(60)]
    view = views.leaderboard_view(
        "a-sweep-with-a-long-name", "language-modelling-ptb", "test_perplexity", "min", models
    )
    value = views.envelope(view, 1, 2)
    assert len(value) <= views.MAX_VIEW_CHARS
    found = json.loads(value)
    assert found["name"] == view.name and found["createdAt"] == 1 and found["updatedAt"] == 2
    assert views.decode_state(found["state"]) == json.loads(json.dumps(view.state))


def test_a_state_too_large_for_plain_json_is_deflated_then_trimmed():
    big = views.leaderboard_view(
        "s", "t", "test_mse", "min", [f"m{i:05d}-{'x' * 40}" for i in range(400)]
    )
    value = json.loads(views.envelope(big, 1, 1))
    assert value["state"].startswith("deflate;")
    assert views.decode_state(value["state"])["groupsExpanded"]
    # past even the deflated size, the collapsed-group list goes (the ranking stays)
    import random

    rnd = random.Random(0)
    huge = views.leaderboard_view(
        "s",
        "t",
        "test_mse",
        "min",
        ["".join(rnd.choice("abcdefghij0123456789") for _ in range(60)) for _ in range(2000)],
    )
    state = views.decode_state(json.loads(views.envelope(huge, 1, 1))["state"])
    assert "groupsExpanded" not in state and state["orderByKey"] == "metrics.`test_mse`"


def _final(tracker, task, model, seed, best, value):
    run = tracker.start_run(
        f"{task}/{model} seed {seed}",
        {
            "rnnbench.sweep": "s",
            "rnnbench.phase": "final",
            "rnnbench.task": task,
            "rnnbench.model": model,
            "rnnbench.best_trial": str(best),
            "rnnbench.main_metric": "mse",
            "rnnbench.mode": "min",
        },
    )
    tracker.log_metrics(run, {"test_mse": value})
    tracker.end_run(run)
    return run


def test_publish_marks_current_runs_and_keeps_created_at_on_rewrite(monkeypatch):
    from rnnbench.tracking.leaderboard import build_rows, current_finals, final_runs

    tracker = MemoryTracker()
    old = _final(tracker, "adding", "lstm", 0, best=1, value=0.5)
    tracker.runs[old].start_time -= 10_000
    new = _final(tracker, "adding", "lstm", 0, best=4, value=0.1)
    gru = _final(tracker, "adding", "gru", 0, best=2, value=0.2)

    def publish():
        finals = final_runs(tracker, "s")
        current = {r.run_id for m in current_finals(finals).values() for r in m}
        return views.publish_sweep_views(tracker, "s", build_rows(finals), finals, current)

    monkeypatch.setattr(views.time, "time", lambda: 1000.0)
    written = publish()
    assert [v.key for v in written] == ["rnnbench-s-adding"]
    assert written[0].state["groupsExpanded"] == {
        "tag.rnnbench.model.lstm": False,
        "tag.rnnbench.model.gru": False,
    }
    assert tracker.runs[old].tags[schema.ON_LEADERBOARD.name] == "no"
    assert tracker.runs[new].tags[schema.ON_LEADERBOARD.name] == "yes"
    assert tracker.runs[gru].tags[schema.ON_LEADERBOARD.name] == "yes"
    tag = views.SHARED_VIEW_TAG_PREFIX + "rnnbench-s-adding"
    first = json.loads(tracker.tags[tag])
    assert first["createdAt"] == first["updatedAt"] == 1_000_000
    assert views.SHARED_VIEW_TAG_PREFIX + views.SWEEPS_VIEW_KEY in tracker.tags

    # a resumed sweep: a new model joins; the same key is rewritten, createdAt kept
    _final(tracker, "adding", "rnn", 0, best=0, value=0.3)
    monkeypatch.setattr(views.time, "time", lambda: 2000.0)
    publish()
    second = json.loads(tracker.tags[tag])
    assert second["createdAt"] == 1_000_000 and second["updatedAt"] == 2_000_000
    assert "tag.rnnbench.model.rnn" in views.decode_state(second["state"])["groupsExpanded"]
    assert views.sweep_view_keys(tracker, "s") == [("rnnbench-s-adding", "s · adding leaderboard")]
    assert views.sweep_view_keys(tracker, "other") == []


def test_view_url():
    assert views.view_url("http://127.0.0.1:5000/", "3", "rnnbench-s-adding") == (
        "http://127.0.0.1:5000/#/experiments/3/runs?workflowType=machine_learning"
        "&viewStateShareKey=rnnbench-s-adding"
    )


SWEEP = """\
name: views
tasks: [adding]
n_trials: 1
seeds: 2
pruner: none
train: {max_epochs: 1, patience: 5}
task_options:
  adding: {seq_len: 6, train_size: 64, val_size: 32, test_size: 32}
model_params:
  lstm: {hidden_size: 4, num_layers: 1, variant: vanilla, dropout: 0.0}
  gru: {hidden_size: 4, num_layers: 1, dropout: 0.0}
"""


@pytest.mark.slow
def test_a_real_sweep_writes_its_views_into_mlflow(cli, tmp_path, monkeypatch):
    """Two workers: every trial and seed line of both reaches the terminal; the sweep
    closes with where everything is, within 120 columns, and the views are in MLflow."""
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    results = tmp_path / "out"
    (tmp_path / "s.yaml").write_text(textwrap.dedent(SWEEP))
    code, out, err = cli(
        "sweep",
        "--config",
        "s.yaml",
        "--models",
        "lstm,gru",
        "--results-dir",
        "out",
        "--workers",
        "2",
    )
    assert code == 0, err
    assert sum(": trial 0 complete, " in line for line in err.splitlines()) == 2  # one per pair
    for model in ("lstm", "gru"):
        for seed in (0, 1):
            assert f"{model} on adding: seed {seed} ({seed + 1} of 2) done in" in err, err
    closing = out.rstrip("\n").splitlines()[-4:]
    assert closing[0].startswith("written to out/sweeps/views/: leaderboard.csv, leaderboard.md")
    assert closing[1] == "stores in out/: mlflow.db (MLflow), optuna.db (Optuna)"
    assert closing[2] == "MLflow UI: rnnbench ui --results-dir out, then open the leaderboard"
    assert closing[3].startswith("http://127.0.0.1:5000/#/experiments/")
    assert closing[3].endswith("&viewStateShareKey=rnnbench-views-adding")
    assert all(len(line) <= 120 for line in out.splitlines() + err.splitlines())
    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("rnnbench")
    found = views.read_views(experiment.tags)
    assert set(found) == {"rnnbench-views-adding", views.SWEEPS_VIEW_KEY}
    board = found["rnnbench-views-adding"]
    assert board["name"] == "views · adding leaderboard"
    # the view's filter, run through MLflow's own search, finds exactly the final seeds
    runs = client.search_runs([experiment.experiment_id], board["state"]["searchFilter"])
    assert sorted(r.data.tags["rnnbench.model"] for r in runs) == ["gru", "gru", "lstm", "lstm"]
    assert all("solved" in r.data.metrics and "test_mse" in r.data.metrics for r in runs)
    sweeps = found[views.SWEEPS_VIEW_KEY]["state"]
    assert set(sweeps["selectedColumns"]) == {
        "metrics.`adding.lstm.test_mse`",
        "metrics.`adding.gru.test_mse`",
    }
    parents = client.search_runs([experiment.experiment_id], sweeps["searchFilter"])
    assert [p.data.tags["rnnbench.sweep"] for p in parents] == ["views"]


def test_sweep_set_overrides_the_file_values():
    from rnnbench.contract.errors import ConfigError
    from rnnbench.contract.registry import get_registry
    from rnnbench.sweep.config import build_sweep_config

    registry = get_registry()
    flags = {"models": "lstm,gru", "tasks": "adding"}
    config = build_sweep_config(
        registry,
        None,
        flags,
        ["train.lr=0.005", "task.seq_len=7", "model.hidden_size=9", "model.variant=peephole"],
    )
    assert config.train["lr"] == 0.005 and "lr" not in config.search_train
    assert config.task_options["adding"]["seq_len"] == 7
    assert (
        config.model_params["lstm"]["hidden_size"] == 9 == config.model_params["gru"]["hidden_size"]
    )
    assert config.model_params["lstm"]["variant"] == "peephole"
    assert "variant" not in config.model_params["gru"]
    for bad, words in (
        ("model.nope=1", "--set model.nope: no model of this sweep"),
        ("train.nope=1", "--set train.nope: no such train option"),
        ("task.seq_len=x", "--set task.seq_len"),
        ("lr=1", "--set lr"),
    ):
        with pytest.raises(ConfigError, match=re.escape(words)):
            build_sweep_config(registry, None, flags, [bad])


@pytest.mark.slow
def test_a_param_over_mlflows_limit_keeps_its_full_value_as_an_artifact(tmp_path):
    from mlflow.tracking import MlflowClient

    from rnnbench.tracking.mlflow_tracker import MAX_PARAM_LENGTH, MlflowTracker

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = MlflowTracker(uri, "params", artifact_root=tmp_path / "art")
    long = "param_budget=" + "x" * 7000
    run = tracker.start_run("r", {}, {"sweep.train": long, "short": "ok"})
    params = MlflowClient(uri).get_run(run).data.params
    assert params["short"] == "ok"
    assert len(params["sweep.train"]) == MAX_PARAM_LENGTH and params["sweep.train"].endswith("...")
    assert params["sweep.train"][:-3] == long[: MAX_PARAM_LENGTH - 3]
    assert (tmp_path / "art" / run / "artifacts" / "params" / "sweep.train.txt").read_text() == long
