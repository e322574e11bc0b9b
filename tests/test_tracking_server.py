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
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts servers and trains

PG = os.environ.get("RNNBENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
TEXT = "".join(f"{('hail', 'see')[i % 2]} the king, and serve the queen.\n" for i in range(120))
# A tiny language-modelling sweep (generate needs a task with a codec).
SWEEP = """\
name: {name}
models: [lstm]
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
    proc.stderr_text = err  # type: ignore[attr-defined]
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
        assert len(out.splitlines()) == 1  # --json: one object, no MLflow "View run" lines
        run_id = json.loads(out)["pairs"][0]["finals"][0]["mlflow_run_id"]
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


@pytest.fixture
def postgres_databases():
    """Two fresh PostgreSQL databases (MLflow's backend store, Optuna's storage), their
    URLs; dropped afterwards."""
    import psycopg

    tag = uuid.uuid4().hex[:8]
    names = [f"rnnbench_mh_{tag}_mlflow", f"rnnbench_mh_{tag}_optuna"]
    admin = psycopg.connect(f"{PG}/postgres", autocommit=True)
    try:
        for name in names:
            admin.execute(f"CREATE DATABASE {name}")
        yield [f"{PG}/{name}" for name in names]
    finally:
        for name in names:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.mark.postgres
def test_the_several_hosts_recipe(tmp_path, postgres_databases):
    """docs/guide/ui.md, "Several hosts, one MLflow server", as written: an mlflow
    server on a PostgreSQL backend store with a local artifacts destination; on two
    "hosts" (separate working directories, started together) the same `rnnbench sweep`
    with one PostgreSQL Optuna storage and the server's URL; then, from a third
    directory, `rnnbench leaderboard` and `rnnbench generate` against the server."""
    import optuna
    from mlflow.tracking import MlflowClient
    from optuna.trial import TrialState

    from rnnbench.tracking.views import SWEEPS_VIEW_KEY, read_views

    backend, storage = postgres_databases
    hosts = [tmp_path / "host1", tmp_path / "host2"]
    third = tmp_path / "third"
    for folder in (*hosts, third):
        folder.mkdir()
    n_trials = 3
    config = sweep_file(tmp_path, "multihost", n_trials)  # on a shared file system
    with mlflow_server(backend, tmp_path / "artifacts", tmp_path / "server.log") as url:
        command = ["sweep", "--config", str(config), "--storage", storage, "--tracking-uri", url]
        command += ["--n-trials", str(n_trials), "--json"]  # the recipe's command, --json
        workers = [rnnbench(host, *command) for host in hosts]
        printed = [json.loads(finish(w)) for w in workers]  # one JSON line each
        lines = [w.stderr_text for w in workers]
        # both hosts worked: each trained at least one trial or the seed
        assert all(" complete, " in text or "seed 0 (1 of 1) done" in text for text in lines), lines

        study = optuna.load_study(study_name="multihost:language-modelling:lstm", storage=storage)
        assert [t.state for t in study.trials] == [TrialState.COMPLETE] * n_trials
        assert sorted(t.number for t in study.trials) == list(range(n_trials))

        client = MlflowClient(url)
        experiment = client.get_experiment_by_name("rnnbench")
        runs = client.search_runs([experiment.experiment_id], max_results=100)
        kinds = sorted(
            (
                r.data.tags.get("rnnbench.phase") or r.data.tags.get("rnnbench.role", "?"),
                r.info.run_name,
            )
            for r in runs
        )
        assert [k for k, _ in kinds] == ["final"] + ["search"] * n_trials + ["sweep"], kinds
        assert {r.info.status for r in runs} == {"FINISHED"}
        # each worker trained its share (the slots are claimed under the storage's lock)
        assert {r.data.tags["rnnbench.trial"] for r in runs if "rnnbench.trial" in r.data.tags} == {
            str(n) for n in range(n_trials)
        }

        board = rnnbench(
            third, "leaderboard", "--tracking-uri", url, "--sweep", "multihost", "--format", "json"
        )
        rebuilt = json.loads(finish(board))
        for board in (printed[0]["leaderboard"], printed[1]["leaderboard"]):
            assert len(board) == len(rebuilt)
            # `leaderboard --format json` writes a subset of the sweep's row fields
            for mine, theirs in zip(board, rebuilt, strict=True):
                differ = {k: (mine.get(k, "-"), v) for k, v in theirs.items() if mine.get(k) != v}
                assert not differ, differ
        assert [row["model"] for row in rebuilt] == ["lstm"]

        views = read_views(client.get_experiment(experiment.experiment_id).tags)
        assert SWEEPS_VIEW_KEY in views
        leaderboards = [v for k, v in views.items() if k != SWEEPS_VIEW_KEY]
        assert [v["name"] for v in leaderboards] == ["multihost · language-modelling leaderboard"]
        state = leaderboards[0]["state"]
        assert state["orderByKey"] == "metrics.`test_loss`" and state["orderByAsc"]
        assert state["groupBy"]["groupByKeys"] == [{"mode": "tag", "groupByData": "rnnbench.model"}]

        final = printed[0]["pairs"][0]["finals"][0]["mlflow_run_id"]
        assert printed[1]["pairs"][0]["finals"][0]["mlflow_run_id"] == final
        generate = rnnbench(
            third, "generate", "--run", final, "--tracking-uri", url,
            "--length", "40", "--prime", "hail",
        )  # fmt: skip
        out = finish(generate)
        assert out.startswith("hail") and len(out) > 20
    assert not (third / "results").exists()
