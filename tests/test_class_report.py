"""The per-class report and confusion matrix of classification runs."""

import json

import pytest
import torch
from conftest import TINY

from rnnbench.training.class_report import ClassReport, format_report, per_class


def one_hot(ids, classes):
    return torch.nn.functional.one_hot(torch.tensor(ids), classes).float() * 5.0  # (B, C)


def test_report_matches_a_hand_computed_confusion_matrix():
    report = ClassReport(["neg", "pos", "mixed"])
    target = torch.tensor([0, 0, 0, 1, 1, 2])
    predicted = [0, 1, 0, 1, 1, 0]
    report.update(one_hot(predicted[:4], 3), target[:4])  # two batches accumulate
    report.update(one_hot(predicted[4:], 3), target[4:])
    r = report.report()
    # rows true, columns predicted
    assert r["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert r["support"] == [3, 2, 1]
    assert r["precision"] == pytest.approx([2 / 3, 2 / 3, 0.0])
    assert r["recall"] == pytest.approx([2 / 3, 1.0, 0.0])
    assert r["f1"] == pytest.approx([2 / 3, 0.8, 0.0])
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 3)
    text = format_report(r)
    assert "mixed" in text and "0.8000" in text and "macro-F1 0.4889" in text
    report.reset()
    assert report.report() is None


def test_a_class_never_predicted_nor_present_scores_zero_not_nan():
    r = per_class(torch.tensor([[3, 0], [0, 0]]), ["a", "b"])
    assert r["precision"] == [1.0, 0.0] and r["recall"] == [1.0, 0.0] and r["f1"] == [1.0, 0.0]


def test_only_classification_tasks_report():
    from rnnbench.contract.registry import get_registry

    registry = get_registry()
    tiny = {"train_size": "8", "val_size": "8", "test_size": "8"}
    names = {}
    for task in ("listops", "adding", "copy"):
        spec = registry.task(task)
        names[task] = spec.factory(spec.options.resolve(tiny, "task"), 4, 0).class_names()
    assert names == {"listops": [str(i) for i in range(10)], "adding": None, "copy": None}


def test_run_prints_and_logs_the_report_with_label_names(cli, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    rows = "".join(
        f"{'good fine' if i % 3 else 'bad awful'} film\t{'pos' if i % 3 else 'neg'}\n"
        for i in range(40)
    )
    for split in ("train", "dev", "test"):
        (folder / f"{split}.tsv").write_text("sentence\tlabel\n" + rows)
    results = tmp_path / "results"
    code, out, err = cli(
        "run",
        "--model",
        "textrnn",
        "--task",
        "text-classification",
        "--set",
        f"task.dataset={folder}",
        "--set",
        "model.hidden_size=8",
        "--set",
        "model.embedding_dim=8",
        "--set",
        "train.progress=false",
        "--max-epochs",
        "1",
        "--results-dir",
        str(results),
    )
    assert code == 0, err
    report = out.split("per-class report (test):")[1]
    assert "neg" in report and "pos" in report and "support" in report
    assert "40 test examples" in report
    run_dir = next((results / "runs").iterdir())
    png = run_dir / "confusion_matrix.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    artifacts = {p.name: p for p in (results / "mlartifacts").rglob("*") if p.is_file()}
    assert {"class_report.json", "confusion_matrix.json", "confusion_matrix.png"} <= set(artifacts)
    table = json.loads(artifacts["class_report.json"].read_text())
    assert table["columns"] == ["class", "precision", "recall", "f1", "support"]
    assert [row[0] for row in table["data"]] == ["neg", "pos"]
    assert sum(row[4] for row in table["data"]) == 40
    confusion = json.loads(artifacts["confusion_matrix.json"].read_text())
    assert sum(map(sum, confusion["confusion"])) == 40


def test_regression_run_has_no_report(cli, tmp_path):
    code, out, err = cli(
        "run",
        "--model",
        "gru",
        "--task",
        "adding",
        *TINY,
        "--no-track",
        "--results-dir",
        str(tmp_path / "r"),
    )
    assert code == 0, err
    assert "per-class report" not in out
    assert not list((tmp_path / "r").rglob("confusion_matrix.png"))
