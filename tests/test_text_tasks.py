"""Text classification and language modelling on small local files."""

import json
import math

import pytest
import torch
from conftest import write

from rnnbench.contract.errors import ConfigError, DataError
from rnnbench.contract.registry import get_registry


def make(task, batch_size=4, **options):
    spec = get_registry().task(task)
    t = spec.factory(
        spec.options.resolve({k: str(v) for k, v in options.items()}, "task"),
        batch_size=batch_size,
        seed=0,
    )
    t.prepare()
    return t


@pytest.fixture
def tsv_folder(tmp_path):
    folder = tmp_path / "sst"
    write(
        folder / "train.tsv",
        "sentence\tlabel\n"
        + "".join(
            f"{'good fine' if i % 3 else 'bad awful plain'} movie {i % 5}\t{int(i % 3 > 0)}\n"
            for i in range(60)
        ),
    )
    write(folder / "dev.tsv", 'sentence\tlabel\ngood movie\t1\nbad "quoted" movie\t0\n')
    write(folder / "test.tsv", "sentence\tlabel\nfine movie\t1\nawful unseenword\t0\nplain\t0\n")
    return folder


def test_folder_with_train_dev_test(tsv_folder):
    t = make("text-classification", dataset=tsv_folder)
    assert [len(t.splits[s]["target"]) for s in ("train", "validation", "test")] == [60, 2, 3]
    assert t.labels == [0, 1]
    # vocabulary from train only: "unseenword" is unknown; "quoted" with its quotes too
    ids = t.splits["test"]["inputs"][1]
    assert ids[1] == t.vocab.unk_id
    assert '"quoted"' not in t.vocab.stoi
    assert t.splits["validation"]["lengths"].tolist() == [2, 3]
    assert t.baseline() == pytest.approx(1 / 3)  # train majority is 1; test labels 1, 0, 0
    assert t.artifacts()["label_map.json"] == {"0": 0, "1": 1}


def test_max_length_truncates_and_bucketing_trims_batches(tsv_folder):
    t = make("text-classification", dataset=tsv_folder, max_length=2)
    assert int(t.splits["train"]["lengths"].max()) == 2
    loader = t.datamodule.train_dataloader()
    for batch in loader:
        assert batch["inputs"].shape[1] == int(batch["lengths"].max())


def test_without_bucketing_batches_are_padded_to_max_length(tsv_folder):
    t = make("text-classification", dataset=tsv_folder, bucket="false", max_length=7)
    batch = next(iter(t.datamodule.train_dataloader()))
    assert batch["inputs"].shape[1] == 7


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_single_file_formats_with_string_labels_and_carved_splits(tmp_path, fmt):
    import pandas as pd

    rows = [
        {"text": f"word{i % 7} other{i % 3}", "label": ["neg", "pos", "mid"][i % 3]}
        for i in range(90)
    ]
    path = tmp_path / f"data.{fmt}"
    frame = pd.DataFrame(rows)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in rows))
    else:
        frame.to_parquet(path)
    t = make("text-classification", dataset=path, valid_fraction=0.2)
    assert t.labels == ["mid", "neg", "pos"]  # stable, sorted label map
    sizes = {s: len(t.splits[s]["target"]) for s in ("train", "validation", "test")}
    assert sizes == {"train": 57, "validation": 15, "test": 18}  # datasets rounds test up
    again = make("text-classification", dataset=path, valid_fraction=0.2)
    assert torch.equal(again.splits["validation"]["inputs"], t.splits["validation"]["inputs"])


def test_explicit_files_without_header(tmp_path):
    train = write(tmp_path / "a.csv", "great,1\nterrible,0\nfine,1\n")
    test = write(tmp_path / "b.csv", "great,1\nterrible,0\n")
    t = make(
        "text-classification",
        train_file=train,
        validation_file=test,
        test_file=test,
        header="false",
        text_column="0",
        label_column="1",
    )
    assert len(t.splits["train"]["target"]) == 3


def test_chinese_text_is_tokenised_by_character(tmp_path):
    folder = tmp_path / "zh"
    write(folder / "train.csv", "text,label\n这部电影很好,1\n这部电影很差,0\n很好看,1\n")
    write(folder / "test.csv", "text,label\n电影好,1\n")
    t = make("text-classification", dataset=folder, valid_fraction=0.34)
    assert t.level == "char"
    assert "电" in t.vocab.stoi and "这部电影很好" not in t.vocab.stoi


def test_unseen_label_can_map_to_unknown(tmp_path):
    folder = tmp_path / "d"
    write(folder / "train.csv", "text,label\na,x\nb,y\n")
    write(folder / "test.csv", "text,label\nc,z\n")
    t = make("text-classification", dataset=folder, unseen_labels="unknown", valid_fraction=0.5)
    assert t.labels[-1] == "<unknown>"
    assert t.splits["test"]["target"].tolist() == [2]


# ------------------------------------------------------------ bad input, one line each
BAD = {
    "missing folder": (lambda p: p / "nope", "does not exist"),
    "empty file": (lambda p: write(p / "e.csv", ""), "file is empty"),
    "missing text column": (
        lambda p: write(p / "t.csv", "words,notes,label\na,b,1\n"),
        "no text column found",
    ),
    "missing label column": (
        lambda p: write(p / "t.csv", "text,notes,score\na,b,1\n"),
        "no label column found (looked for label, labels, sentiment",
    ),
    "ragged csv": (
        lambda p: write(p / "train.csv", "text,label\na,1\nb,c,d,0\n"),
        "train.csv line 3: expected 2 fields, saw 4",
    ),
    "header only": (
        lambda p: write(p / "h.csv", "text,label\n"),
        "h.csv: no data rows (only a header line",
    ),
    "too few rows to carve": (
        lambda p: write(p / "one.tsv", "text\tlabel\ngood\t1\n"),
        "one.tsv: 1 row(s), too few to carve a test split",
    ),
    "undecidable header": (
        lambda p: write(p / "u.tsv", "good film\tyes\nbad film\tno\n"),
        "u.tsv line 1: cannot tell whether the first row ('good film', "
        "'yes') is a header or data: set task.header=false",
    ),
    "empty label": (
        lambda p: write(p / "t.csv", "text,label\na,1\nb,\nc,0\n"),
        "t.csv line 3: empty label",
    ),
    "bad utf-8": (
        lambda p: write(p / "t.csv", b"text,label\na,1\n\xff\xfe,0\n"),
        "not valid UTF-8 at byte 15 (line 3)",
    ),
    "unknown extension": (lambda p: write(p / "t.xlsx", "x"), "unknown file type '.xlsx'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_are_one_line_errors_and_write_nothing(cli, tmp_path, case):
    make_path, message = BAD[case]
    path = make_path(tmp_path)
    results = tmp_path / "results"
    code, _out, err = cli(
        "run",
        "--model",
        "textrnn",
        "--task",
        "text-classification",
        "--set",
        f"task.dataset={path}",
        "--results-dir",
        str(results),
    )
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1
    assert str(path.name) in err or case == "missing folder"
    assert not results.exists()


def test_unseen_label_error_names_file_and_line(cli, tmp_path):
    folder = tmp_path / "d"
    write(folder / "train.csv", "text,label\na,x\nb,y\n")
    write(folder / "dev.csv", "text,label\nc,x\nd,z\n")
    write(folder / "test.csv", "text,label\nc,x\n")
    code, _, err = cli(
        "run",
        "--model",
        "rcnn",
        "--task",
        "text-classification",
        "--set",
        f"task.dataset={folder}",
        "--results-dir",
        str(tmp_path / "r"),
    )
    assert code == 2
    assert "dev.csv line 3: label 'z' never appears in the training data" in err


def test_hub_id_while_offline_explains_what_to_do(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = cli(
        "run",
        "--model",
        "textrnn",
        "--task",
        "text-classification",
        "--set",
        "task.dataset=glue",
        "--set",
        "task.config=sst2",
        "--results-dir",
        str(tmp_path / "r"),
    )
    assert code == 2
    assert "'glue'" in err and "offline" in err and "local files" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("task", "option"),
    [
        ("text-classification", "task.vocab_size=0"),
        ("text-classification", "task.max_length=-1"),
        ("language-modelling", "task.vocab_size=-3"),
        ("language-modelling", "task.bptt=0"),
        ("copy", "task.seq_len=0"),
        ("listops", "task.seq_len=-2"),
    ],
)
def test_non_positive_sizes_are_rejected(cli, tmp_path, task, option):
    model = "lstm" if task != "text-classification" else "textrnn"
    code, _, err = cli(
        "run",
        "--model",
        model,
        "--task",
        task,
        "--set",
        option,
        "--set",
        "task.dataset=x.txt",
        "--results-dir",
        str(tmp_path / "r"),
    )
    assert code == 2 and "must be >=" in err and option.split("=")[0] in err


def test_dataset_is_required():
    spec = get_registry().task("text-classification")
    with pytest.raises(ConfigError, match="task.dataset: required"):
        spec.factory(spec.options.defaults(), batch_size=2, seed=0)


# ------------------------------------------------------------------ language modelling
def test_language_model_windows_are_contiguous_streams(tmp_path):
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    path = write(tmp_path / "input.txt", text)
    t = make("language-modelling", dataset=path, batch_size=4, bptt=7)
    train = t.datamodule.train_dataloader()
    windows = list(train)
    assert all(w["inputs"].shape[0] == 4 for w in windows)
    per_stream = 900 // 4  # the 90% training text cut into 4 contiguous streams
    for k, (a, b) in enumerate(zip(windows, windows[1:], strict=False)):
        decoded = ["".join(t.vocab.itos[i] for i in row) for row in a["inputs"].tolist()]
        assert decoded == [text[r * per_stream + 7 * k :][:7] for r in range(4)]  # window k
        assert torch.equal(b["inputs"][:, 0], a["target"][:, -1])  # the stream continues
        assert torch.equal(a["inputs"][:, 1:], a["target"][:, :-1])  # targets shift by one
    # contiguous 90/5/5: train, then test, then validation
    assert [t.ids[s].numel() for s in ("train", "test", "validation")] == [900, 50, 50]
    assert t.ids["test"].tolist() != t.ids["validation"].tolist()  # a held-out test part
    assert torch.equal(
        torch.cat([t.ids[s] for s in ("train", "test", "validation")]),
        torch.tensor([t.vocab.stoi[c] for c in text]),
    )


def test_language_model_baseline_is_the_unigram_cross_entropy(tmp_path):
    path = write(tmp_path / "input.txt", "aab" * 30 + "ab" * 10)
    t = make(
        "language-modelling",
        dataset=path,
        batch_size=2,
        bptt=4,
        valid_fraction=0.2,
        eval_batch_size=2,
    )
    train = t.ids["train"].tolist()
    test = t.ids["test"].tolist()
    V = len(t.vocab)
    p = {tok: (train.count(tok) + 1) / (len(train) + V) for tok in set(train) | set(test)}
    want = -sum(math.log(p[tok]) for tok in test) / len(test)
    assert t.baseline() == pytest.approx(want)
    got = t.derived_metrics({"val_loss": math.log(2)}, "val")
    assert got["val_ppl"] == pytest.approx(2.0) and got["val_bpc"] == pytest.approx(1.0)


def test_word_level_appends_eos_per_line(tmp_path):
    path = write(tmp_path / "w.txt", "the cat sat\n\nthe dog\n" * 20)
    t = make(
        "language-modelling", dataset=path, level="word", batch_size=2, bptt=3, eval_batch_size=2
    )
    assert "<eos>" in t.vocab.stoi and "cat" in t.vocab.stoi


def test_language_model_too_short_text_is_an_error(tmp_path):
    path = write(tmp_path / "s.txt", "abcdefghij")
    with pytest.raises(DataError, match="too few for 64 streams"):
        make("language-modelling", dataset=path, batch_size=64)


def test_max_length_has_a_stated_limit_and_writes_nothing(cli, tmp_path):
    results = tmp_path / "r"
    code, _, err = cli(
        "run",
        "--model",
        "textrnn",
        "--task",
        "text-classification",
        "--set",
        "task.dataset=x.tsv",
        "--set",
        "task.max_length=1000000000000",
        "--results-dir",
        str(results),
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "task.max_length: must be <= 100000, got 1000000000000" in err
    assert not results.exists()


def test_hub_class_label_names_become_the_label_map(monkeypatch):
    import datasets

    import rnnbench.data.files

    features = datasets.Features(
        {
            "sentence": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["negative", "positive"]),
        }
    )
    rows = {
        "sentence": [f"{'good' if i % 2 else 'bad'} film {i}" for i in range(20)],
        "label": [i % 2 for i in range(20)],
    }
    hub = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(rows, features=features),
            "test": datasets.Dataset.from_dict(rows, features=features),
        }
    )
    monkeypatch.setattr(rnnbench.data.files, "load_hub", lambda name, config, option: hub)
    t = make("text-classification", dataset="someone/films", cache="false")
    assert t.labels == ["negative", "positive"]
    assert t.artifacts()["label_map.json"] == {"negative": 0, "positive": 1}
    assert t.splits["test"]["target"].tolist() == rows["label"]
