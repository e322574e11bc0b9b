"""The README's third-party seq2seq model: installs as a plugin, passes the seq2seq
contract checks and trains on a built-in seq2seq task."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from rnnbench.contract.registry import get_registry
from rnnbench.testing import check_model_spec

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

FIRST_LINE = "# my_package/my_seq2seq.py"


def readme_block() -> str:
    readme = (Path(__file__).resolve().parents[1] / "docs/plugins/seq2seq.md").read_text()
    match = re.search(r"```python\n" + re.escape(FIRST_LINE) + r"\n(.*?)```", readme, re.S)
    assert match, f"docs/plugins/seq2seq.md has no python block starting with {FIRST_LINE!r}"
    return f"{FIRST_LINE}\n{match.group(1)}"


def test_readme_seq2seq_plugin_uses_public_imports_only():
    tree = ast.parse(readme_block())
    modules = {
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in getattr(n, "names", [])
    }
    assert {m for m in modules if m.startswith("rnnbench")} <= {"rnnbench", "rnnbench.nn"}


def test_readme_seq2seq_plugin_passes_the_contract_and_trains(fake_plugin, cli, tmp_path):
    module = fake_plugin(readme_block(), dist="my-seq2seq", entry_point="my_seq2seq")
    registry = get_registry(refresh=True)
    assert registry.problems == []
    check_model_spec(__import__(module).SPEC, {"hidden_size": 8})
    code, out, err = cli(
        "run",
        "--model",
        "tiny-seq2seq",
        "--task",
        "addition",
        "--set",
        "task.seq_len=2",
        "--set",
        "task.train_size=128",
        "--set",
        "task.val_size=32",
        "--set",
        "task.test_size=32",
        "--set",
        "task.beam=2",
        "--set",
        "model.hidden_size=16",
        "--set",
        "train.progress=false",
        "--max-epochs",
        "1",
        "--results-dir",
        str(tmp_path / "r"),
        "--json",
        "--no-track",
    )
    assert code == 0, err
    metrics = json.loads(out.strip().splitlines()[-1])["metrics"]
    assert {"test_exact", "test_token_acc", "val_loss"} <= set(metrics)


TASK_FIRST_LINE = "# my_package/my_seq2seq_task.py"


def readme_task_block() -> str:
    readme = (Path(__file__).resolve().parents[1] / "docs/plugins/seq2seq.md").read_text()
    match = re.search(r"```python\n" + re.escape(TASK_FIRST_LINE) + r"\n(.*?)```", readme, re.S)
    assert match, f"docs/plugins/seq2seq.md has no python block starting with {TASK_FIRST_LINE!r}"
    return f"{TASK_FIRST_LINE}\n{match.group(1)}"


def test_readme_seq2seq_task_passes_the_contract_and_trains(fake_plugin, cli, tmp_path):
    from rnnbench.testing import check_task_spec

    tree = ast.parse(readme_task_block())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert modules <= {"rnnbench", "rnnbench.taskkit"}

    module = fake_plugin(readme_task_block(), dist="my-seq2seq-task", entry_point="my_seq2seq_task")
    registry = get_registry(refresh=True)
    assert registry.problems == []
    spec = __import__(module).SPEC
    check_task_spec(
        spec,
        {"seq_len": 3, "train_size": 16, "val_size": 8, "test_size": 8},
        bad_options=[{"beam": 0}, {"seq_len": 0}],
    )
    task = spec.factory(spec.options.resolve({"seq_len": 3}, "task"), 8, 0)
    task.prepare()
    test = task.splits[2].tensors
    row, n = test["inputs"][0].tolist(), int(test["lengths"][0])
    assert test["target"][0, : 2 * n].tolist() == [s for s in row[:n] for _ in (0, 1)]
    assert task.baseline() == 0.0  # a copy is half as long as the answer
    code, out, err = cli(
        "run",
        "--model",
        "seq2seq",
        "--task",
        "stutter",
        "--set",
        "task.seq_len=3",
        "--set",
        "task.train_size=64",
        "--set",
        "task.val_size=16",
        "--set",
        "task.test_size=16",
        "--set",
        "model.hidden_size=8",
        "--set",
        "model.embedding_dim=4",
        "--set",
        "train.progress=false",
        "--max-epochs",
        "1",
        "--results-dir",
        str(tmp_path / "r"),
        "--json",
        "--no-track",
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert {"test_exact", "test_token_acc"} <= set(result["metrics"])
    assert result["baseline"] == 0.0
