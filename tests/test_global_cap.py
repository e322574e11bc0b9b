"""The global trial cap (rnnbench.sweep.slots): counting, claiming, and a bounded stress
run of 4 workers x 2 studies started together on each storage the sweep supports."""

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from conftest import backends
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from rnnbench.sweep.locking import StorageLock
from rnnbench.sweep.slots import Claim, SlotCount, TrialSlots

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("RNNBENCH_PG_URL", "postgresql://root@127.0.0.1:5432")
MARIADB = os.environ.get("RNNBENCH_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def frozen(state, **attrs):
    return create_trial(
        state=state,
        value=0.5 if state == TrialState.COMPLETE else None,
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0, 1)},
        user_attrs=attrs,
    )


def test_slot_count_counts_each_trial_once_from_one_snapshot():
    trials = [
        frozen(TrialState.COMPLETE),
        frozen(TrialState.PRUNED),
        frozen(TrialState.FAIL, error="ValueError: bad"),  # failed by the objective
        frozen(TrialState.FAIL),  # failed by a stale heartbeat: its copy counts
        frozen(TrialState.WAITING),
        frozen(TrialState.RUNNING),
    ]
    count = SlotCount.of(trials)
    assert (count.finished, count.running, count.waiting, count.total) == (3, 1, 1, 6)
    assert count.claimed == 5


def sqlite_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    return url, optuna.create_study(study_name="s", storage=url)


def test_a_taken_slot_makes_other_workers_wait_then_stop(tmp_path):
    url, study = sqlite_study(tmp_path)
    slots = TrialSlots(StorageLock(url, "s:claim"), n_trials=1)
    running = study.ask()  # another worker's trial holds the only slot
    ran = []
    assert slots.run_one(study, lambda t: ran.append(t) or 1.0) is Claim.BUSY
    study.tell(running, 0.3)
    assert slots.run_one(study, lambda t: ran.append(t) or 1.0) is Claim.FULL
    assert ran == [] and len(study.trials) == 1


def test_a_claimed_slot_runs_one_trial_and_releases_the_lock(tmp_path):
    url, study = sqlite_study(tmp_path)
    seen = []
    slots = TrialSlots(
        StorageLock(url, "s:claim"),
        n_trials=2,
        before_trial=lambda study, position: seen.append(position),
    )

    def objective(trial):
        # the trial exists before the lock is free: another worker may claim now
        other = StorageLock(url, "s:claim")
        assert other.acquire(blocking=False)
        other.release()
        return 0.1

    assert [slots.run_one(study, objective) for _ in range(3)] == [Claim.RAN, Claim.RAN, Claim.FULL]
    assert seen == [0, 1]
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2


def test_a_waiting_retry_is_run_even_when_every_slot_is_claimed(tmp_path):
    url, study = sqlite_study(tmp_path)
    study.add_trial(frozen(TrialState.COMPLETE))
    study.enqueue_trial({"x": 0.25})  # a dead worker's trial, queued again
    slots = TrialSlots(StorageLock(url, "s:claim"), n_trials=2)
    assert slots.run_one(study, lambda t: t.suggest_float("x", 0, 1)) is Claim.RAN
    assert slots.run_one(study, lambda t: 1.0) is Claim.FULL
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert study.trials[1].params == {"x": 0.25}


@pytest.fixture
def postgres_database():
    import uuid

    import psycopg

    name = f"rnnbench_cap_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield f"{PG}/{name}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.parametrize("backend", backends("sqlite", "postgresql", "mysql"))
def test_stress_four_workers_two_studies_never_exceed_the_cap(backend, request):
    storage = {"sqlite": "sqlite", "mysql": MARIADB}.get(backend) or request.getfixturevalue(
        "postgres_database"
    )
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "global_cap_stress.py"),
            "--storage",
            storage,
            "--repetitions",
            "3",
            "--workers",
            "4",
            "--studies",
            "2",
            "--n-trials",
            "8",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["finished_counts"] == {"8": 6}, summary  # 3 repetitions x 2 studies
