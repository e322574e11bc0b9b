"""Sweeps across processes: a shared storage, a global trial cap, a killed worker."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import optuna
import pytest
from conftest import backends
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

PG = os.environ.get("RNNBENCH_PG_URL", "postgresql://root@127.0.0.1:5432")

CONFIG = """\
name: shared
models: [lstm]
tasks: [adding]
seeds: 1
pruner: none
heartbeat: 1
train: {{max_epochs: {epochs}, patience: 100}}
task_options:
  adding: {{seq_len: 6, train_size: {size}, val_size: 32, test_size: 32}}
model_params:
  lstm: {{hidden_size: 8, num_layers: 1, variant: vanilla}}
"""


def worker(tmp_path, *extra, epochs=2, size=128):
    config = tmp_path / "sweep.yaml"
    config.write_text(CONFIG.format(epochs=epochs, size=size))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "rnnbench", "sweep", "--config", str(config), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def postgres_urls():
    """Two fresh PostgreSQL databases (Optuna, MLflow), dropped afterwards."""
    import psycopg

    names = [f"rnnbench_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("optuna", "mlflow")]
    admin = psycopg.connect(f"{PG}/postgres", autocommit=True)
    with admin.cursor() as cur:
        for name in names:
            cur.execute(f"CREATE DATABASE {name}")
    yield [f"{PG}/{name}" for name in names]
    with admin.cursor() as cur:
        for name in names:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def check_shared_sweep(storage, tracking, n):
    study = optuna.load_study(study_name="shared:adding:lstm", storage=storage)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == n
    assert len(study.trials) == n, [t.state for t in study.trials]
    assert sorted(t.number for t in study.trials) == list(range(n))
    # each worker samples from its own random stream: no trial repeats another's draw
    assert len({json.dumps(t.params, sort_keys=True) for t in study.trials}) == n
    client = MlflowClient(tracking)
    runs = client.search_runs(
        [client.get_experiment_by_name("rnnbench").experiment_id], max_results=1000
    )
    search = [r for r in runs if r.data.tags.get("rnnbench.phase") == "search"]
    assert sorted(int(r.data.tags["rnnbench.trial"]) for r in search) == list(range(n))
    assert len([r for r in runs if r.data.tags.get("rnnbench.role") == "sweep"]) == 1
    assert len([r for r in runs if r.data.tags.get("rnnbench.phase") == "final"]) == 1


@pytest.mark.parametrize("backend", backends("sqlite", "postgresql"))
def test_two_workers_share_the_studies_with_an_exact_global_cap(tmp_path, backend, request):
    results = tmp_path / "results"
    if backend == "sqlite":
        storage = f"sqlite:///{results / 'optuna.db'}"
        tracking = f"sqlite:///{results / 'mlflow.db'}"
        extra = []
    else:
        storage, tracking = request.getfixturevalue("postgres_urls")
        extra = ["--storage", storage, "--tracking-uri", tracking]
    procs = [
        worker(tmp_path, "--n-trials", "5", "--results-dir", str(results), *extra) for _ in range(2)
    ]  # started at the same moment
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "database is locked" not in err
    check_shared_sweep(storage, tracking, 5)


def test_killed_worker_is_recovered_on_restart(tmp_path):
    results = tmp_path / "results"
    storage = f"sqlite:///{results / 'optuna.db'}"
    tracking = f"sqlite:///{results / 'mlflow.db'}"
    args = ("--n-trials", "2", "--results-dir", str(results))
    victim = worker(tmp_path, *args, epochs=200, size=256)
    deadline = time.time() + 180
    # A checkpoint on disk means a trial is training (the databases are left alone
    # until then, so the test never races the worker's schema creation).
    while time.time() < deadline and not list(results.glob("runs/*/checkpoints/*.ckpt")):
        assert victim.poll() is None, victim.communicate()[1]
        time.sleep(0.2)
    assert list(results.glob("runs/*/checkpoints/*.ckpt")), "no trial started"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    client = MlflowClient(tracking)
    exp = client.get_experiment_by_name("rnnbench")
    running = client.search_runs(
        [exp.experiment_id], "tags.`rnnbench.phase` = 'search' and attributes.status = 'RUNNING'"
    )
    assert len(running) == 1
    killed_run = running[0].info.run_id
    study = optuna.load_study(study_name="shared:adding:lstm", storage=storage)
    assert [t.state for t in study.trials] == [TrialState.RUNNING]
    time.sleep(3.5)  # past the heartbeat grace period (3 beats of 1 s)

    config = tmp_path / "sweep.yaml"
    config.write_text(CONFIG.format(epochs=2, size=128))  # the restart may be quicker
    proc = subprocess.run(
        [sys.executable, "-m", "rnnbench", "sweep", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    study = optuna.load_study(study_name="shared:adding:lstm", storage=storage)
    states = [t.state for t in study.trials]
    assert states[0] == TrialState.FAIL  # the killed worker's trial, failed by its heartbeat
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == 2
    assert client.get_run(killed_run).info.status == "KILLED"
    assert client.get_run(killed_run).data.tags["rnnbench.status"] == "killed"


def test_workers_flag_runs_helpers_on_one_machine(tmp_path):
    results = tmp_path / "results"
    proc = worker(tmp_path, "--n-trials", "4", "--workers", "2", "--results-dir", str(results))
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert out.startswith("sweep ") and out.count("sweep ") == 1  # printed once, by the parent
    check_shared_sweep(
        f"sqlite:///{results / 'optuna.db'}", f"sqlite:///{results / 'mlflow.db'}", 4
    )


def test_final_seeds_are_shared_between_workers(tmp_path, cli):
    """A seed held by another worker is skipped, then waited for, never run twice."""
    from rnnbench.sweep.locking import StorageLock

    results = tmp_path / "results"
    results.mkdir()  # the storage's folder exists (a SQLite URL's missing folder is refused)
    storage = f"sqlite:///{results / 'optuna.db'}"
    config = tmp_path / "sweep.yaml"
    config.write_text(CONFIG.format(epochs=1, size=64).replace("seeds: 1", "seeds: 3"))
    elsewhere = StorageLock(storage, "shared:adding:lstm:final:0:0")  # "another worker"
    assert elsewhere.acquire(blocking=False)
    codes = []
    sweep = threading.Thread(
        target=lambda: codes.append(
            cli("sweep", "--config", str(config), "--n-trials", "1", "--results-dir", str(results))
        )
    )
    sweep.start()

    def attrs() -> set:
        """Study attribute keys, read without ever writing (no race with schema creation)."""
        import sqlite3

        try:
            with sqlite3.connect(f"file:{results / 'optuna.db'}?mode=ro", uri=True) as db:
                return {key for (key,) in db.execute("SELECT key FROM study_user_attributes")}
        except sqlite3.OperationalError:  # no database or no table yet
            return set()

    try:
        deadline = time.time() + 300
        while time.time() < deadline and not {"final:0:1", "final:0:2"} <= attrs():
            assert sweep.is_alive()
            time.sleep(0.5)
        assert {"final:0:1", "final:0:2"} <= attrs() and "final:0:0" not in attrs()
        assert sweep.is_alive()  # waiting for seed 0
    finally:
        elsewhere.release()  # as if its holder died without finishing it
        sweep.join(timeout=300)
    assert codes and codes[0][0] == 0, codes
    finals = optuna.load_study(study_name="shared:adding:lstm", storage=storage).user_attrs
    assert [finals[f"final:0:{seed}"]["seed"] for seed in range(3)] == [0, 1, 2]
    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    runs = client.search_runs(
        [client.get_experiment_by_name("rnnbench").experiment_id], "tags.`rnnbench.phase` = 'final'"
    )
    assert sorted(r.info.run_name for r in runs) == [
        f"adding/lstm seed {seed}" for seed in range(3)
    ]


def test_a_dead_workers_final_run_is_marked_killed_and_redone(tmp_path, cli):
    results = tmp_path / "results"
    config = tmp_path / "sweep.yaml"
    config.write_text(CONFIG.format(epochs=1, size=64))
    args = ("sweep", "--config", str(config), "--n-trials", "1", "--results-dir", str(results))
    assert cli(*args)[0] == 0
    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("rnnbench").experiment_id
    orphan = client.create_run(experiment, run_name="left by a dead worker").info.run_id
    study = optuna.load_study(
        study_name="shared:adding:lstm", storage=f"sqlite:///{results / 'optuna.db'}"
    )
    study.set_user_attr("final:0:1:run", orphan)  # seed 1 started, never recorded
    assert cli(*args, "--seeds", "2")[0] == 0
    assert client.get_run(orphan).info.status == "KILLED"
    assert "final:0:1" in study.user_attrs


@pytest.mark.parametrize("backend", backends("sqlite", "postgresql", "mysql"))
def test_storage_lock_can_be_tried_without_waiting(tmp_path, backend):
    from rnnbench.sweep.locking import StorageLock

    url = {
        "sqlite": f"sqlite:///{tmp_path / 'optuna.db'}",
        "postgresql": f"{PG}/postgres",
        "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
    }[backend]
    name = f"try-{uuid.uuid4().hex}"
    holder, other = StorageLock(url, name), StorageLock(url, name)
    assert holder.acquire(blocking=False)
    try:
        assert not other.acquire(blocking=False)  # held by another session: no wait
        unrelated = StorageLock(url, name + "-other")
        assert unrelated.acquire(blocking=False)  # names are apart
        unrelated.release()
    finally:
        holder.release()
    assert other.acquire(blocking=False)
    other.release()
