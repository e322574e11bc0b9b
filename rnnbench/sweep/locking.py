"""Cross-process locks for sweep workers that share one Optuna storage.

- SQLite storage (one host): an exclusive `flock` on a file beside the database.
- PostgreSQL: a session advisory lock; MySQL/MariaDB: GET_LOCK. Both are released by
  the server if the holder dies, so a killed worker never blocks the others.

Used for: creating the schema and the studies once, claiming a trial slot (so that
n_trials is an exact global cap), and running each of a pair's final seeds once (a
worker skips a seed another worker holds, and comes back to it).

A lock never lies: `acquire` returns only once the lock is held (or False for a
non-blocking try that found it taken); a timeout, a server answering NULL, or a lock
found not held at release is a LockError. Storage schemes without a lock here are
refused by `check_storage_url` before anything is written.
"""

from __future__ import annotations

import fcntl
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from rnnbench.contract.errors import ConfigError, RnnbenchError

SUPPORTED_SCHEMES = ("sqlite", "postgresql", "mysql", "mariadb")  # URL dialect names
MYSQL_WAIT_SECONDS = 60  # one GET_LOCK call's wait when waiting without a limit
POLL_SECONDS = 0.05  # SQLite: how often a waiter with a time limit tries the file lock


class LockError(RnnbenchError):
    """A storage lock that could not be taken or was lost (one line: which and why)."""


def dialect(url: str) -> str:
    """'mysql' for mysql+pymysql://..., 'sqlite' for sqlite:///...; '' without a scheme."""
    scheme, sep, _ = url.partition("://")
    return scheme.split("+", 1)[0].lower() if sep else ""


def check_storage_url(url: str, option: str = "--storage") -> None:
    """Refuse, in one line, a storage URL that StorageLock cannot lock (unsupported
    scheme, in-memory SQLite) or whose database driver is not installed. Writes nothing."""
    kind = dialect(url)
    if kind not in SUPPORTED_SCHEMES:
        raise ConfigError(
            f"{option} {url}: unsupported storage scheme {kind or url!r} "
            f"(supported: {', '.join(SUPPORTED_SCHEMES)})"
        )
    if kind == "sqlite" and not _sqlite_path(url):
        raise ConfigError(
            f"{option} {url}: an SQLite storage needs a file, e.g. "
            "sqlite:///results/optuna.db (an in-memory one is not shared)"
        )
    if kind == "sqlite" and not Path(_sqlite_path(url)).expanduser().parent.is_dir():
        raise ConfigError(
            f"{option} {url}: folder {Path(_sqlite_path(url)).parent} does "
            "not exist (create it first)"
        )
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(url).get_dialect().import_dbapi()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise ConfigError(f"{option} {url}: not a valid database URL ({exc})") from None
    except ImportError as exc:
        hint = (
            " (use mysql+pymysql:// or mariadb+pymysql:// with PyMySQL)"
            if kind in ("mysql", "mariadb")
            else ""
        )
        raise ConfigError(
            f"{option} {url}: database driver missing ({type(exc).__name__}: {exc}){hint}"
        ) from None


class StorageLock:
    """A re-usable, idempotently released lock named `name` within `storage_url`.

    timeout: seconds a blocking `acquire` waits before raising LockError; None waits as
    long as the holder keeps the lock (a final seed's training may take hours).
    """

    def __init__(self, storage_url: str, name: str, timeout: float | None = None) -> None:
        check_storage_url(storage_url)
        self.url = storage_url
        self.kind = dialect(storage_url)
        self.name = name
        self.timeout = timeout
        self._held = False
        self._file: Any = None  # the open lock file (SQLite), else None
        self._connection: Any = None  # the server session holding the lock, else None
        self._local = threading.Lock()

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock, waiting for it when `blocking`; else True only if it was free."""
        if not self._local.acquire(blocking):
            return False
        try:
            got = (
                self._file_lock(blocking)
                if self.kind == "sqlite"
                else self._server_acquire(blocking)
            )
            if not got:
                self._local.release()
                return False
            self._held = True
            return True
        except BaseException:
            self._close()
            self._local.release()
            raise

    def release(self) -> None:
        """Release if held; a second call does nothing. LockError when the server says
        the lock was not held (the connection was lost while holding it)."""
        if not self._held:
            return
        self._held = False
        try:
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
            if self._connection is not None:
                self._server_release()
        finally:
            self._close()
            self._local.release()

    # ------------------------------------------------------------------ sqlite
    def _file_lock(self, blocking: bool) -> bool:
        database = Path(_sqlite_path(self.url))
        path = database.parent / f".{database.name}.locks" / f"{_key(self.name)}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a")
        if blocking and self.timeout is None:
            fcntl.flock(self._file, fcntl.LOCK_EX)
            return True
        deadline = time.monotonic() + ((self.timeout or 0.0) if blocking else 0.0)
        while True:
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(POLL_SECONDS)
        self._close()
        if blocking:
            raise self._timed_out()
        return False

    # ----------------------------------------------------------------- servers
    def _server_acquire(self, blocking: bool) -> bool:
        from sqlalchemy.exc import DBAPIError

        try:
            self._connection = _engine(self.url).connect()
        except Exception as exc:
            raise ConfigError(
                f"--storage {self.url}: cannot connect ({_first_line(exc)})"
            ) from None
        try:
            got = (
                self._postgres_lock(blocking)
                if self.kind == "postgresql"
                else self._mysql_lock(blocking)
            )
        except DBAPIError as exc:
            if self.kind == "postgresql" and "lock timeout" in str(exc):
                raise self._timed_out() from None
            raise LockError(
                f"storage lock {self.name!r} on {self.url}: {_first_line(exc)}"
            ) from None
        if not got:
            self._close()
        return got

    def _postgres_lock(self, blocking: bool) -> bool:
        from sqlalchemy import text

        key = {"key": _key(self.name)}
        if not blocking:
            got = self._scalar(text("SELECT pg_try_advisory_lock(:key)"), key)
            return bool(got)
        # lock_timeout bounds advisory-lock waits too; 0 waits without a limit
        milliseconds = 0 if self.timeout is None else max(1, int(self.timeout * 1000))
        self._connection.execute(text(f"SET lock_timeout = {milliseconds}"))
        self._scalar(text("SELECT pg_advisory_lock(:key)"), key)
        return True

    def _mysql_lock(self, blocking: bool) -> bool:
        """GET_LOCK answers 1 (taken), 0 (timed out: held by another session) or NULL
        (an error, e.g. the server was killed); only 1 means held."""
        from sqlalchemy import text

        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            if not blocking:
                wait: float = 0
            elif deadline is None:
                wait = MYSQL_WAIT_SECONDS
            else:
                wait = max(0.0, round(deadline - time.monotonic(), 3))
            got = self._scalar(
                text("SELECT GET_LOCK(:name, :wait)"), {"name": self._mysql_name(), "wait": wait}
            )
            if got is None:
                raise LockError(
                    f"storage lock {self.name!r} on {self.url}: GET_LOCK "
                    "returned NULL (server error); the lock is not held"
                )
            if int(got) == 1:
                return True
            if not blocking:
                return False
            if deadline is not None and time.monotonic() >= deadline:
                raise self._timed_out()

    def _server_release(self) -> None:
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        try:
            if self.kind == "postgresql":
                freed = self._scalar(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _key(self.name)}
                )
            else:
                freed = self._scalar(
                    text("SELECT RELEASE_LOCK(:name)"), {"name": self._mysql_name()}
                )
        except DBAPIError:
            freed = None
        if not freed:  # false / 0: held by nobody or another session; NULL: no such lock
            raise LockError(
                f"storage lock {self.name!r} on {self.url}: was not held at "
                "release (its database connection was lost)"
            )

    def _scalar(self, statement, params):
        value = self._connection.execute(statement, params).scalar()
        self._connection.commit()
        return value

    def _mysql_name(self) -> str:
        return f"rnnbench-{_key(self.name)}"  # GET_LOCK names are at most 64 characters

    def _timed_out(self) -> LockError:
        return LockError(
            f"storage lock {self.name!r} on {self.url}: not taken within "
            f"{self.timeout:g} s (another worker holds it)"
        )

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> StorageLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _sqlite_path(url: str) -> str:
    """The database file of sqlite:///PATH (relative) or sqlite:////PATH; '' if none."""
    path = url.partition("://")[2]
    path = path[1:] if path.startswith("/") else ""
    return "" if path in ("", ":memory:") else path.split("?", 1)[0]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _key(name: str) -> int:
    return zlib.crc32(name.encode())


_ENGINES: dict[str, object] = {}


def _engine(url: str):
    from sqlalchemy import create_engine

    if url not in _ENGINES:
        _ENGINES[url] = create_engine(url, pool_pre_ping=True)
    return _ENGINES[url]
