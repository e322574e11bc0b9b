"""The README's third-party seq2seq model: installs as a plugin, passes the seq2seq
contract checks and trains on a built-in seq2seq task."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from rnnbench.contract.registry import get_registry
from rnnbench.testing import check_model_spec

FIRST_LINE = "# my_package/my_seq2seq.py"


def readme_block() -> str:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    match = re.search(r"```python\n" + re.escape(FIRST_LINE) + r"\n(.*?)```", readme, re.S)
    assert match, f"README has no python block starting with {FIRST_LINE!r}"
    return f"{FIRST_LINE}\n{match.group(1)}"


def test_readme_seq2seq_plugin_uses_public_imports_only():
    tree = ast.parse(readme_block())
    modules = {n.module if isinstance(n, ast.ImportFrom) else a.name
               for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
               for a in getattr(n, "names", [])}
    assert {m for m in modules if m.startswith("rnnbench")} <= {"rnnbench", "rnnbench.nn"}


def test_readme_seq2seq_plugin_passes_the_contract_and_trains(fake_plugin, cli, tmp_path):
    module = fake_plugin(readme_block(), dist="my-seq2seq", entry_point="my_seq2seq")
    registry = get_registry(refresh=True)
    assert registry.problems == []
    check_model_spec(__import__(module).SPEC, {"hidden_size": 8})
    code, out, err = cli("run", "--model", "tiny-seq2seq", "--task", "addition",
                         "--set", "task.seq_len=2", "--set", "task.train_size=128",
                         "--set", "task.val_size=32", "--set", "task.test_size=32",
                         "--set", "task.beam=2", "--set", "model.hidden_size=16",
                         "--set", "train.progress=false", "--max-epochs", "1",
                         "--results-dir", str(tmp_path / "r"), "--json", "--no-track")
    assert code == 0, err
    metrics = json.loads(out.strip().splitlines()[-1])["metrics"]
    assert {"test_exact", "test_token_acc", "val_loss"} <= set(metrics)
