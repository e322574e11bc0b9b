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


# Runs in a fresh interpreter: imports the third-party libraries once (they cannot hide an
# rnnbench import cycle), then forks one child per module, which imports that module alone
# and exits 0, or 1 after printing the traceback. Prints "MODULE<TAB>CODE<TAB>ERROR" lines.
FORK_EACH = """
import json, os, sys, traceback
import torch, lightning, mlflow, optuna, datasets, torchmetrics  # noqa: F401
failed = {}
for module in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            __import__(module)
            code, text = 0, ""
        except BaseException:
            code, text = 1, traceback.format_exc()[-3000:]
        os.write(write, text.encode())
        os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    failed[module] = [os.waitstatus_to_exitcode(status), b"".join(chunks).decode()]
print(json.dumps(failed))
"""


@pytest.fixture(scope="module")
def imported_alone(tmp_path_factory) -> dict:
    """module -> [exit code, traceback] of importing it alone (one fork per module)."""
    import json

    done = subprocess.run(
        [sys.executable, "-c", FORK_EACH, json.dumps(modules())],
        cwd=tmp_path_factory.mktemp("imports"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("module", modules())
def test_module_imports_alone(module, imported_alone):
    code, error = imported_alone[module]
    assert code == 0, f"import {module}:\n{error}"


def test_python_dash_m_rnnbench_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "rnnbench", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.startswith("rnnbench "), done.stderr
