"""rnnbench.training.restore: one rebuild of a finished run for `generate` and
`export-embeddings` (settings from result.json, MLflow params as the fallback)."""

import json
import shutil

import pytest
import torch
from test_generate import train

from rnnbench.data.embeddings import read_vectors

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n" * 30


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    """A finished word-level LSTM language-model run: its results folder, id, best weights."""
    root = tmp_path_factory.mktemp("restore")
    corpus = root / "corpus.txt"
    corpus.write_text(TEXT)
    results = root / "results"
    run_id = train(
        "--model",
        "lstm",
        "--task",
        "language-modelling",
        "--results-dir",
        str(results),
        "--set",
        f"task.dataset={corpus}",
        "--set",
        "task.level=word",
        "--set",
        "task.bptt=8",
        "--set",
        "train.batch_size=4",
        "--set",
        "model.hidden_size=8",
        "--set",
        "model.embedding_dim=6",
        "--set",
        "train.progress=false",
        "--max-epochs",
        "1",
        "--json",
    )
    folder = results / "runs" / run_id
    state = torch.load(folder / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)[
        "state_dict"
    ]
    return {
        "results": results,
        "run": run_id,
        "corpus": corpus,
        "state": state,
        "result": folder / "result.json",
    }


def test_best_checkpoint_holds_the_weights_and_last_the_optimiser(lm):
    """best.ckpt (written at every improvement) has no optimiser state; last.ckpt (the
    resume point, once per epoch) has it."""
    folder = lm["results"] / "runs" / lm["run"] / "checkpoints"
    best = torch.load(folder / "best.ckpt", map_location="cpu", weights_only=False)
    last = torch.load(folder / "last.ckpt", map_location="cpu", weights_only=False)
    assert "state_dict" in best and "optimizer_states" not in best
    assert last["optimizer_states"]


def greedy(cli, lm):
    code, out, err = cli(
        "generate",
        "--run",
        lm["run"],
        "--results-dir",
        str(lm["results"]),
        "--prime",
        "the cat",
        "--length",
        "12",
        "--top-k",
        "1",
    )
    assert code == 0, err
    return out


def test_both_commands_restore_the_same_run_identically(cli, tmp_path, lm):
    from rnnbench.contract.registry import get_registry
    from rnnbench.tracking.mlflow_tracker import MlflowTracker
    from rnnbench.training.restore import restore_run

    recorded = json.loads(lm["result"].read_text())
    assert recorded["data"]["vocab_size"] == "12"  # the task's data facts, as text
    uri = f"sqlite:///{lm['results'] / 'mlflow.db'}"
    from_file = restore_run(lm["results"], lm["run"], get_registry())
    shutil.move(lm["result"], tmp_path / "result.json")
    try:
        from_mlflow = restore_run(
            lm["results"],
            lm["run"],
            get_registry(),
            where=uri,
            tracker=MlflowTracker.open_existing(uri, "rnnbench"),
        )
    finally:
        shutil.move(tmp_path / "result.json", lm["result"])
    assert from_file.source == str(lm["result"]) and from_mlflow.source == uri
    for restored in (from_file, from_mlflow):
        state = restored.prepared.system.state_dict()
        assert state.keys() == lm["state"].keys()
        assert all(torch.equal(state[k], lm["state"][k]) for k in state)
    assert from_file.prepared.config.flat() == from_mlflow.prepared.config.flat()
    out = greedy(cli, lm)
    assert out.startswith("the cat") and set(out[len("the cat") :].split()) <= set(TEXT.split())
    vec = tmp_path / "lm.vec"
    code, _, err = cli(
        "export-embeddings", "--run", lm["run"], str(vec), "--results-dir", str(lm["results"])
    )
    assert code == 0, err
    weight = lm["state"]["model.encoder.embedding.weight"]  # (V, E) = (12, 6)
    assert torch.equal(read_vectors(vec).vectors, weight[1:])  # all but <pad>
    assert torch.equal(from_file.prepared.system.model.encoder.embedding.weight, weight)


def test_without_result_json_generate_falls_back_to_mlflow(cli, tmp_path, lm):
    before = greedy(cli, lm)
    kept = tmp_path / "result.json"
    shutil.move(lm["result"], kept)
    try:
        assert greedy(cli, lm) == before  # the same run from the MLflow params
        code, _, err = cli(
            "export-embeddings",
            "--run",
            lm["run"],
            str(tmp_path / "x.vec"),
            "--results-dir",
            str(lm["results"]),
        )
        # export-embeddings reads the same store (results/mlflow.db) as generate
        assert code == 0, err
        weight = lm["state"]["model.encoder.embedding.weight"]
        assert torch.equal(read_vectors(tmp_path / "x.vec").vectors, weight[1:])
    finally:
        shutil.move(kept, lm["result"])


def test_settings_added_or_dropped_since_the_run(cli, tmp_path, lm):
    """A setting the run did not record takes its default; one no spec knows any more
    is dropped (the recorded value here is the default, so the model is the same)."""
    from rnnbench.contract.registry import get_registry

    text = lm["result"].read_text()
    recorded = json.loads(text)
    dropout = get_registry().model("lstm").params.defaults()["dropout"]
    assert recorded["hparams"].pop("model.dropout") == dropout
    recorded["hparams"]["model.retired_option"] = 3
    recorded["hparams"]["train.retired_option"] = "x"
    try:
        lm["result"].write_text(json.dumps(recorded))
        vec = tmp_path / "lm.vec"
        assert (
            cli(
                "export-embeddings",
                "--run",
                lm["run"],
                str(vec),
                "--results-dir",
                str(lm["results"]),
            )[0]
            == 0
        )
        assert torch.equal(
            read_vectors(vec).vectors, lm["state"]["model.encoder.embedding.weight"][1:]
        )
    finally:
        lm["result"].write_text(text)


def test_changed_data_and_broken_files_fail_export_too(cli, tmp_path, lm):
    corpus, text = lm["corpus"], lm["corpus"].read_text()
    checkpoint = lm["results"] / "runs" / lm["run"] / "checkpoints" / "best.ckpt"
    weights, result = checkpoint.read_bytes(), lm["result"].read_text()
    out = tmp_path / "x.vec"

    def export():
        code, stdout, err = cli(
            "export-embeddings", "--run", lm["run"], str(out), "--results-dir", str(lm["results"])
        )
        assert code == 2 and stdout == "" and len(err.strip().splitlines()) == 1, err
        assert not list(tmp_path.glob("x.vec*"))
        return err

    try:
        corpus.write_text(text + "the cat sat on the log\n")  # the same words
        assert "the task's data changed since the run (data." in export()
        corpus.write_text(text)
        checkpoint.write_bytes(b"not a checkpoint")
        assert f"{checkpoint}: does not fit the model rebuilt from run" in export()
        checkpoint.write_bytes(weights)
        lm["result"].write_text("{")
        assert f"{lm['result']}: not a run result with its settings" in export()
        lm["result"].write_text(json.dumps({"hparams": {"model.hidden_size": 8}}))
        assert "the run trained no model" in export()
    finally:
        corpus.write_text(text)
        checkpoint.write_bytes(weights)
        lm["result"].write_text(result)
