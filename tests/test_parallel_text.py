"""Parallel text from local files: TSV or aligned files, word or char level, BLEU and
CER of decoding, and one-line errors for bad files; the samples are made here."""

from __future__ import annotations

import json

import pytest
import torch

from rnnbench import DataError
from rnnbench.contract.registry import get_registry
from rnnbench.testing import check_task_spec

WORDS = ["red", "green", "blue", "big", "small", "cat", "dog", "bird"]
FRENCH = {
    "red": "rouge",
    "green": "vert",
    "blue": "bleu",
    "big": "grand",
    "small": "petit",
    "cat": "chat",
    "dog": "chien",
    "bird": "oiseau",
}


def pairs(n: int) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        words = [WORDS[(i * 3 + k) % len(WORDS)] for k in range(1 + i % 3)]
        out.append((" ".join(words), " ".join(FRENCH[w] for w in reversed(words))))
    return out


@pytest.fixture
def tsv(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs(60)), encoding="utf-8")
    return path


def test_parallel_text_keeps_the_task_contract(tsv, tmp_path):
    spec = get_registry().task("parallel-text")
    check_task_spec(
        spec,
        {"dataset": str(tsv)},
        bad_options=[
            {"dataset": str(tmp_path / "missing.tsv")},
            {"dataset": ""},
            {"dataset": str(tsv), "source_file": str(tsv)},
            {"dataset": str(tsv), "beam": 0},
        ],
    )
    check_task_spec(spec, {"dataset": str(tsv), "level": "char"})


def test_aligned_files_give_the_same_pairs_as_the_tsv(tsv, tmp_path):
    (tmp_path / "src.txt").write_text("".join(f"{s}\n" for s, _ in pairs(60)))
    (tmp_path / "tgt.txt").write_text("".join(f"{t}\n" for _, t in pairs(60)))
    spec = get_registry().task("parallel-text")

    def build(**options):
        task = spec.factory(spec.options.resolve(options, "task"), 8, 0)
        task.prepare()
        return task

    a = build(dataset=str(tsv))
    b = build(source_file=str(tmp_path / "src.txt"), target_file=str(tmp_path / "tgt.txt"))
    for x, y in zip(a.splits, b.splits, strict=True):
        assert x.tensors["target"].tolist() == y.tensors["target"].tolist()
    assert a.describe()["target_vocab"] == 4 + len(FRENCH)
    row = a.splits[2].tensors
    n = int(row["target_lengths"][0])
    assert a.text(row["target"][0, : n - 1].tolist()) in {t for _, t in pairs(60)}
    assert 0.0 <= a.baseline() < 0.2  # English copied as French shares no word


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a b\tx y\nno tab here\n", "line 2: expected source<TAB>target, found no tab"),
        ("a\tb\tc\n", "line 1: expected source<TAB>target, found 2 tabs"),
        ("", "file is empty"),
        ("\n\n", "file is empty"),
        ("a\tx\n\tz\n", "line 2: the source side is empty"),
        ("a\tx\nb\t  \n", "line 2: the target side is empty"),
        ("a\tx\nb\ty\n", "2 pairs are too few to carve validation and test splits"),
    ],
)
def test_bad_tsv_files_are_one_line_errors_with_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.tsv"
    path.write_text(content)
    spec = get_registry().task("parallel-text")
    task = spec.factory(spec.options.resolve({"dataset": str(path)}, "task"), 8, 0)
    with pytest.raises(DataError) as caught:
        task.prepare()
    assert message in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_misaligned_files_are_one_line_errors(tmp_path, cli):
    (tmp_path / "src.txt").write_text("a\nb\nc\n")
    (tmp_path / "tgt.txt").write_text("x\ny\n")
    (tmp_path / "gap.txt").write_text("x\n\nz\n")
    for target, message in (
        ("tgt.txt", "has 3 lines, task.target_file"),
        ("gap.txt", "gap.txt line 2: blank, but its aligned line is not"),
    ):
        code, _out, err = cli(
            "run",
            "--model",
            "seq2seq",
            "--task",
            "parallel-text",
            "--set",
            f"task.source_file={tmp_path / 'src.txt'}",
            "--set",
            f"task.target_file={tmp_path / target}",
            "--no-track",
        )
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.slow
def test_a_run_reports_bleu_and_cer_of_decoding(cli, tsv, tmp_path):
    code, out, err = cli(
        "run",
        "--model",
        "seq2seq-attn",
        "--task",
        "parallel-text",
        "--set",
        f"task.dataset={tsv}",
        "--set",
        "model.hidden_size=16",
        "--set",
        "model.embedding_dim=8",
        "--set",
        "train.progress=false",
        "--max-epochs",
        "2",
        "--no-track",
        "--json",
        "--results-dir",
        str(tmp_path / "r"),
    )
    assert code == 0, err
    metrics = json.loads(out.strip().splitlines()[-1])["metrics"]
    assert 0.0 <= metrics["test_bleu"] <= 1.0 and metrics["test_cer"] >= 0.0
    assert {"test_exact", "test_token_acc", "val_loss"} <= set(metrics)


def _split_folder(tmp_path, test_lines: str):
    folder = tmp_path / "splits"
    folder.mkdir()
    lines = "".join(f"{s}\t{t}\n" for s, t in pairs(30))
    (folder / "train.tsv").write_text(lines)
    (folder / "validation.tsv").write_text(lines)
    (folder / "test.tsv").write_text(test_lines)
    spec = get_registry().task("parallel-text")
    task = spec.factory(
        spec.options.resolve({"dataset": str(folder), "max_length": 3}, "task"), 8, 0
    )
    task.prepare()
    return task


def test_bleu_and_cer_score_the_reference_text_not_its_unk_ids(tmp_path):
    # unseen words on both sides: their ids are all <unk>, their texts differ
    task = _split_folder(tmp_path, "q1 q2 q3 q4\tz1 z2 z3 z4\nred cat\tchat rouge\n")
    assert task.baseline() == 0.0  # copying "q1 q2 q3 q4" shares nothing with "z1 .."
    test = task.splits[2].tensors
    unk = test["target"].clone()  # a "model" that emits the references' ids, <unk>s and all
    metrics = task.metrics()
    task.update_metrics(metrics, unk, test)
    got = {name: float(m.compute()) for name, m in metrics.items()}
    # the second pair is right (3 ids with EOS); of the first (<unk> x3, truncated to
    # max_length, then EOS) only EOS counts: 4 of 7 ids. Its text "<unk> <unk> <unk>"
    # shares no word or most characters with "z1 z2 z3 z4".
    assert got["exact"] == 0.5 and got["token_acc"] == pytest.approx(4 / 7)
    assert got["bleu"] < 0.5 and got["cer"] > 0.3
    assert task.references[int(test["reference"][0])] == "z1 z2 z3 z4"  # not truncated to 3


def test_bleu_is_corpus_bleu4_without_smoothing_and_cer_by_hand(tmp_path):
    from rnnbench.taskkit import TextMetric

    task = _split_folder(tmp_path, "red cat\tchat rouge\n")
    bleu = task.metrics()["bleu"]
    assert isinstance(bleu, TextMetric)
    ids = task.index[1]
    hyp = torch.tensor([[ids["chat"], ids["rouge"], 3]])  # EOS = 3
    bleu.update(hyp, hyp, references=["chat rouge grand petit vert"])
    # 1-grams 2/2, 2-grams 1/1, no 3- or 4-gram: unsmoothed BLEU-4 is 0
    assert float(bleu.compute()) == 0.0
    bleu.reset()
    five = [ids[w] for w in "chat rouge grand petit vert".split()]
    bleu.update(torch.tensor([five + [3]]), hyp, references=["chat rouge grand petit bleu"])
    # p1..p4 = 4/5, 3/4, 2/3, 1/2, brevity 1: (0.8 · 0.75 · 0.667 · 0.5) ** 0.25
    assert float(bleu.compute()) == pytest.approx((0.8 * 0.75 * (2 / 3) * 0.5) ** 0.25, abs=1e-4)
    cer = task.metrics()["cer"]
    cer.update(torch.tensor([[ids["chat"], 3]]), hyp, references=["chas"])
    assert float(cer.compute()) == pytest.approx(1 / 4)  # one substitution in 4 characters


def test_batches_trim_sources_and_targets_to_their_longest(tsv):
    spec = get_registry().task("parallel-text")
    task = spec.factory(spec.options.resolve({"dataset": str(tsv)}, "task"), 8, 0)
    task.prepare()
    train = task.splits[0]
    short = [i for i, u in enumerate(train.tensors["target_lengths"].tolist()) if u == 2][:3]
    assert train.tensors["target"].shape[1] == 4 and short  # 1..3 words + EOS
    batch = train.__getitems__(short)  # one-word pairs: (3, 1) sources, (3, 2) targets
    assert batch["inputs"].shape == (3, 1) and batch["target"].shape == (3, 2)
    assert (batch["target"][:, 1] == 3).all()  # EOS kept


def test_a_warm_start_reads_the_prepared_cache_and_matches(tsv, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    folder = tmp_path / "hf" / "rnnbench" / "parallel-text"
    spec = get_registry().task("parallel-text")

    def make(**options):
        task = spec.factory(spec.options.resolve({"dataset": str(tsv), **options}, "task"), 8, 0)
        task.prepare()
        return task

    cold = make()
    assert len(list(folder.glob("*.pt"))) == 1
    monkeypatch.setattr(type(cold), "_read", lambda self: pytest.fail("read the files again"))
    warm = make(beam=3)  # beam does not shape the data: the same entry
    for a, b in zip(cold.splits, warm.splits, strict=True):
        assert all(torch.equal(a.tensors[k], b.tensors[k]) for k in a.tensors)
    assert (warm.vocab, warm.references) == (cold.vocab, cold.references)
    assert warm.baseline() == cold.baseline()
    monkeypatch.undo()
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    make(level="char")  # another option: another entry
    tsv.write_text(tsv.read_text() + "red\trouge\n")  # other contents: another entry
    make()
    make(cache="false")
    assert len(list(folder.glob("*.pt"))) == 3


def test_a_given_validation_file_costs_the_training_split_nothing(tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "train.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in pairs(50)))
    (folder / "dev.tsv").write_text("red cat\tchat rouge\n")
    spec = get_registry().task("parallel-text")
    task = spec.factory(spec.options.resolve({"dataset": str(folder)}, "task"), 8, 0)
    train, val, test = (len(s) for s in task._build())
    assert (train, val, test) == (45, 1, 5)  # only the missing test split is carved
