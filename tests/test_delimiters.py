"""task.delimiter: ',' by default, ';' and '|' detected when they alone split every line
evenly, any of the choices forced by the option."""

from __future__ import annotations

import pytest
from conftest import write

from rnnbench.data.tabular import detect_delimiter, read_tables


def rows(sep: str, n: int = 20) -> str:
    return (
        "\n".join([f"text{sep}label"] + [f"a film, number {i}{sep}{i % 2}" for i in range(n)])
        + "\n"
    )


def test_semicolon_and_pipe_are_detected_when_unambiguous(tmp_path):
    for sep in (";", "|"):
        path = write(tmp_path / f"t{ord(sep)}.csv", rows(sep).replace(", number", " number"))
        assert detect_delimiter(path) == sep
        table = read_tables({"train": path})["train"]
        assert table.columns == ["text", "label"]
        assert table.data["label"][:3] == [0, 1, 0]


def test_comma_stays_the_default_when_several_split_evenly(tmp_path):
    path = write(tmp_path / "t.csv", "a;b,c;d\n1;2,3;4\n5;6,7;8\n")
    assert detect_delimiter(path) == ","


def test_the_option_forces_the_delimiter(tmp_path):
    path = write(tmp_path / "t.csv", rows(";"))  # the text holds commas: ',' is uneven
    table = read_tables({"train": path}, delimiter=";")["train"]
    assert table.columns == ["text", "label"]
    assert table.data["text"][0] == "a film, number 0"


@pytest.mark.slow
def test_a_semicolon_csv_trains_text_classification(cli, tmp_path):
    path = write(tmp_path / "reviews.csv", rows(";", 64))
    code, out, err = cli(
        "run",
        "--model",
        "lstm",
        "--task",
        "text-classification",
        "--set",
        f"task.dataset={path}",
        "--set",
        "model.hidden_size=8",
        "--set",
        "train.progress=false",
        "--max-epochs",
        "1",
        "--json",
        "--results-dir",
        str(tmp_path / "results"),
    )
    assert code == 0, err
    assert "test_acc" in out
