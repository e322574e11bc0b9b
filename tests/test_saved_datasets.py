"""`datasets` save_to_disk folders (DatasetDict and Dataset) as task.dataset, for the
text tasks that read datasets: text classification and language modelling."""

from __future__ import annotations

import pytest

TINY = [
    "--set",
    "model.hidden_size=8",
    "--set",
    "model.embedding_dim=8",
    "--set",
    "train.progress=false",
    "--max-epochs",
    "1",
    "--json",
]


def texts(n: int, offset: int = 0) -> list[str]:
    words = ["good", "bad", "fine", "awful", "great", "poor", "nice", "dull"]
    return [f"{words[(i + offset) % 8]} {words[(3 * i) % 8]} film number {i}" for i in range(n)]


def saved_dict(folder):
    import datasets

    datasets.disable_progress_bars()  # the test's own saving stays off stderr
    splits = {
        name: datasets.Dataset.from_dict({"text": texts(n, k), "label": [i % 2 for i in range(n)]})
        for k, (name, n) in enumerate((("train", 64), ("validation", 16), ("test", 16)))
    }
    datasets.DatasetDict(splits).save_to_disk(str(folder))
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["DatasetDict", "Dataset"])
def test_text_classification_reads_a_save_to_disk_folder(cli, tmp_path, kind):
    import datasets

    folder = tmp_path / "saved"
    if kind == "DatasetDict":
        saved_dict(folder)
    else:
        datasets.Dataset.from_dict(
            {"text": texts(80), "label": [i % 2 for i in range(80)]}
        ).save_to_disk(str(folder))
    code, out, err = cli(
        "run",
        "--model",
        "lstm",
        "--task",
        "text-classification",
        "--set",
        f"task.dataset={folder}",
        *TINY,
        "--results-dir",
        str(tmp_path / "results"),
    )
    assert code == 0, err
    assert "test_acc" in out


@pytest.mark.slow
def test_language_modelling_reads_a_save_to_disk_folder(cli, tmp_path):
    folder = saved_dict(tmp_path / "saved")
    code, out, err = cli(
        "run",
        "--model",
        "lstm",
        "--task",
        "language-modelling",
        "--set",
        f"task.dataset={folder}",
        "--set",
        "task.level=word",
        "--set",
        "task.bptt=4",
        "--set",
        "train.batch_size=2",
        *TINY,
        "--results-dir",
        str(tmp_path / "results"),
    )
    assert code == 0, err
    assert "test_ppl" in out or "test_loss" in out


def test_a_damaged_save_to_disk_folder_is_one_line(cli, tmp_path):
    folder = saved_dict(tmp_path / "saved")
    for arrow in folder.rglob("*.arrow"):
        arrow.write_bytes(b"not arrow")
    code, _, err = cli(
        "run",
        "--model",
        "lstm",
        "--task",
        "text-classification",
        "--set",
        f"task.dataset={folder}",
        *TINY,
        "--results-dir",
        str(tmp_path / "r"),
    )
    assert code == 2 and err.strip().count("\n") == 0, err
    assert "not a readable `datasets` save_to_disk folder" in err
    assert not (tmp_path / "r").exists()
