"""`rnnbench export-embeddings`: a trained run's input embeddings, written and reloaded."""

import json

import pytest
import torch

from rnnbench.data.embeddings import read_vectors

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n" * 30


@pytest.fixture
def lm_run(cli, tmp_path):
    """A finished word-level language-model run: (results folder, run id, its best weights)."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    results = tmp_path / "results"
    code, out, err = cli(
        "run",
        "--model",
        "lstm",
        "--task",
        "language-modelling",
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
        "--max-epochs",
        "1",
        "--results-dir",
        str(results),
        "--json",
    )
    assert code == 0, err
    run_id = json.loads(out.strip().splitlines()[-1])["mlflow_run_id"]
    best = results / "runs" / run_id / "checkpoints" / "best.ckpt"
    state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
    return results, run_id, state["model.encoder.embedding.weight"], corpus


def test_exported_vectors_reload_to_the_same_tensor(cli, tmp_path, lm_run):
    results, run_id, weight, _corpus = lm_run
    gz = tmp_path / "lm.txt.gz"
    assert cli("export-embeddings", "--run", run_id, str(gz), "--results-dir", str(results))[0] == 0
    assert gz.read_bytes()[:2] == b"\x1f\x8b"
    assert torch.equal(read_vectors(gz).vectors, weight[1:])
    out = tmp_path / "lm.vec"
    code, stdout, err = cli(
        "export-embeddings", "--run", run_id, str(out), "--results-dir", str(results)
    )
    assert code == 0, err
    # the vocabulary of the run: <pad> <unk> and the words by frequency (<eos> included)
    vocab = ["<pad>", "<unk>", "the", "<eos>", "cat", "sat", "on", "dog", "a", "mat", "log", "and"]
    assert f"wrote {len(vocab) - 1} vectors of dimension 6" in stdout
    assert "left out: '<pad>'" in stdout
    vectors = read_vectors(out)
    assert vectors.tokens == vocab[1:]
    assert torch.equal(vectors.vectors, weight[1:])  # bit for bit
    # and as pretrained vectors of a classifier, the same rows arrive in the model
    from rnnbench.contract.registry import get_registry
    from rnnbench.data.embedding_align import align

    aligned = align(vocab, vectors)
    assert torch.equal(aligned.matrix[1:], weight[1:]) and aligned.vocab_coverage == 1.0
    assert get_registry().model("textrnn").embedding == "encoder.embedding"


def test_export_then_classifier_uses_them(cli, tmp_path, lm_run):
    results, run_id, _weight, _ = lm_run
    out = tmp_path / "lm.vec"
    assert (
        cli("export-embeddings", "--run", run_id, str(out), "--results-dir", str(results))[0] == 0
    )
    folder = tmp_path / "cls"
    folder.mkdir()
    rows = "".join(f"{'the cat sat' if i % 2 else 'a dog and a log'}\t{i % 2}\n" for i in range(20))
    for split in ("train", "dev", "test"):
        (folder / f"{split}.tsv").write_text("sentence\tlabel\n" + rows)
    code, _stdout, err = cli(
        "run",
        "--model",
        "textrnn",
        "--task",
        "text-classification",
        "--set",
        f"task.dataset={folder}",
        "--set",
        f"train.embeddings={out}",
        "--set",
        "model.hidden_size=4",
        "--set",
        "train.progress=false",
        "--max-epochs",
        "1",
        "--no-track",
        "--results-dir",
        str(tmp_path / "r2"),
    )
    assert code == 0, err
    assert "found 8 of 8 vocabulary tokens (100.0%)" in err  # 7 words and <unk>


def test_bad_export_requests_are_one_line_errors(cli, tmp_path, lm_run):
    results, _run_id, _, _ = lm_run
    code, _, err = cli(
        "export-embeddings", "--run", "nope", str(tmp_path / "x.vec"), "--results-dir", str(results)
    )
    assert code == 2 and "--run nope: no " in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.vec").exists()
    code, out, err = cli(
        "run",
        "--model",
        "gru",
        "--task",
        "adding",
        "--set",
        "task.train_size=32",
        "--set",
        "task.val_size=8",
        "--set",
        "task.test_size=8",
        "--set",
        "model.hidden_size=4",
        "--max-epochs",
        "1",
        "--results-dir",
        str(results),
        "--json",
    )
    adding = json.loads(out.strip().splitlines()[-1])["mlflow_run_id"]
    code, _, err = cli(
        "export-embeddings", "--run", adding, str(tmp_path / "x.vec"), "--results-dir", str(results)
    )
    assert code == 2 and "task 'adding' has no token inputs" in err
    assert not list(tmp_path.glob("x.vec*"))
