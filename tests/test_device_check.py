"""benchmarks/device_check.py, the first thing to run on a GPU, runs here on the CPU in its
quick mode, so that it cannot rot before a GPU is lent: every step passes, the report
names the device, lists every model family and says why DDP was skipped."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_device_check_passes_on_the_cpu_in_quick_mode(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from device_check import FAMILIES
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    report = tmp_path / "gpu.md"
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/device_check.py",
            "--device",
            "cpu",
            "--quick",
            "--out",
            str(report),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-6000:]
    text = report.read_text()
    assert text.startswith("# Device check: CPU")
    for label, _, task, _ in FAMILIES:
        assert f"| rnnbench run {label} on {task} | passed |" in text
    assert "| tests on the device (test_device, test_gru_dispatch) | passed |" in text
    assert "| DDP run on all visible GPUs | skipped |" in text
    assert "## Model throughput on the device" in text and "| gru |" in text
    assert "FAILED" not in text


@pytest.mark.slow
def test_device_check_refuses_cuda_without_a_gpu(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    report = tmp_path / "gpu.md"
    done = subprocess.run(
        [sys.executable, "benchmarks/device_check.py", "--device", "cuda", "--out", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0 and "no CUDA device" in done.stderr
    assert not report.exists()
