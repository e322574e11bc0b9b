"""`rnnbench sweep` and `rnnbench leaderboard` on tiny settings."""

import csv
import json
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

TINY_SWEEP = """\
name: tiny
tasks: [adding]
n_trials: 2
seeds: 1
pruner: none
train: {max_epochs: 2, patience: 5}
task_options:
  adding: {seq_len: 6, train_size: 128, val_size: 64, test_size: 64}
model_params:
  lstm: {hidden_size: 8, num_layers: 1, variant: vanilla, dropout: 0.0}
  gru: {hidden_size: 8, num_layers: 1, dropout: 0.0}
  broken: {}
"""

BROKEN_MODELS = """
import torch
import rnnbench
from rnnbench.nn import FusedRecurrent

def build_nan(context, hidden_size=4):
    model = FusedRecurrent(torch.nn.GRU, context, 4, hidden_size, 1, 0.0)
    real = model.forward
    def forward(inputs, lengths, state=None):
        out = real(inputs, lengths, state)
        return out._replace(pooled=out.pooled * float("nan"))
    model.forward = forward
    return model

def build_crash(context):
    raise RuntimeError("this model cannot be built")

@rnnbench.hookimpl
def register_models(register):
    register(rnnbench.ModelSpec(name="nan-model", builder=build_nan,
        params=rnnbench.ParamSet((rnnbench.Param("hidden_size", int, 4),))))
    register(rnnbench.ModelSpec(name="crash-model", builder=build_crash))
"""


def mlflow_runs(results):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    exp = client.get_experiment_by_name("rnnbench")
    return client.search_runs([exp.experiment_id], max_results=1000)


def sweep_file(tmp_path, text=TINY_SWEEP):
    path = tmp_path / "sweep.yaml"
    path.write_text(text.replace("  broken: {}\n", ""))
    return path


def test_tiny_sweep_tracks_trials_writes_leaderboard_and_resumes(cli, tmp_path):
    results = tmp_path / "results"
    config = sweep_file(tmp_path)
    args = ("sweep", "--config", str(config), "--models", "lstm,gru", "--results-dir", str(results))
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert {p["model"] for p in summary["pairs"]} == {"lstm", "gru"}
    curves = {c["model"]: c for c in summary["expected_best"]}
    assert sorted(curves) == ["gru", "lstm"] and len(curves["lstm"]["values"]) == 2
    assert [p[0] for p in curves["lstm"]["points"]] == [1, 2]
    assert [c["model"] for c in summary["cost"]] == ["gru", "lstm"]
    assert all(c["runs"] == 3 and c["cpu"] > 0 for c in summary["cost"])

    runs = mlflow_runs(results)
    parents = [r for r in runs if r.data.tags.get("rnnbench.role") == "sweep"]
    assert len(parents) == 1
    parent = parents[0].info.run_id
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent]
    search = [r for r in children if r.data.tags["rnnbench.phase"] == "search"]
    final = [r for r in children if r.data.tags["rnnbench.phase"] == "final"]
    assert len(search) == 4 and len(final) == 2
    for run in children:
        tags = run.data.tags
        assert tags["rnnbench.task"] == "adding" and tags["rnnbench.model"] in ("lstm", "gru")
        assert tags["rnnbench.study"] == f"tiny:adding:{tags['rnnbench.model']}"
        assert "rnnbench.seed" in tags
    assert sorted(r.data.tags["rnnbench.trial"] for r in search) == ["0", "0", "1", "1"]

    rows = list(csv.DictReader((results / "sweeps" / "tiny" / "leaderboard.csv").open()))
    assert {r["model"] for r in rows} == {"lstm", "gru"} and len(rows) == 2
    for row in rows:
        assert row["metric"] == "test_mse" and row["seeds"] == "1"
        assert 0.1 < float(row["baseline"]) < 0.25
        assert float(row["mean"]) > 0 and int(row["params"]) > 0 and float(row["throughput"]) > 0
        assert json.loads(row["hparams"])["model.hidden_size"] == "8"
    assert (results / "sweeps" / "tiny" / "leaderboard-adding.png").stat().st_size > 1000
    assert (
        (results / "sweeps" / "tiny" / "leaderboard.md")
        .read_text()
        .startswith("# Leaderboard of sweep 'tiny'")
    )
    from mlflow.tracking import MlflowClient

    artifacts = {
        a.path for a in MlflowClient(f"sqlite:///{results / 'mlflow.db'}").list_artifacts(parent)
    }
    assert {"leaderboard.json", "leaderboard.csv", "leaderboard-adding.png"} <= artifacts

    # The same command with a larger budget adds only the missing trials.
    code, out, err = cli(*args, "--n-trials", "3")
    assert code == 0, err
    runs = mlflow_runs(results)
    search = [r for r in runs if r.data.tags.get("rnnbench.phase") == "search"]
    assert sorted(r.data.tags["rnnbench.trial"] for r in search) == ["0", "0", "1", "1", "2", "2"]
    assert len([r for r in runs if r.data.tags.get("rnnbench.role") == "sweep"]) == 1
    import optuna

    storage = f"sqlite:///{results / 'optuna.db'}"
    for model in ("lstm", "gru"):
        study = optuna.load_study(study_name=f"tiny:adding:{model}", storage=storage)
        assert len(study.trials) == 3

    # The leaderboard command rebuilds the same table from MLflow alone.
    code, out, _ = cli("leaderboard", "--results-dir", str(results), "--format", "json")
    assert code == 0
    board = json.loads(out)
    assert {r["model"] for r in board} == {"lstm", "gru"}
    code, out, _ = cli(
        "leaderboard", "--results-dir", str(results), "--task", "adding", "--format", "csv"
    )
    assert out.startswith("task,rank,model,metric,direction,unit,mean,std")
    code, out, _ = cli("leaderboard", "--results-dir", str(results))
    assert code == 0 and "adding: expected best val_loss ↓ of n trials" in out
    assert "| model | trials | left out | n=1 | n=3 |" not in out  # the terminal form
    assert "n=1" in out and "n=3" in out and "cost by model" in out


def test_a_diverging_or_crashing_model_does_not_stop_the_sweep(cli, tmp_path, fake_plugin):
    fake_plugin(BROKEN_MODELS)
    results = tmp_path / "results"
    code, out, err = cli(
        "sweep",
        "--config",
        str(sweep_file(tmp_path)),
        "--models",
        "nan-model,crash-model,lstm",
        "--results-dir",
        str(results),
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    by_model = {p["model"]: p for p in summary["pairs"]}
    assert by_model["nan-model"]["trials"]["pruned"] == 2
    assert "diverged" in by_model["nan-model"]["note"]
    # failed before training: the pair stopped after its first trial
    assert by_model["crash-model"]["trials"]["fail"] == 1
    assert "this model cannot be built" in by_model["crash-model"]["note"]
    assert "its other trials were not run" in by_model["crash-model"]["note"]
    assert [r["model"] for r in summary["leaderboard"]] == ["lstm"]
    statuses = {
        r.data.tags.get("rnnbench.model"): r.info.status
        for r in mlflow_runs(results)
        if r.data.tags.get("rnnbench.phase") == "search"
    }
    assert statuses["nan-model"] == "FINISHED"  # trained to the end, then pruned as diverged
    assert statuses["lstm"] == "FINISHED"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("n_trails: 3\n", "sweep.yaml line 1: unknown key 'n_trails' (did you mean 'n_trials'?)"),
        (
            "tasks: [adding]\nn_trials: many\n",
            "sweep.yaml line 2: n_trials expects int, got 'many'",
        ),
        ("models: [lstm, grux]\n", "sweep.yaml line 1: unknown model 'grux' (did you mean 'gru'?)"),
        (
            "model_params:\n  lstm: {hiden_size: 3}\n",
            "sweep.yaml line 2: model 'lstm' has no hyperparameter 'hiden_size'",
        ),
        ("task_options:\n  adding: {seq_len: 0}\n", "task_options.adding.seq_len: must be >= 1"),
        ("pruner: sometimes\n", "sweep.yaml line 1: unknown pruner 'sometimes'"),
        (
            "model_params:\n  lstm:\n    hidden_size: {low: 64, high: 8}\n",
            "sweep.yaml line 3: search space for hidden_size: low 64 is greater than high 8",
        ),
        ("tasks: [adding\n", "invalid YAML"),
    ],
)
def test_config_errors_are_one_line_and_write_nothing(cli, tmp_path, text, message):
    config = tmp_path / "sweep.yaml"
    config.write_text(textwrap.dedent(text))
    results = tmp_path / "results"
    code, _out, err = cli("sweep", "--config", str(config), "--results-dir", str(results))
    assert code == 2
    assert message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not results.exists()


def test_flags_override_the_file_and_are_checked(cli, tmp_path):
    config = sweep_file(tmp_path)
    code, _, err = cli(
        "sweep", "--config", str(config), "--n-trials", "-1", "--results-dir", str(tmp_path / "r")
    )
    assert code == 2 and "--n-trials: n_trials must be >= 0, got -1" in err
    code, _, err = cli(
        "sweep", "--config", str(config), "--n-trials", "0", "--results-dir", str(tmp_path / "r")
    )
    assert code == 2 and err.strip() == (
        "rnnbench: error: --n-trials: n_trials 0 (no search) cannot search lr, batch_size, "
        "clip_value; set search_train: [] or n_trials >= 1"
    )
    assert not (tmp_path / "r").exists()


def test_default_benchmark_is_a_declared_set_with_an_equal_step_budget():
    from rnnbench.contract.registry import get_registry
    from rnnbench.sweep.config import build_sweep_config

    registry = get_registry()
    config = build_sweep_config(registry, None, {})
    assert config.pairs(registry) == [
        ("adding", "rnn"),
        ("adding", "lstm"),
        ("adding", "gru"),
        ("copy", "rnn"),
        ("copy", "lstm"),
        ("copy", "gru"),
        ("copy", "memnet"),
    ]
    assert config.n_trials == 0 and config.seeds == 3 and config.search_train == ()
    assert config.train["max_steps"] == 1500 and config.train["patience"] > 100
    assert config.task_options["adding"]["seq_len"] == 100
    flagged = build_sweep_config(registry, None, {"models": "lstm", "n_trials": 2, "name": "mine"})
    assert flagged.models == ("lstm",) and flagged.n_trials == 2


def test_a_train_flag_wins_over_set_as_in_run():
    """`--accelerator cpu --set train.accelerator=auto`: the flag, as `rnnbench run` does."""
    from rnnbench.contract.registry import get_registry
    from rnnbench.sweep.config import build_sweep_config

    config = build_sweep_config(
        get_registry(), None, {"accelerator": "cpu"}, ["train.accelerator=auto"]
    )
    assert config.train["accelerator"] == "cpu"


def test_the_sweep_schema_is_the_one_list_of_keys_and_flags_and_configs_are_immutable(tmp_path):
    """SweepConfig holds SCHEMA's keys (and budget_at); `rnnbench sweep`'s flags are
    SCHEMA's (plus --config, --set, the train.* flags and --json); a built config is
    frozen, its lists tuples and its mappings read-only, and the derived values
    (threads per worker, the absolute results folder) are in it before it is built."""
    import argparse
    import dataclasses

    from rnnbench.cli.sweep_cmd import add_parser
    from rnnbench.contract.registry import get_registry
    from rnnbench.sweep.config import KEYS, SCHEMA, TRAIN_FLAGS, SweepConfig, build_sweep_config

    assert [f.name for f in dataclasses.fields(SweepConfig)] == [*KEYS, "budget_at"]
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    sweep = parser._subparsers._group_actions[0].choices["sweep"]  # type: ignore[union-attr]
    flags = {o for a in sweep._actions for o in a.option_strings} - {"-h", "--help"}
    expected = {k.flag for k in SCHEMA if k.flag} | {f"--{n}" for n in TRAIN_FLAGS}
    assert flags - expected == {"--config", "--set", "--json"} and expected <= flags
    args = sweep.parse_args(["--n-trials", "2", "--models", "lstm", "--results-dir", "x"])
    assert (args.n_trials, args.models, args.seeds) == (2, "lstm", None)

    config = build_sweep_config(
        get_registry(),
        None,
        {"models": "lstm", "workers": 2, "results_dir": "rel", "diagnostics": "gradient-flow"},
        ["model.hidden_size=9"],
    )
    assert config.results_dir == (Path.cwd() / "rel").resolve() and not config.results_dir.exists()
    assert config.train["num_threads"] >= 1 and config.train["diagnostics"] == "gradient-flow"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.n_trials = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.train["lr"] = 1.0  # type: ignore[index]
    with pytest.raises(TypeError):
        config.model_params["lstm"]["hidden_size"] = 1  # type: ignore[index]
    assert config.model_params["lstm"]["hidden_size"] == 9


SYNTHETIC_PLUGIN = """
import rnnbench
from rnnbench_tasks.synthetic import ADDING

@rnnbench.hookimpl
def register_tasks(register):
    import dataclasses
    register(dataclasses.replace(ADDING, name="adding-again"))
"""


def test_installed_plugins_join_all_and_synthetic_only_when_asked(fake_plugin):
    from rnnbench.contract.registry import get_registry
    from rnnbench.sweep.config import build_sweep_config

    fake_plugin(SYNTHETIC_PLUGIN)
    registry = get_registry()
    assert "adding-again" in registry.tasks
    config = build_sweep_config(registry, None, {"tasks": "synthetic", "models": "all"})
    assert config.tasks == ("adding", "addition", "copy", "listops", "reverse", "sort", "waveform")
    config = build_sweep_config(registry, None, {"tasks": "synthetic", "all_installed": True})
    assert "adding-again" in config.tasks


def test_a_sweep_without_search_trains_each_fixed_configuration(cli, tmp_path):
    config = tmp_path / "fixed.yaml"
    config.write_text(
        TINY_SWEEP.replace("n_trials: 2", "n_trials: 0\nsearch_train: []")
        .replace("seeds: 1", "seeds: 2")
        .replace("  broken: {}\n", "")
    )
    results = tmp_path / "results"
    code, out, err = cli(
        "sweep", "--config", str(config), "--models", "gru", "--results-dir", str(results), "--json"
    )
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["leaderboard"][0]["best_trial"] == "fixed"
    assert summary["leaderboard"][0]["seeds"] == 2
    runs = mlflow_runs(results)
    assert not [r for r in runs if r.data.tags.get("rnnbench.phase") == "search"]
    finals = [r for r in runs if r.data.tags.get("rnnbench.phase") == "final"]
    assert sorted(r.data.params["train.seed"] for r in finals) == ["0", "1"]
    assert {r.data.params["model.hidden_size"] for r in finals} == {"8"}
    board = (results / "sweeps" / "tiny" / "leaderboard.md").read_text()
    assert "no expected-best curves: this sweep ran no search trials (n_trials 0" in board
    assert not (results / "sweeps" / "tiny" / "expected-best-adding.png").exists()
    assert (
        "## Cost by model" in board and (results / "sweeps" / "tiny" / "cost-adding.png").exists()
    )


def test_leaderboard_without_database_is_a_clear_error(cli, tmp_path):
    code, _, err = cli("leaderboard", "--results-dir", str(tmp_path))
    assert code == 2 and "no mlflow.db" in err


def test_the_mlflow_ui_and_optuna_dashboard_read_the_sweep(cli, tmp_path):
    from mlflow.tracking import MlflowClient

    results = tmp_path / "results"
    args = (
        "sweep",
        "--config",
        str(sweep_file(tmp_path)),
        "--models",
        "lstm",
        "--results-dir",
        str(results),
        "--seeds",
        "2",
    )
    code, _out, err = cli(*args)
    assert code == 0, err
    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("rnnbench")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    runs = mlflow_runs(results)
    parent = next(r for r in runs if r.data.tags.get("rnnbench.role") == "sweep")
    note = parent.data.tags["mlflow.note.content"]
    assert note.startswith("- **adding** (test_mse ↓): lstm leads")
    assert "Sweep 'tiny': n_trials 2 · seeds 2" in note
    assert "| 1 ★ | lstm |" in note and "█" in note
    assert set(parent.data.metrics) >= {
        "adding.lstm.test_mse",
        "adding.lstm.test_mse.std",
        "adding.lstm.rank",
    }
    assert parent.data.tags["rnnbench.setting.seeds"] == "2"
    names = sorted(
        r.info.run_name
        for r in runs
        if r is not parent and r.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    )
    assert names == [
        "adding/lstm seed 0",
        "adding/lstm seed 1",
        "adding/lstm trial 0",
        "adding/lstm trial 1",
    ]

    import optuna

    study = optuna.load_study(
        study_name="tiny:adding:lstm", storage=f"sqlite:///{results / 'optuna.db'}"
    )
    assert study.metric_names == ["val_loss"]
    assert study.user_attrs["task"] == "adding" and study.user_attrs["model"] == "lstm"
    assert study.user_attrs["mlflow_parent_run_id"] == parent.info.run_id

    # A re-run with more seeds resumes the sweep and its settings tags follow.
    code, _, err = cli(*args[:-1], "3")
    assert code == 0, err
    assert "resuming sweep 'tiny': finished trials and seeds are kept" in err
    parent = client.get_run(parent.info.run_id)
    assert parent.data.tags["rnnbench.setting.seeds"] == "3"


def test_another_set_of_pairs_under_the_same_name_is_refused(cli, tmp_path):
    results = tmp_path / "results"
    config = str(sweep_file(tmp_path))
    code, _, err = cli(
        "sweep", "--config", config, "--models", "lstm", "--results-dir", str(results)
    )
    assert code == 0, err
    board = results / "sweeps" / "tiny" / "leaderboard.md"
    before = board.read_text()
    runs_before = len(mlflow_runs(results))
    code, out, err = cli(
        "sweep", "--config", config, "--models", "gru", "--results-dir", str(results)
    )
    assert code == 2
    assert err.strip().splitlines() == [
        "rnnbench: error: sweep 'tiny' already exists with other pairs (its pairs are "
        "adding/lstm; these are adding/gru); pass --study-name NEW for a new sweep, or the "
        "same models and tasks to resume it"
    ]
    assert board.read_text() == before and len(mlflow_runs(results)) == runs_before
    code, out, _ = cli("leaderboard", "--results-dir", str(results), "--list")
    assert code == 0 and out.splitlines()[1].startswith("tiny ")
    code, _, err = cli("leaderboard", "--results-dir", str(results), "--sweep", "tinny")
    assert code == 2 and "did you mean 'tiny'" in err
