"""Shared fixtures: offline mode, in-process CLI, fake third-party plugins."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

# The suite's own caches, for the whole session (subprocesses inherit them): `datasets`
# (which reads these variables once, at import, hence before anything imports it), the
# prepared-data cache beside it (rnnbench.data.cache), the Hugging Face hub and
# matplotlib's font cache. Nothing lands in the user's ~/.cache or ~/.config.
if getattr(sys, "_rnnbench_conftest_loaded", False):  # e.g. `from tests.conftest import`
    raise RuntimeError(
        "tests/conftest.py imported twice (a second cache folder would leak): "
        "import its names with `from conftest import ...`"
    )
sys._rnnbench_conftest_loaded = True
if "datasets" in sys.modules:
    raise RuntimeError(
        "tests/conftest.py: `datasets` was imported before the suite could "
        "point HF_DATASETS_CACHE at its temporary folder"
    )
CACHE_ROOT = Path(tempfile.mkdtemp(prefix="rnnbench-test-caches-"))
os.environ["HF_HOME"] = str(CACHE_ROOT / "huggingface")
os.environ["HF_DATASETS_CACHE"] = str(CACHE_ROOT / "huggingface" / "datasets")
os.environ["XDG_CACHE_HOME"] = str(CACHE_ROOT / "xdg")
os.environ["MPLCONFIGDIR"] = str(CACHE_ROOT / "matplotlib")

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("RNNBENCH_LOAD_PLUGINS", None)
os.environ.pop("RNNBENCH_STRICT_PLUGINS", None)

ROOT = Path(__file__).resolve().parents[1]

# Tiny settings that make any run on a synthetic task finish in about a second.
TINY = [
    "--set",
    "task.train_size=256",
    "--set",
    "task.val_size=64",
    "--set",
    "task.test_size=64",
    "--set",
    "model.hidden_size=16",
    "--set",
    "model.embedding_dim=8",
    "--set",
    "train.progress=false",
    "--max-epochs",
    "2",
]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: runs for minutes (real servers, several workers)")
    config.addinivalue_line("markers", "postgres: needs the PostgreSQL server on 127.0.0.1")


def pytest_unconfigure(config):
    shutil.rmtree(CACHE_ROOT, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_registry():
    from rnnbench.contract.registry import reset_registry

    reset_registry()
    yield
    reset_registry()


@pytest.fixture
def cli(capsys):
    """Run `rnnbench ARGS` in-process; returns (exit code, stdout, stderr)."""
    from rnnbench.cli import main

    def run(*args: str):
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def fake_plugin(tmp_path, monkeypatch):
    """Install a fake third-party distribution with one `rnnbench` entry point.

    fake_plugin(code, name=..., version=...) writes a module with `code`, a
    dist-info folder naming it under the `rnnbench` group, and puts both on sys.path,
    exactly as `pip install` of a plugin package would.
    """
    counter = iter(range(1000))

    def install(
        code: str,
        dist: str = "fake-rnnbench-plugin",
        version: str = "1.2.3",
        entry_point: str = "fake",
    ) -> str:
        n = next(counter)
        module = f"fake_rnnbench_plugin_{os.getpid()}_{n}"
        site = tmp_path / f"site{n}"
        site.mkdir()
        (site / f"{module}.py").write_text(textwrap.dedent(code))
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[rnnbench]\n{entry_point} = {module}\n")
        monkeypatch.syspath_prepend(str(site))
        importlib.invalidate_caches()
        return module

    yield install
    for name in [m for m in sys.modules if m.startswith("fake_rnnbench_plugin_")]:
        del sys.modules[name]


def shared_data(relative: str) -> Path:
    """A path under ../shared/data (or $RNNBENCH_DATA). Missing data fails the test when
    CI asks for it (RNNBENCH_REQUIRE_DATA=1 or CI=true), and skips it otherwise."""
    root = Path(os.environ.get("RNNBENCH_DATA", ROOT.parent / "shared" / "data"))
    path = root / relative
    if not path.exists():
        required = (
            os.environ.get("RNNBENCH_REQUIRE_DATA") == "1"
            or os.environ.get("CI", "").lower() == "true"
        )
        message = f"shared data missing: {path} (set RNNBENCH_DATA to its folder)"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    return path


def write(path: Path, text: str | bytes) -> Path:
    """Write a test data file (UTF-8 text or raw bytes), creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


SERVICE_MARKS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}


def backends(*names: str) -> list:
    """Storage backends as pytest parameters; those that need a database server carry
    its marker (`-m "not postgres and not mysql"` runs without the services)."""
    return [
        pytest.param(name, marks=getattr(pytest.mark, SERVICE_MARKS[name]))
        if name in SERVICE_MARKS
        else name
        for name in names
    ]
