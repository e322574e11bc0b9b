"""Cross-process locks for sweep workers that share one Optuna storage.

- SQLite storage (one host): an exclusive `flock` on a file beside the database.
- PostgreSQL: a session advisory lock; MySQL/MariaDB: GET_LOCK. Both are released by
  the server if the holder dies, so a killed worker never blocks the others.

Used for: creating the schema and the studies once, claiming a trial slot (so that
n_trials is an exact global cap), and running each of a pair's final seeds once (a
worker skips a seed another worker holds, and comes back to it).
"""

from __future__ import annotations

import fcntl
import threading
import zlib
from pathlib import Path


class StorageLock:
    """A re-usable, idempotently released lock named `name` within `storage_url`."""

    def __init__(self, storage_url: str, name: str, timeout: float = 600.0) -> None:
        self.url = storage_url
        self.name = name
        self.timeout = timeout
        self._held = False
        self._file = None
        self._connection = None
        self._local = threading.Lock()

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock, waiting for it when `blocking`; else True only if it was free."""
        if not self._local.acquire(blocking):
            return False
        try:
            if self.url.startswith("sqlite"):
                database = Path(self.url.split("///", 1)[1])
                path = database.parent / f".{database.name}.locks" / f"{_key(self.name)}.lock"
                path.parent.mkdir(parents=True, exist_ok=True)
                self._file = path.open("a")
                try:
                    fcntl.flock(self._file, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                except BlockingIOError:
                    self._file.close()
                    self._file = None
                    self._local.release()
                    return False
            elif self.url.startswith(("postgresql", "mysql")):
                try:
                    self._connection = _engine(self.url).connect()
                except Exception as exc:
                    from rnnbench.errors import ConfigError

                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    raise ConfigError(f"--storage {self.url}: cannot connect ({first})") from None
                if not self._server_lock(True, blocking):
                    self._connection.close()
                    self._connection = None
                    self._local.release()
                    return False
            self._held = True
            return True
        except BaseException:
            self._local.release()
            raise

    def release(self) -> None:
        """Release if held; a second call does nothing."""
        if not self._held:
            return
        self._held = False
        try:
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
                self._file.close()
                self._file = None
            if self._connection is not None:
                self._server_lock(False)
                self._connection.close()
                self._connection = None
        finally:
            self._local.release()

    def _server_lock(self, acquire: bool, blocking: bool = True) -> bool:
        """Take (or give back) the server-side lock; False when `blocking` is off and
        another session holds it."""
        from sqlalchemy import text

        key = _key(self.name)
        if self.url.startswith("postgresql"):
            if not acquire:
                sql = "SELECT pg_advisory_unlock(:key)"
            else:
                sql = "SELECT pg_advisory_lock(:key)" if blocking else "SELECT pg_try_advisory_lock(:key)"
            got = self._connection.execute(text(sql), {"key": key}).scalar()
        else:
            sql = "SELECT GET_LOCK(:name, :timeout)" if acquire else "SELECT RELEASE_LOCK(:name)"
            got = self._connection.execute(text(sql), {
                "name": f"rnnbench-{key}", "timeout": int(self.timeout) if blocking else 0}).scalar()
        self._connection.commit()
        return bool(got) if acquire and not blocking else True

    def __enter__(self) -> StorageLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _key(name: str) -> int:
    return zlib.crc32(name.encode())


_ENGINES: dict[str, object] = {}


def _engine(url: str):
    from sqlalchemy import create_engine

    if url not in _ENGINES:
        _ENGINES[url] = create_engine(url, pool_pre_ping=True)
    return _ENGINES[url]
