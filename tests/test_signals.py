"""SIGINT and SIGTERM sent to real `rnnbench` processes: one line, exit 130/143, every
MLflow run KILLED (never FINISHED or RUNNING), no Optuna trial left RUNNING, no traceback.

Each test starts a small job that would train for minutes, waits for a line that says
it is where the test wants it (training, searching, final seeds, sampling), signals it,
and reads the stores afterwards.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

LONG = [
    "--set",
    "task.train_size=4096",
    "--set",
    "task.val_size=64",
    "--set",
    "task.test_size=64",
    "--set",
    "model.hidden_size=16",
    "--set",
    "train.progress=false",
    "--max-epochs",
    "200",
]
STARTUP_SECONDS = 180  # imports and data on a busy 2-core machine


class Job:
    """`python -m rnnbench ARGS` with stderr read line by line in a thread."""

    def __init__(self, args: list[str], cwd: Path, env: dict | None = None) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rnnbench", *args],
            cwd=cwd,
            text=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"never printed {text!r}; stderr:\n" + "\n".join(self.lines))
            time.sleep(0.1)

    def wait_until(self, condition, what: str, timeout: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"never reached: {what}; stderr:\n" + "\n".join(self.lines))
            time.sleep(0.2)

    def stop(self, signum: int, timeout: float = 120) -> int:
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail("did not stop; stderr:\n" + "\n".join(self.lines))
        self.reader.join(timeout=10)
        return code

    def finish(self, timeout: float = 600) -> int:
        code = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code


def query(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return []


def run_statuses(results: Path) -> list[str]:
    return [row[0] for row in query(results / "mlflow.db", "select status from runs")]


def trial_states(results: Path) -> list[str]:
    return [row[0] for row in query(results / "optuna.db", "select state from trials")]


def assert_stopped(job: Job, code: int, signum: int) -> None:
    word = "interrupted" if signum == signal.SIGINT else "terminated"
    text = "\n".join(job.lines)
    assert code == 128 + signum, text
    assert job.lines[-1] == f"rnnbench: {word}", text
    assert "Traceback" not in text and "Detected KeyboardInterrupt" not in text, text
    assert sum(line.startswith("rnnbench: ") for line in job.lines) == 1, text


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_run_kills_its_mlflow_run(tmp_path, signum):
    results = tmp_path / "results"
    job = Job(
        ["run", "--model", "lstm", "--task", "adding", *LONG, "--results-dir", str(results)],
        tmp_path,
    )
    job.wait_for("lstm on adding: training")
    time.sleep(1.0)
    code = job.stop(signum)
    assert_stopped(job, code, signum)
    assert run_statuses(results) == ["KILLED"]
    tags = dict(query(results / "mlflow.db", "select key, value from tags"))
    assert tags["rnnbench.status"] == "killed"
    assert tags["rnnbench.error"] == f"interrupted ({signal.Signals(signum).name})"


@pytest.mark.slow
def test_a_second_ctrl_c_stops_at_once(tmp_path):
    results = tmp_path / "results"
    job = Job(
        ["run", "--model", "lstm", "--task", "adding", *LONG, "--results-dir", str(results)],
        tmp_path,
    )
    job.wait_for("lstm on adding: training")
    job.proc.send_signal(signal.SIGINT)
    job.proc.send_signal(signal.SIGINT)
    code = job.stop(signal.SIGINT, timeout=30)
    text = "\n".join(job.lines)
    assert code == 130, text
    assert "Traceback" not in text and job.lines[-1] == "rnnbench: interrupted", text
    assert "FINISHED" not in run_statuses(results)


@pytest.mark.slow
def test_resume_after_an_interruption_clears_the_failure_tags(tmp_path):
    results = tmp_path / "results"
    args = [
        "run",
        "--model",
        "lstm",
        "--task",
        "adding",
        "--set",
        "task.train_size=4096",  # 3 epochs (2 s and more) left when the signal is sent
        "--set",
        "task.val_size=64",
        "--set",
        "task.test_size=64",
        "--set",
        "model.hidden_size=16",
        "--set",
        "train.progress=false",
        "--max-epochs",
        "4",
        "--results-dir",
        str(results),
    ]
    job = Job(args, tmp_path)
    job.wait_until(
        lambda: any(results.glob("runs/*/checkpoints/last.ckpt")), "the first epoch's checkpoint"
    )
    code = job.stop(signal.SIGINT)
    assert_stopped(job, code, signal.SIGINT)
    assert run_statuses(results) == ["KILLED"]
    resumed = Job([*args, "--resume"], tmp_path)
    assert resumed.finish() == 0, "\n".join(resumed.lines)
    assert run_statuses(results) == ["FINISHED"]
    keys = {row[0] for row in query(results / "mlflow.db", "select key from tags")}
    assert "rnnbench.error" not in keys and "rnnbench.status" not in keys
    assert "rnnbench.resumed_from" in keys


def sweep_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


SWEEP = textwrap.dedent("""\
    name: sig
    models: [lstm]
    tasks: [adding]
    seeds: 2
    pruner: none
    search_train: [lr]
    train: {max_epochs: 200}
    task_options: {adding: {train_size: 4096, val_size: 64, test_size: 64}}
    model_params: {lstm: {hidden_size: 16}}
""")


def assert_sweep_killed(results: Path) -> None:
    statuses = run_statuses(results)
    assert statuses and set(statuses) == {"KILLED"}, statuses  # parent and children
    assert "RUNNING" not in trial_states(results), trial_states(results)


@pytest.mark.slow
def test_sigterm_during_a_sweep_search_fails_the_trial_and_kills_every_run(tmp_path):
    results = tmp_path / "results"
    config = sweep_file(tmp_path, SWEEP + "n_trials: 3\n")
    job = Job(["sweep", "--config", str(config), "--results-dir", str(results)], tmp_path)
    job.wait_for("searching, 0/3 trials done")
    job.wait_until(lambda: "RUNNING" in trial_states(results), "a running trial")
    time.sleep(1.0)
    code = job.stop(signal.SIGTERM)
    assert_stopped(job, code, signal.SIGTERM)
    assert trial_states(results) == ["FAIL"]
    assert_sweep_killed(results)


@pytest.mark.slow
def test_ctrl_c_during_final_seeds_kills_every_run(tmp_path):
    results = tmp_path / "results"
    config = sweep_file(
        tmp_path, SWEEP.replace("search_train: [lr]", "search_train: []") + "n_trials: 0\n"
    )
    job = Job(["sweep", "--config", str(config), "--results-dir", str(results)], tmp_path)
    job.wait_until(lambda: len(run_statuses(results)) >= 2, "a final seed's run")  # + parent
    time.sleep(1.0)
    code = job.stop(signal.SIGINT)
    assert_stopped(job, code, signal.SIGINT)
    assert_sweep_killed(results)


SLOW_SAMPLER = """
import sys
import time

import optuna

from rnnbench import hookimpl
from rnnbench.contract.extension_specs import SamplerSpec


class SlowSampler(optuna.samplers.RandomSampler):
    def sample_independent(self, study, trial, name, distribution):
        print("slow sampler: sampling", file=sys.stderr, flush=True)
        time.sleep(60)
        return super().sample_independent(study, trial, name, distribution)


@hookimpl
def register_samplers(register):
    register(SamplerSpec("slow", lambda seed: SlowSampler(seed=seed), "sleeps while sampling"))
"""


@pytest.mark.slow
def test_ctrl_c_while_a_trial_is_sampled_prints_no_optuna_traceback(tmp_path, fake_plugin):
    module = fake_plugin(SLOW_SAMPLER)
    site = next(p for p in sys.path if (Path(p) / f"{module}.py").exists())
    results = tmp_path / "results"
    config = sweep_file(tmp_path, SWEEP + "n_trials: 2\nsampler: slow\nall_installed: false\n")
    job = Job(
        ["sweep", "--config", str(config), "--results-dir", str(results)],
        tmp_path,
        env={"PYTHONPATH": os.pathsep.join([site, os.environ.get("PYTHONPATH", "")])},
    )
    job.wait_for("slow sampler: sampling")
    code = job.stop(signal.SIGINT)
    assert_stopped(job, code, signal.SIGINT)
    assert not any("Trial 0 failed" in line for line in job.lines), job.lines
    assert trial_states(results) == ["FAIL"]
    assert_sweep_killed(results)


@pytest.mark.slow
def test_sigterm_during_a_ddp_run_stops_every_rank(tmp_path):
    results = tmp_path / "results"
    job = Job(
        [
            "run",
            "--model",
            "lstm",
            "--task",
            "adding",
            *LONG,
            "--accelerator",
            "cpu",
            "--devices",
            "2",
            "--strategy",
            "ddp",
            "--results-dir",
            str(results),
        ],
        tmp_path,
    )
    job.wait_for("lstm on adding: training")
    time.sleep(2.0)
    code = job.stop(signal.SIGTERM)
    assert_stopped(job, code, signal.SIGTERM)
    assert run_statuses(results) == ["KILLED"]

    # no rank outlives the command
    def ranks_left() -> str:
        return subprocess.run(
            ["pgrep", "-f", "--", f"--results-dir {results}"], capture_output=True, text=True
        ).stdout.strip()

    deadline = time.monotonic() + 20
    while ranks_left() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ranks_left() == ""
