"""Storage locks never lie: a lock that cannot be taken is an error (or a wait), a lost
lock is an error at release, and schemes without a lock are refused before anything is
written. Runs against the PostgreSQL and MariaDB servers of the test machine."""

import os
import threading
import time
import uuid

import pytest
from conftest import backends
from sqlalchemy import create_engine, text

from rnnbench.contract.errors import ConfigError
from rnnbench.sweep.locking import LockError, StorageLock, check_storage_url

PG = os.environ.get("RNNBENCH_PG_URL", "postgresql://root@127.0.0.1:5432") + "/postgres"
MYSQL = os.environ.get("RNNBENCH_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
MARIADB = MYSQL.replace("mysql+pymysql://", "mariadb+pymysql://", 1)


def url_for(backend, tmp_path):
    return {
        "sqlite": f"sqlite:///{tmp_path / 'optuna.db'}",
        "postgresql": PG,
        "mysql": MYSQL,
        "mariadb": MARIADB,
    }[backend]


@pytest.mark.parametrize(
    "url, expected",
    [
        ("mssql+pyodbc://sa@127.0.0.1/db", "unsupported storage scheme 'mssql'"),
        ("oracle://scott@127.0.0.1/db", "unsupported storage scheme 'oracle'"),
        ("postgres://root@127.0.0.1/db", "unsupported storage scheme 'postgres'"),
        ("results/optuna.db", "unsupported storage scheme 'results/optuna.db'"),
        ("sqlite://", "an SQLite storage needs a file"),
        ("sqlite:///:memory:", "an SQLite storage needs a file"),
        ("mysql://root@127.0.0.1/test", "database driver missing"),
    ],
)
def test_unusable_storage_urls_are_refused_in_one_line(tmp_path, url, expected, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as error:
        StorageLock(url, "x")
    message = str(error.value)
    assert message.startswith(f"--storage {url}: ") and expected in message
    assert "\n" not in message
    if "scheme" in expected:
        assert "supported: sqlite, postgresql, mysql, mariadb" in message
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    "url", ["sqlite:///results/optuna.db", "sqlite:////tmp/optuna.db", MYSQL, MARIADB, PG]
)
def test_supported_storage_urls_pass_the_check(url):
    check_storage_url(url)


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends("sqlite", "postgresql", "mysql", "mariadb"))
def test_a_held_lock_times_out_with_an_error_never_as_held(tmp_path, backend):
    url, name = url_for(backend, tmp_path), f"timeout-{uuid.uuid4().hex}"
    holder = StorageLock(url, name)
    assert holder.acquire()
    waiter = StorageLock(url, name, timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(LockError, match=r"not taken within 0\.5 s \(another worker holds it\)"):
            waiter.acquire()
        assert 0.4 <= time.monotonic() - started < 5
        assert not waiter.acquire(blocking=False)  # still the holder's
    finally:
        holder.release()
    assert waiter.acquire()  # free again: taken at once
    waiter.release()


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends("sqlite", "postgresql", "mysql", "mariadb"))
def test_a_waiter_gets_the_lock_when_its_holder_lets_go(tmp_path, backend):
    url, name = url_for(backend, tmp_path), f"wait-{uuid.uuid4().hex}"
    holder = StorageLock(url, name)
    holder.acquire()
    threading.Timer(0.5, holder.release).start()
    waiter = StorageLock(url, name, timeout=30)
    started = time.monotonic()
    assert waiter.acquire()
    assert time.monotonic() - started >= 0.4
    waiter.release()


def test_get_lock_answering_null_is_an_error_not_a_held_lock():
    """MariaDB's GET_LOCK returns NULL when its wait is killed (KILL QUERY)."""
    name = f"null-{uuid.uuid4().hex}"
    holder = StorageLock(MYSQL, name)
    holder.acquire()
    errors = []

    def wait() -> None:
        try:
            StorageLock(MYSQL, name).acquire()
            errors.append(None)
        except LockError as exc:
            errors.append(str(exc))

    waiter = threading.Thread(target=wait)
    waiter.start()
    admin = create_engine(MYSQL).connect()
    try:
        query = text(
            "SELECT id FROM information_schema.processlist "
            "WHERE info LIKE 'SELECT GET_LOCK(%' AND id <> CONNECTION_ID()"
        )
        deadline = time.monotonic() + 10
        while not (ids := admin.execute(query).scalars().all()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ids, "the waiter never called GET_LOCK"
        admin.execute(text(f"KILL QUERY {ids[0]}"))
        waiter.join(10)
    finally:
        admin.close()
        holder.release()
    assert len(errors) == 1 and errors[0] is not None
    assert f"storage lock {name!r}" in errors[0] and "not held" in errors[0]


@pytest.mark.parametrize("backend", backends("postgresql", "mysql"))
def test_a_lock_lost_with_its_connection_is_an_error_at_release(backend, tmp_path):
    url, name = url_for(backend, tmp_path), f"lost-{uuid.uuid4().hex}"
    lock = StorageLock(url, name)
    lock.acquire()
    own = lock._connection.execute(
        text("SELECT pg_backend_pid()" if backend == "postgresql" else "SELECT CONNECTION_ID()")
    ).scalar()
    with create_engine(url).connect() as admin:
        admin.execute(
            text(
                f"SELECT pg_terminate_backend({own})" if backend == "postgresql" else f"KILL {own}"
            )
        )
    with pytest.raises(LockError, match="was not held at release"):
        lock.release()
    assert lock.acquire(blocking=False)  # usable again on a fresh connection
    lock.release()
