"""Sweeps against a real `mlflow server` process: a run restored from the server alone
(no results/runs/, another working directory), and the documented several-hosts recipe
(docs/guide/ui.md, "Several hosts, one MLflow server") with a PostgreSQL backend store
and Optuna storage, two workers as two hosts would run them."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts servers and trains

PG = os.environ.get("RNNBENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
TEXT = "".join(f"{('hail', 'see')[i % 2]} the king, and serve the queen.\n" for i in range(120))
# A tiny language-modelling sweep (generate needs a task with a codec).
SWEEP = """\
name: {name}
tasks: [language-modelling]
n_trials: {n_trials}
seeds: 1
pruner: none
heartbeat: 2
search_train: [lr]
train: {{max_epochs: 1, batch_size: 8}}
task_options:
  language-modelling: {{dataset: {corpus}, bptt: 16}}
model_params:
  lstm: {{hidden_size: 16, embedding_dim: 8}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(backend_store: str, artifacts: Path, log: Path) -> Iterator[str]:
    """`mlflow server` on a free 127.0.0.1 port (artifacts served, the default), its URL
    once /health answers; the server's process group is killed afterwards."""
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", backend_store,
        "--artifacts-destination", str(artifacts),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    with open(log, "w") as out:
        server = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"mlflow server exited {server.returncode}: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not healthy in 90 s: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 15)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


def rnnbench(cwd: Path, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.Popen(
        [sys.executable, "-m", "rnnbench", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **popen,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return out


def sweep_file(folder: Path, name: str, n_trials: int) -> Path:
    corpus = folder / "corpus.txt"
    corpus.write_text(TEXT)
    path = folder / "sweep.yaml"
    path.write_text(textwrap.dedent(SWEEP).format(name=name, n_trials=n_trials, corpus=corpus))
    return path


def test_generate_restores_a_run_from_the_server_alone(tmp_path):
    """A 1-seed sweep logs to an mlflow server (SQLite backend, served artifacts);
    with its results/runs/ deleted, `generate --run` from another, empty directory
    restores the run from the server alone."""
    first, elsewhere, server_dir = (tmp_path / d for d in ("first", "elsewhere", "server"))
    for folder in (first, elsewhere, server_dir):
        folder.mkdir()
    config = sweep_file(tmp_path, "served", 0)
    config.write_text(config.read_text().replace("search_train: [lr]", "search_train: []"))
    with mlflow_server(
        f"sqlite:///{server_dir / 'mlflow.db'}", server_dir / "artifacts", tmp_path / "server.log"
    ) as url:
        out = finish(
            rnnbench(first, "sweep", "--config", str(config), "--tracking-uri", url, "--json")
        )
        run_id = json.loads(out.strip().splitlines()[-1])["pairs"][0]["finals"][0]["mlflow_run_id"]
        assert (first / "results" / "runs").is_dir()
        shutil.rmtree(first / "results" / "runs")
        # the weights are on the server's artifact store, not in the sweep's folder
        assert list((server_dir / "artifacts").rglob("weights.pt"))
        generate = rnnbench(
            elsewhere, "generate", "--run", run_id, "--tracking-uri", url,
            "--length", "40", "--prime", "hail",
        )  # fmt: skip
        out = finish(generate)
        assert out.startswith("hail") and len(out) > 20
        assert not (elsewhere / "results").exists()  # nothing written where it ran
