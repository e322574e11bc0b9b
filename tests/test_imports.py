"""Every module imports on its own in a fresh interpreter: an import cycle (A imports B,
which needs A's names before A has defined them) fails here for whichever module the
cycle is entered from, even when the usual import order hides it."""

import importlib
import pkgutil
import subprocess
import sys

import pytest

PACKAGES = ("rnnbench", "rnnbench_models", "rnnbench_tasks")  # core, built-in models, tasks


def modules() -> list[str]:
    """Every package and module under PACKAGES, found by walking them (not listed by hand).
    `__main__` modules run the CLI when imported; `python -m` checks them instead."""
    found = []
    for top in PACKAGES:
        found.append(top)
        found += [
            m.name
            for m in pkgutil.walk_packages(importlib.import_module(top).__path__, prefix=f"{top}.")
        ]
    return sorted(name for name in found if not name.endswith(".__main__"))


def test_the_walk_finds_every_layer():
    found = set(modules())
    assert {
        "rnnbench.contract.specs",
        "rnnbench.training.runner",
        "rnnbench.cli",
        "rnnbench.cli.run_cmd",
        "rnnbench_models.lstm",
        "rnnbench_tasks.synthetic",
    } <= found
    assert len(found) > 30


@pytest.mark.slow  # one interpreter per module
@pytest.mark.parametrize("module", modules())
def test_module_imports_alone(module, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"import {module}:\n{done.stderr[-3000:]}"


def test_python_dash_m_rnnbench_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "rnnbench", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.startswith("rnnbench "), done.stderr
