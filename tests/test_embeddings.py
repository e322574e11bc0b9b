"""Pretrained embeddings: file formats, bad input, alignment and coverage, the cache,
installation into a model (size from the file, freezing), vocabulary restriction."""

import gzip

import numpy as np
import pytest
import torch
from conftest import write

from rnnbench.contract.errors import ConfigError, DataError
from rnnbench.data.embedding_align import align
from rnnbench.data.embeddings import Vectors, load_vectors, read_vectors

GLOVE = "the 0.1 0.2 0.3\ngood 1.0 -1.0 0.5\nfilm -0.5 0.25 2.0\n"


def expected():
    return torch.tensor([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5], [-0.5, 0.25, 2.0]])


@pytest.mark.parametrize(
    "name,content",
    [
        ("glove.txt", GLOVE),
        ("w2v.vec", "3 3\n" + GLOVE),  # word2vec / fastText header
        ("crlf.txt", GLOVE.replace("\n", "\r\n") + "\n\n"),
        ("glove.txt.gz", gzip.compress(GLOVE.encode())),
        ("gzipped-without-suffix.txt", gzip.compress(("3 3\n" + GLOVE).encode())),
    ],
)
def test_text_formats(tmp_path, name, content):
    v = read_vectors(write(tmp_path / name, content))
    assert v.tokens == ["the", "good", "film"]
    assert v.vectors.dtype == torch.float32 and v.dim == 3
    torch.testing.assert_close(v.vectors, expected())


def test_tokens_with_spaces_and_repeated_tokens(tmp_path):
    v = read_vectors(write(tmp_path / "v.txt", "new york 1 2\nthe 3 4\nthe 5 6\n"))
    assert v.tokens == ["new york", "the"]  # a repeated token keeps its first vector
    torch.testing.assert_close(v.vectors, torch.tensor([[1.0, 2.0], [3.0, 4.0]]))


def test_numpy_matrix_with_vocabulary(tmp_path):
    np.save(tmp_path / "m.npy", expected().numpy())
    vocab = write(tmp_path / "vocab.txt", "the\ngood\nfilm\n")
    v = read_vectors(tmp_path / "m.npy", vocab)
    assert v.tokens == ["the", "good", "film"]
    torch.testing.assert_close(v.vectors, expected())
    np.savez(tmp_path / "m.npz", vectors=expected().numpy(), other=np.zeros(3))
    v = read_vectors(tmp_path / "m.npz", vocab, array="vectors")
    torch.testing.assert_close(v.vectors, expected())
    np.savez(tmp_path / "one.npz", expected().numpy().astype(np.float64))
    assert read_vectors(tmp_path / "one.npz", vocab).vectors.dtype == torch.float32


BAD_TEXT = [
    ("the 1 2 3\ngood 1 2\n", "v.txt line 2: 2 values, expected 3"),
    ("the 1 2 3\ngood 1 2 3 4\n", "v.txt line 2: 4 values, expected 3"),
    ("2 3\nthe 1 2\n", "v.txt line 2: 2 values, expected 3 (as on the header line)"),
    ("the 1 2 3\ngood 1 x2 3\n", "v.txt line 2: 'x2' is not a number"),
    ("the 1 nan 3\n", "v.txt line 1: a value is not finite"),
    ("", "v.txt: empty, no vectors"),
    ("\n\n", "v.txt: empty, no vectors"),
    ("2 3\n", "v.txt: empty, no vectors"),
    (b"the 1 2\n\xff\xfe 1 2\n", "v.txt line 2: not UTF-8 text"),
]


@pytest.mark.parametrize("content,message", BAD_TEXT)
def test_bad_text_files_are_one_line_errors(tmp_path, content, message):
    with pytest.raises(DataError) as info:
        read_vectors(write(tmp_path / "v.txt", content))
    text = str(info.value)
    assert message in text and "\n" not in text and str(tmp_path / "v.txt") in text


def test_bad_numpy_inputs(tmp_path):
    vocab = write(tmp_path / "vocab.txt", "the\ngood\n")
    np.save(tmp_path / "m.npy", np.zeros((3, 4), np.float32))
    with pytest.raises(
        DataError,
        match=r"vocab.txt line 3: missing \(no token for row 3\); "
        r".*m.npy has 3 rows",
    ):
        read_vectors(tmp_path / "m.npy", vocab)
    long_vocab = write(tmp_path / "long.txt", "a\nb\nc\nd\n")
    with pytest.raises(DataError, match="long.txt line 4: token 'd' has no row"):
        read_vectors(tmp_path / "m.npy", long_vocab)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="obj.npy: not a readable NumPy file without pickles"):
        read_vectors(tmp_path / "obj.npy", vocab)
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 2)), b=np.zeros((2, 2)))
    with pytest.raises(DataError, match="two.npz: 2 arrays \\(a, b\\); name one"):
        read_vectors(tmp_path / "two.npz", vocab)
    with pytest.raises(DataError, match="no array 'c'"):
        read_vectors(tmp_path / "two.npz", vocab, array="c")
    np.save(tmp_path / "flat.npy", np.zeros(4, np.float32))
    with pytest.raises(DataError, match=r"flat.npy: expected one \(rows, dimension\) matrix"):
        read_vectors(tmp_path / "flat.npy", vocab)
    with pytest.raises(DataError, match="needs its vocabulary file"):
        read_vectors(tmp_path / "m.npy")
    with pytest.raises(DataError, match="empty.txt: empty, no tokens"):
        read_vectors(tmp_path / "m.npy", write(tmp_path / "empty.txt", ""))


def test_alignment_exact_then_lowercased_and_coverage():
    vectors = Vectors(
        ["the", "Good", "film", "good"],
        torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]]),
        "v",
    )
    vocab = ["<pad>", "<unk>", "the", "good", "Film", "plot"]
    counts = torch.tensor([0, 2, 10, 5, 3, 4])  # training occurrences per id
    a = align(vocab, vectors, counts=counts, seed=1)
    assert a.found.tolist() == [False, False, True, True, False, False]
    torch.testing.assert_close(a.matrix[2:4], torch.tensor([[1.0, 1.0], [4.0, 4.0]]))
    assert a.matrix[0].abs().sum() == 0  # padding
    assert (a.exact, a.lowercased, a.missing) == (2, 0, 3)
    assert a.vocab_coverage == pytest.approx(2 / 5)  # padding left out
    assert a.token_coverage == pytest.approx(15 / 24)
    low = align(vocab, vectors, counts=counts, seed=1, lowercase=True)
    assert low.found.tolist() == [False, False, True, True, True, False]
    torch.testing.assert_close(low.matrix[4], torch.tensor([3.0, 3.0]))  # Film -> film
    assert (low.exact, low.lowercased) == (2, 1)
    assert low.token_coverage == pytest.approx(18 / 24)


def test_missing_tokens_are_seeded_on_the_file_scale():
    g = torch.Generator().manual_seed(0)
    vectors = Vectors([f"w{i}" for i in range(500)], torch.randn(500, 50, generator=g) * 3.0, "v")
    vocab = ["<pad>", *[f"x{i}" for i in range(400)]]
    a = align(vocab, vectors, seed=7)
    assert a.found.sum() == 0
    assert float(a.matrix[1:].std()) == pytest.approx(float(vectors.vectors.std()), rel=0.05)
    torch.testing.assert_close(a.matrix, align(vocab, vectors, seed=7).matrix)
    assert not torch.equal(a.matrix, align(vocab, vectors, seed=8).matrix)


def test_loaded_vectors_are_cached_by_content(tmp_path, monkeypatch):
    import rnnbench.data.embeddings as module

    path = write(tmp_path / "v.txt", GLOVE)
    first = load_vectors(path)
    calls = []
    real = module.read_vectors
    monkeypatch.setattr(module, "read_vectors", lambda *a: calls.append(a) or real(*a))
    again = load_vectors(path)
    assert calls == [] and again.tokens == first.tokens
    torch.testing.assert_close(again.vectors, first.vectors)
    write(path, GLOVE.replace("0.1", "0.7"))  # same name, new content: read again
    changed = load_vectors(path)
    assert len(calls) == 1 and changed.vectors[0, 0] == pytest.approx(0.7)


# ------------------------------------------------------------------ in a run
def tiny_folder(tmp_path):
    folder = tmp_path / "data"
    rows = "".join(
        f"{'good Film' if i % 3 else 'bad plot'} the\t{int(i % 3 > 0)}\n" for i in range(30)
    )
    for split in ("train", "dev", "test"):
        write(folder / f"{split}.tsv", "sentence\tlabel\n" + rows)
    return folder


def prepared_run(tmp_path, embeddings, *extra, model="textrnn"):
    from rnnbench.contract.registry import get_registry
    from rnnbench.training.config import build_run_config, parse_sets
    from rnnbench.training.runner import prepare

    sets = parse_sets(
        [
            f"task.dataset={tiny_folder(tmp_path)}",
            f"train.embeddings={embeddings}",
            *(["model.hidden_size=4"] if model == "textrnn" else []),
            "train.progress=false",
            "train.max_epochs=1",
            *extra,
        ]
    )
    registry = get_registry()
    config = build_run_config(
        registry, model, "text-classification", sets, results_dir=tmp_path / "results"
    )
    return prepare(config, registry), registry


@pytest.mark.slow
@pytest.mark.parametrize("freeze", [True, False])
def test_run_installs_vectors_sized_from_the_file_and_freezes(tmp_path, freeze, capsys):
    from rnnbench.tracking import MemoryTracker
    from rnnbench.training.runner import execute

    path = write(tmp_path / "v.txt", GLOVE)
    prepared, registry = prepared_run(
        tmp_path, path, f"train.embeddings_freeze={freeze}", "train.embeddings_lowercase=true"
    )
    assert prepared.config.model_params["embedding_dim"] == 3
    err = capsys.readouterr().err
    assert "found 3 of 6 vocabulary tokens (50.0%, 1 lower-cased)" in err
    weight = prepared.system.model.encoder.embedding.weight
    vocab = prepared.task.vocabulary()
    rows = [vocab.index(t) for t in ("the", "good", "Film")]
    torch.testing.assert_close(weight[rows].detach(), expected())
    assert weight.requires_grad is not freeze
    tracker = MemoryTracker()
    result = execute(prepared, registry, tracker)
    after = prepared.system.model.encoder.embedding.weight.detach()[rows]
    assert torch.equal(after, expected()) is freeze
    history = tracker.runs[result.mlflow_run_id].history
    assert history["embeddings_vocab_coverage"][-1][1] == pytest.approx(0.5)
    # training tokens: 'the' x30, 'good'/'Film' x20 each, 'bad'/'plot' x10 each
    assert history["embeddings_token_coverage"][-1][1] == pytest.approx(70 / 90)


def test_restricting_the_vocabulary_to_the_file(tmp_path):
    path = write(tmp_path / "v.txt", GLOVE)
    prepared, _ = prepared_run(tmp_path, path, "train.embeddings_restrict=true")
    task = prepared.task
    assert task.vocabulary() == ["<pad>", "<unk>", "the", "good"]  # by training frequency
    assert task.context().vocab_size == 4
    assert prepared.system.model.encoder.embedding.num_embeddings == 4
    inputs = task.splits["train"]["inputs"]
    assert int(inputs.max()) == 3 and int((inputs == 1).sum()) == 40  # bad, plot x10, Film x20
    assert prepared.config.model_params["embedding_dim"] == 3


def test_numpy_vectors_in_a_run(tmp_path):
    np.savez(tmp_path / "m.npz", vectors=expected().numpy())
    vocab = write(tmp_path / "vocab.txt", "the\ngood\nfilm\n")
    prepared, _ = prepared_run(tmp_path, tmp_path / "m.npz", f"train.embeddings_vocab={vocab}")
    weight = prepared.system.model.encoder.embedding.weight.detach()
    torch.testing.assert_close(weight[prepared.task.vocabulary().index("good")], expected()[1])


def test_conflicting_embedding_dim_and_other_bad_requests(cli, tmp_path):
    path = write(tmp_path / "v.txt", GLOVE)
    np.save(tmp_path / "m.npy", expected().numpy())
    folder = tiny_folder(tmp_path)
    results = tmp_path / "results"
    cases = [
        (
            ["--set", f"train.embeddings={path}", "--set", "model.embedding_dim=8"],
            "model.embedding_dim=8 conflicts with train.embeddings: ",
        ),
        (["--set", f"train.embeddings={tmp_path / 'nope.txt'}"], "train.embeddings: no such file"),
        (["--set", f"train.embeddings={tmp_path / 'm.npy'}"], "train.embeddings_vocab: required"),
        (["--set", "train.embeddings_vocab=x.txt"], "train.embeddings_vocab: set without"),
        (
            ["--set", f"train.embeddings={write(tmp_path / 'bad.txt', 'a 1 2' + chr(10) + 'b 1')}"],
            "bad.txt line 2: 1 values, expected 2",
        ),
    ]
    for args, message in cases:
        code, _out, err = cli(
            "run",
            "--model",
            "textrnn",
            "--task",
            "text-classification",
            "--set",
            f"task.dataset={folder}",
            *args,
            "--results-dir",
            str(results),
        )
        assert code != 0 and message in err and len(err.strip().splitlines()) <= 2, err
        assert not results.exists()
    code, _, err = cli(
        "run",
        "--model",
        "gru",
        "--task",
        "adding",
        "--set",
        f"train.embeddings={path}",
        "--results-dir",
        str(results),
    )
    assert code == 2 and "task 'adding' has features inputs" in err


def test_a_model_with_several_embeddings_must_name_its_input_one(tmp_path):
    from rnnbench.contract.errors import IncompatibleError

    with pytest.raises(IncompatibleError, match="model 'memnet' has 4 nn.Embedding modules"):
        prepared_run(tmp_path, write(tmp_path / "v.txt", GLOVE), model="memnet")


def test_patience_in_batches_needs_validation_every_n_batches():
    from rnnbench.contract.registry import get_registry
    from rnnbench.training.config import build_run_config, parse_sets
    from rnnbench.training.trainer import patience

    sets = parse_sets(["train.patience_batches=1000"])
    with pytest.raises(ConfigError, match="train.patience_batches: needs train.val_check_interval"):
        build_run_config(get_registry(), "gru", "adding", sets)
    assert patience({"patience_batches": 1000, "val_check_interval": 100, "patience": 5}) == 10
    assert patience({"patience_batches": 1050, "val_check_interval": 100, "patience": 5}) == 11
    assert patience({"patience_batches": 0, "val_check_interval": 100, "patience": 5}) == 5
