"""Final seeds log their best weights as MLflow LoggedModels; `rnnbench generate --run ID`
restores a run from the tracking store alone, with results/runs/ deleted."""

import json
import shutil
import textwrap

import pytest
import torch

TEXT = "".join(f"{('hail', 'see')[i % 2]} the king, and serve the queen.\n" for i in range(120))
SWEEP = """\
name: models
tasks: [language-modelling]
n_trials: 0
search_train: []
seeds: 1
train: {{max_epochs: 1, batch_size: 8, lr: 0.01}}
task_options:
  language-modelling: {{dataset: {corpus}, bptt: 16}}
model_params:
  lstm: {{hidden_size: 16, embedding_dim: 8}}
"""


def test_final_seeds_log_models_and_generate_restores_from_the_store(cli, tmp_path):
    from mlflow.tracking import MlflowClient

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    (tmp_path / "s.yaml").write_text(textwrap.dedent(SWEEP).format(corpus=corpus))
    results = tmp_path / "results"
    code, out, err = cli(
        "sweep",
        "--config",
        str(tmp_path / "s.yaml"),
        "--models",
        "lstm",
        "--results-dir",
        str(results),
        "--json",
    )
    assert code == 0, err
    run_id = json.loads(out.strip().splitlines()[-1])["pairs"][0]["finals"][0]["mlflow_run_id"]

    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("rnnbench").experiment_id
    models = client.search_logged_models([experiment])
    assert [(m.name, m.source_run_id, str(m.status)) for m in models] == [
        ("language-modelling-lstm-seed0", run_id, "READY")
    ]
    assert {m.key for m in models[0].metrics} >= {"test_loss"}
    assert {m.key: m.value for m in models[0].metrics}["test_loss"] == client.get_run(
        run_id
    ).data.metrics["test_loss"]

    shutil.rmtree(results / "runs")  # only the tracking store is left
    code, out, err = cli(
        "generate",
        "--run",
        run_id,
        "--results-dir",
        str(results),
        "--length",
        "40",
        "--prime",
        "hail",
    )
    assert code == 0, err
    assert out.startswith("hail") and len(out) > 20
    code, out, err = cli(
        "export-embeddings",
        "--run",
        run_id,
        "--results-dir",
        str(results),
        str(tmp_path / "vectors.txt"),
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["dim"] == 8  # embedding_dim of the sweep's lstm
    assert (tmp_path / "vectors.txt").read_text().splitlines()[0].split()[1] == "8"

    # the weights restored are the logged ones
    from rnnbench.contract.registry import get_registry
    from rnnbench.tracking.mlflow_tracker import MlflowTracker
    from rnnbench.training.restore import restore_run

    tracker = MlflowTracker.open_existing(f"sqlite:///{results / 'mlflow.db'}", "rnnbench")
    restored = restore_run(results, run_id, get_registry(), tracker=tracker, where="store")
    logged = tracker.download_model(tracker.find_model(run_id), tmp_path / "dl")
    weights = torch.load(logged / "weights.pt", weights_only=True)["state_dict"]
    state = restored.prepared.system.state_dict()
    assert weights.keys() == state.keys()
    assert all(torch.equal(weights[k], state[k]) for k in weights)


LOG_MODELS_SWEEP = """\
name: logged
tasks: [adding]
n_trials: 2
seeds: 1
pruner: none
train: {max_epochs: 1, batch_size: 32}
task_options:
  adding: {seq_len: 6, train_size: 128, val_size: 64, test_size: 64}
model_params:
  lstm: {hidden_size: 8}
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ([], {"search": 0, "final": 1}),  # the default: final seeds only
        (["--log-models", "all"], {"search": 2, "final": 1}),
        (["--log-models", "none"], {"search": 0, "final": 0}),
    ],
)
def test_log_models_chooses_which_runs_log_their_weights(cli, tmp_path, flag, expected):
    from mlflow.tracking import MlflowClient

    (tmp_path / "s.yaml").write_text(LOG_MODELS_SWEEP)
    results = tmp_path / "results"
    code, _, err = cli(
        "sweep", "--config", str(tmp_path / "s.yaml"), "--models", "lstm",
        "--results-dir", str(results), *flag,
    )  # fmt: skip
    assert code == 0, err
    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("rnnbench").experiment_id
    runs = client.search_runs([experiment], "tags.`rnnbench.phase` != ''")
    phase = {r.info.run_id: r.data.tags["rnnbench.phase"] for r in runs}
    assert sorted(phase.values()) == ["final", "search", "search"]
    counted = {"search": 0, "final": 0}
    for model in client.search_logged_models([experiment]):
        counted[phase[model.source_run_id]] += 1
    assert counted == expected


def test_log_models_refuses_an_unknown_value(cli, tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(LOG_MODELS_SWEEP + "log_models: some\n")
    results = tmp_path / "results"
    code, _, err = cli("sweep", "--config", str(tmp_path / "s.yaml"), "--results-dir", str(results))
    assert code == 2 and not results.exists()
    assert err.strip() == (
        f"rnnbench: error: {tmp_path / 's.yaml'} line 11: log_models must be one of "
        "final, all, none, got 'some'"
    )
    with pytest.raises(SystemExit) as stop:  # the flag's choices: argparse's one line
        cli("sweep", "--config", str(tmp_path / "s.yaml"), "--log-models", "every",
            "--results-dir", str(results))  # fmt: skip
    assert stop.value.code == 2 and not results.exists()
    assert capsys.readouterr().err.strip() == (
        "rnnbench: error: argument --log-models: invalid choice: 'every' (choose from "
        "'final', 'all', 'none') (see `rnnbench sweep --help`)"
    )
