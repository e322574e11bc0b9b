"""`rnnbench list`, `describe` and `--help` read the plugins' specs without loading torch,
Lightning, MLflow or Optuna (what start-up costs is measured in benchmarks/startup.py; this
holds which modules it loads). Each command runs in a fresh interpreter."""

import json
import subprocess
import sys

import pytest

HEAVY = (
    "torch",
    "lightning",
    "pytorch_lightning",
    "torchmetrics",
    "mlflow",
    "optuna",
    "datasets",
    "numpy",
    "pandas",
    "matplotlib",
    "scipy",
    "sqlalchemy",
)

PROBE = """
import contextlib, io, json, sys
from rnnbench.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY_NAMES))
print(json.dumps({"code": code, "heavy": heavy, "out": out.getvalue()}))
""".replace("HEAVY_NAMES", repr(HEAVY))


def loaded(*argv: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [
        ("list",),
        ("list", "--json"),
        ("--help",),
        ("run", "--help"),
        ("sweep", "--help"),
        ("describe", "lstm"),
        ("describe", "train"),
        ("describe", "sst"),
    ],
)
def test_listing_and_help_load_no_heavy_library(argv):
    result = loaded(*argv)
    assert result["code"] in (0, None)
    assert result["heavy"] == [], f"rnnbench {' '.join(argv)} loaded {result['heavy']}"


def test_list_still_names_every_builtin_model_and_task():
    result = loaded("list", "--json")
    listing = json.loads(result["out"].splitlines()[-1])
    models = {m["name"] for m in listing["models"]}
    tasks = {t["name"] for t in listing["tasks"]}
    assert {
        "lstm",
        "gru",
        "rnn",
        "ln-lstm",
        "bn-lstm",
        "memnet",
        "rcnn",
        "textrnn",
        "seq2seq",
        "treelstm",
        "recnn",
    } <= models
    assert {"adding", "sst"} <= tasks
    assert listing["problems"] == []


@pytest.mark.slow
def test_a_spec_module_loads_its_model_module_only_when_asked():
    probe = (
        "import sys, rnnbench_models.lstm as spec\n"
        "before = 'torch' in sys.modules\n"
        "layer = spec.VariantLSTMLayer\n"
        "print(before, 'torch' in sys.modules, layer.__module__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["False", "True", "rnnbench_models.lstm_model"], done.stderr
