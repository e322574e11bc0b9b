"""A newcomer's matrix: data in the layouts users already have (issue 23).

Every layout is written here, in tmp_path. A row either prepares (most rows: the
task factory and prepare() directly, checked against what the files say) or fails
in one line that names the file, the line where there is one, and the option to
set, with exit code 2 and nothing written (results folder, prepared-data cache).
A few rows run the whole CLI (1 epoch, 2 batches).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import write

from rnnbench.contract.registry import get_registry

TC, LM = "text-classification", "language-modelling"
NEWS = ["World", "Sports", "Business", "Sci/Tech"]
ZH = ["体育", "财经", "房产", "教育"]  # class names of the CTC-P layout
HEADERLESS = "has no header row: column 0 is the text and column 1 the label"
TINY_RUN = [
    "--set",
    "model.hidden_size=8",
    "--set",
    "model.embedding_dim=8",
    "--set",
    "train.progress=false",
    "--set",
    "train.limit_train_batches=2",
    "--set",
    "train.limit_eval_batches=1",
    "--set",
    "train.batch_size=4",
    "--max-epochs",
    "1",
]


def english(i: int) -> str:
    return f"{['good', 'bad', 'fine', 'dull'][i % 4]} film number {i % 9} plot"


def chinese(i: int) -> str:
    return ["比赛今天开始了", "股市上涨明显", "房价继续下跌", "大学招生开始"][i % 4] + str(i % 7)


def lines(n: int, row: Callable[[int], str], start: int = 0) -> str:
    return "".join(row(i) + "\n" for i in range(start, start + n))


# --------------------------------------------------------------------- layouts
def ctcp(folder: Path, with_classes: bool) -> Path:
    """Chinese-Text-Classification-Pytorch: {train,dev,test}.txt, text<TAB>id, no header."""
    write(folder / "train.txt", lines(40, lambda i: f"{chinese(i)}\t{i % 4}"))
    write(folder / "dev.txt", lines(8, lambda i: f"{chinese(i)}\t{i % 4}", 40))
    write(folder / "test.txt", lines(8, lambda i: f"{chinese(i)}\t{i % 4}", 48))
    if with_classes:
        write(folder / "class.txt", "\n".join(ZH) + "\n")
    return folder


def headerless_tsv_strings(folder: Path) -> Path:
    write(folder / "train.tsv", lines(40, lambda i: f"{english(i)}\t{NEWS[i % 4]}"))
    write(folder / "test.tsv", lines(8, lambda i: f"{english(i)}\t{NEWS[i % 4]}", 40))
    return folder


def headerless_csv(folder: Path) -> Path:
    write(folder / "train.csv", lines(40, lambda i: f"{english(i)},{i % 2}"))
    return folder / "train.csv"


def label_first_tsv(folder: Path) -> Path:
    write(folder / "train.tsv", lines(40, lambda i: f"{i % 3}\t{english(i)}"))
    return folder / "train.tsv"


def csv_other_names(folder: Path) -> Path:
    write(
        folder / "reviews.csv",
        "Review_Text,Sentiment\n"
        + lines(40, lambda i: f'"{english(i)}, really",{["neg", "pos"][i % 2]}'),
    )
    return folder / "reviews.csv"


def jsonl(folder: Path) -> Path:
    write(
        folder / "train.jsonl",
        lines(40, lambda i: json.dumps({"id": i, "content": english(i), "category": NEWS[i % 4]})),
    )
    return folder / "train.jsonl"


def json_array(folder: Path) -> Path:
    records = [{"text": english(i), "labels": i % 2} for i in range(40)]
    return write(folder / "train.json", json.dumps(records, indent=1))


def parquet(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {"document": [english(i) for i in range(40)], "target": [i % 2 for i in range(40)]}
    ).to_parquet(folder / "train.parquet")
    return folder / "train.parquet"


def crlf_bom(folder: Path) -> Path:
    body = "sentence\tlabel\r\n" + "".join(f"{english(i)}\t{i % 2}\r\n" for i in range(40))
    write(folder / "train.tsv", "\ufeff".encode() + body.encode())
    return folder / "train.tsv"


def blank_lines(folder: Path) -> Path:
    write(folder / "train.csv", "text,label\n\n" + lines(40, lambda i: f"{english(i)},{i % 2}\n"))
    return folder / "train.csv"


def split_names(name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        write(folder / "train.csv", "text,label\n" + lines(40, lambda i: f"{english(i)},{i % 2}"))
        write(folder / f"{name}.csv", "text,label\n" + lines(6, lambda i: f"{english(i)},{i % 2}"))
        write(folder / "test.csv", "text,label\n" + lines(5, lambda i: f"{english(i)},{i % 2}"))
        return folder

    return make


def train_only(folder: Path) -> Path:
    write(folder / "train.tsv", "text\tlabel\n" + lines(50, lambda i: f"{english(i)}\t{i % 2}"))
    return folder


def plain_text(folder: Path) -> Path:
    return write(folder / "corpus.txt", lines(200, english))


def lm_tsv(folder: Path) -> Path:
    write(
        folder / "train.tsv", "sentence\tlabel\n" + lines(200, lambda i: f"{english(i)}\t{i % 2}")
    )
    return folder / "train.tsv"


def lm_headerless_tsv(folder: Path) -> Path:
    write(folder / "train.txt", lines(200, lambda i: f"{english(i)}\t{i % 2}"))
    return folder / "train.txt"


# ------------------------------------------------------------- bad layouts
def empty_label_after_blank(folder: Path) -> Path:
    text = (
        "sentence\tlabel\n"
        + lines(3, lambda i: f"{english(i)}\t1")
        + "\n\n"
        + f"{english(4)}\t\n"
        + lines(20, lambda i: f"{english(i)}\t0")
    )
    write(folder / "train.tsv", text)  # line 7: the empty label, after two blank lines
    return folder / "train.tsv"


def unseen_test_label(folder: Path) -> Path:
    write(folder / "train.csv", "text,label\n" + lines(20, lambda i: f"{english(i)},{i % 2}"))
    write(folder / "test.csv", "text,label\ngood one,0\nnew one,7\n")
    return folder


def ragged(folder: Path) -> Path:
    write(folder / "train.csv", "text,label\ngood film,1\nbad, dull film,0\n")
    return folder / "train.csv"


def header_only(folder: Path) -> Path:
    write(folder / "train.tsv", "sentence\tlabel\n")
    return folder


def three_headerless(folder: Path) -> Path:
    write(folder / "train.tsv", lines(20, lambda i: f"{i % 2}\t{english(i)}\t{english(i + 1)}"))
    return folder / "train.tsv"


def undecidable(folder: Path) -> Path:
    write(folder / "train.tsv", lines(3, lambda i: f"{english(i)}\t{english(i + 3)}"))
    return folder / "train.tsv"


def class_id_out_of_range(folder: Path) -> Path:
    ctcp(folder, with_classes=True)
    write(folder / "test.txt", f"{chinese(1)}\t1\n{chinese(2)}\t9\n")
    return folder


def no_train_file(folder: Path) -> Path:
    write(folder / "data.txt", "just some text\n")
    return folder


@dataclass
class Row:
    task: str
    layout: Callable[[Path], Path]
    check: Callable | None = None  # check(task, stderr) for rows that prepare
    error: str = ""  # for rows that fail: the message (with FILE standing for the path)
    options: tuple = ()


def labels_are(labels, level=None, sizes=None, note=None):
    def check(t, err):
        assert t.labels == labels
        assert t.artifacts()["label_map.json"] == {str(x): i for i, x in enumerate(labels)}
        if level:
            assert t.level == level
        if sizes:
            assert [len(t.splits[s]["target"]) for s in ("train", "validation", "test")] == sizes
        if note:
            assert note in err and len([x for x in err.splitlines() if "note:" in x]) == 1
        else:
            assert "note:" not in err

    return check


def ctcp_names(t, err):
    labels_are(ZH, level="char", sizes=[40, 8, 8], note=HEADERLESS)(t, err)
    assert t.describe()["classes"] == ", ".join(ZH)
    assert t.splits["train"]["target"][:4].tolist() == [0, 1, 2, 3]  # id i names line i+1
    assert t.o["text_column"] == "0" and t.o["label_column"] == "1"


def lm_reads_column(column, text_start):
    def check(t, err):
        assert t.o["text_column"] == column
        first = [t.vocab.itos[i] for i in t.ids["train"][:6].tolist()]
        assert first == text_start
        # 90/5/5 by default: test is its own contiguous text, not the validation text
        n = sum(t.ids[s].numel() for s in ("train", "validation", "test"))
        assert t.ids["test"].numel() > 0.04 * n and t.ids["validation"].numel() > 0.04 * n
        assert t.ids["test"].tolist() != t.ids["validation"].tolist()

    return check


ROWS = {
    "ctcp folder with class.txt": Row(TC, lambda p: ctcp(p, True), ctcp_names),
    "ctcp folder without class.txt": Row(
        TC, lambda p: ctcp(p, False), labels_are([0, 1, 2, 3], "char", [40, 8, 8], HEADERLESS)
    ),
    "header-less tsv, string labels": Row(
        TC, headerless_tsv_strings, labels_are(sorted(NEWS), "word", note=HEADERLESS)
    ),
    "header-less csv": Row(TC, headerless_csv, labels_are([0, 1], note="has no header row")),
    "header-less label<TAB>text": Row(
        TC,
        label_first_tsv,
        labels_are([0, 1, 2], note="column 1 is the text and column 0 the label"),
    ),
    "csv with other column names": Row(
        TC,
        csv_other_names,
        labels_are(["neg", "pos"], note="taking column 'Review_Text' as the text"),
    ),
    "json lines": Row(TC, jsonl, labels_are(sorted(NEWS))),
    "json array": Row(TC, json_array, labels_are([0, 1])),
    "parquet": Row(TC, parquet, labels_are([0, 1])),
    "crlf and bom": Row(TC, crlf_bom, labels_are([0, 1])),
    "blank lines": Row(TC, blank_lines, labels_are([0, 1])),
    "valid file": Row(TC, split_names("valid"), labels_are([0, 1], sizes=[40, 6, 5])),
    "dev file": Row(TC, split_names("dev"), labels_are([0, 1], sizes=[40, 6, 5])),
    "validation file": Row(TC, split_names("validation"), labels_are([0, 1], sizes=[40, 6, 5])),
    "train file only": Row(TC, train_only, labels_are([0, 1], sizes=[40, 5, 5])),
    "lm plain text": Row(
        LM,
        plain_text,
        lm_reads_column("auto", ["good", "film", "number", "0", "plot", "<eos>"]),
        options=("level=word",),
    ),
    "lm tsv": Row(
        LM,
        lm_tsv,
        lm_reads_column("sentence", ["good", "film", "number", "0", "plot", "<eos>"]),
        options=("level=word",),
    ),
    "lm header-less txt of text<TAB>label": Row(
        LM, lm_headerless_tsv, lm_reads_column("0", list("good f")), options=("level=char",)
    ),
    # the rest fail in one line
    "empty label after blank lines": Row(
        TC, empty_label_after_blank, error="FILE line 7: empty label"
    ),
    "unseen test label": Row(
        TC,
        unseen_test_label,
        error="FILE/test.csv line 3: label 7 never appears in the training "
        "data (set task.unseen_labels=unknown",
    ),
    "ragged csv": Row(TC, ragged, error="FILE line 3: expected 2 fields, saw 3"),
    "header only": Row(TC, header_only, error="FILE/train.tsv: no data rows (only a header line"),
    "three header-less columns": Row(
        TC,
        three_headerless,
        error="FILE: no header row and 3 column(s) (0, 1, 2): set "
        "task.text_column and task.label_column",
    ),
    "undecidable header": Row(
        TC,
        undecidable,
        error="FILE line 1: cannot tell whether the first "
        "row ('good film number 0 plot', 'dull film number 3 plot') is a "
        "header or data: set task.header=false if it is data",
    ),
    "class id without a name": Row(
        TC,
        class_id_out_of_range,
        error="FILE/test.txt line 2: label 9 is not a class id 0-3 "
        "or a name in FILE/class.txt (4 names)",
    ),
    "header of unknown names": Row(  # a header by the numeric column's vote
        TC,
        lambda p: write(
            p / "t.tsv", "Phrase\tScore\n" + lines(20, lambda i: f"{english(i)}\t{i % 2}")
        ),
        error="FILE: no text column found (looked for sentence, text, review, content, "
        "document, comment, tweet, body, utterance, sentence1, question, description; "
        "columns: Phrase, Score); set task.text_column",
    ),
    "missing file": Row(TC, lambda p: p / "nope.tsv", error="task.dataset: FILE does not exist"),
    "folder without a train file": Row(
        TC,
        no_train_file,
        error="task.dataset FILE: unknown folder layout; "
        "accepted: a folder with train.csv|tsv|jsonl",
    ),
    "lm table without a text column": Row(
        LM,
        lambda p: write(p / "t.csv", "id,score,other\n" + lines(50, lambda i: f"{i},1,x")),
        error="FILE: no text column found (looked for sentence, text,",
        options=("level=word",),
    ),
}


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "hf-datasets"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(folder))
    return folder


def prepared(task: str, dataset: Path, options=(), batch_size=4):
    spec = get_registry().task(task)
    values = {"dataset": str(dataset), **dict(o.split("=", 1) for o in options)}
    t = spec.factory(spec.options.resolve(values, "task"), batch_size=batch_size, seed=0)
    t.prepare()
    return t


def test_the_matrix_covers_the_issue():
    assert len([r for r in ROWS.values() if r.check]) >= 14
    assert {r.task for r in ROWS.values() if r.check} == {TC, LM}


@pytest.mark.parametrize("name", [n for n, r in ROWS.items() if r.check])
def test_layout_prepares(name, tmp_path, cache_dir, capsys):
    row = ROWS[name]
    dataset = row.layout(tmp_path / "data")
    t = prepared(row.task, dataset, row.options)
    row.check(t, capsys.readouterr().err)


@pytest.mark.parametrize("name", [n for n, r in ROWS.items() if r.error])
def test_layout_fails_in_one_line_and_writes_nothing(name, tmp_path, cache_dir, cli):
    row = ROWS[name]
    dataset = row.layout(tmp_path / "data")
    results = tmp_path / "results"
    model = "lstm" if row.task == LM else "rnn"
    code, _out, err = cli(
        "run",
        "--model",
        model,
        "--task",
        row.task,
        "--set",
        f"task.dataset={dataset}",
        *[x for o in row.options for x in ("--set", f"task.{o}")],
        *TINY_RUN,
        "--results-dir",
        str(results),
    )
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert row.error.replace("FILE", str(dataset)) in err
    assert not results.exists()
    assert not list(cache_dir.glob("rnnbench/*/*.pt"))


def run_json(cli, tmp_path, task, dataset, *options):
    results = tmp_path / "results"
    model = "lstm" if task == LM else "rnn"
    code, out, err = cli(
        "run",
        "--model",
        model,
        "--task",
        task,
        "--set",
        f"task.dataset={dataset}",
        *options,
        *TINY_RUN,
        "--results-dir",
        str(results),
        "--json",
    )
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1]), err, results


@pytest.mark.slow
def test_ctcp_folder_trains_and_reports_class_names(cli, tmp_path, cache_dir):
    result, err, results = run_json(cli, tmp_path, TC, ctcp(tmp_path / "thucnews", True))
    assert "has no header row: column 0 is the text and column 1 the label" in err
    assert 0 <= result["metrics"]["test_acc"] <= 1
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    run = client.get_run(result["mlflow_run_id"])
    assert run.data.params["data.classes"] == ", ".join(ZH)
    assert run.data.params["data.tokenizer"] == "char"
    local = client.download_artifacts(run.info.run_id, "label_map.json", str(tmp_path))
    assert json.loads(Path(local).read_text(encoding="utf-8")) == {n: i for i, n in enumerate(ZH)}


@pytest.mark.slow
def test_word_language_model_on_a_classification_tsv_trains(cli, tmp_path, cache_dir):
    result, _, _ = run_json(
        cli,
        tmp_path,
        LM,
        lm_tsv(tmp_path / "sst"),
        "--set",
        "task.level=word",
        "--set",
        "task.bptt=4",
    )
    assert result["metrics"]["test_loss"] > 0 and result["baseline"] > 0


def test_class_names_are_part_of_the_cache_key(tmp_path, cache_dir):
    folder = ctcp(tmp_path / "d", True)
    assert prepared(TC, folder).labels == ZH
    write(folder / "class.txt", "\n".join(reversed(ZH)) + "\n")
    assert prepared(TC, folder).labels == list(reversed(ZH))
    assert len(list(cache_dir.glob("rnnbench/text-classification/*.pt"))) == 2


def test_format_option_reads_a_txt_table_as_text(tmp_path, cache_dir):
    """task.format says it outright: the same text<TAB>label file as one plain text."""
    path = lm_headerless_tsv(tmp_path / "d")
    t = prepared(LM, path, ("level=char", "format=text"))
    assert "\t" in t.vocab.stoi


def test_explicit_header_and_columns_override_detection(tmp_path, cache_dir):
    path = write(tmp_path / "d" / "train.csv", lines(40, lambda i: f"{english(i)},{i % 2}"))
    t = prepared(TC, path, ("header=true", "text_column=good film number 0 plot", "label_column=0"))
    assert (
        len(t.splits["train"]["target"])
        + len(t.splits["validation"]["target"])
        + len(t.splits["test"]["target"])
        == 39
    )  # the first row became the header


def test_the_header_less_note_is_said_once_per_process(tmp_path, cache_dir, capsys):
    path = headerless_csv(tmp_path / "d")
    prepared(TC, path)
    prepared(TC, path)  # from the prepared-data cache, as every later trial of a sweep
    assert capsys.readouterr().err.count(HEADERLESS) == 1
