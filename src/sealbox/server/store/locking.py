"""One writer at a time across the worker processes sharing a SQLite store.

SQLite serializes writers itself, but a writer that finds the database locked
sleeps in steps of 1, 2, 5, 10... ms before trying again; under a steady load of
short transactions (each ends in an fsync) those sleeps dominated. A blocking
``flock`` on a file beside the database hands the lock over the moment it is
released.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path


class WriteLock:
    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._threads = threading.Lock()  # flock is per open file, not per thread

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


class NoLock:
    """For databases that handle concurrent writers well (PostgreSQL)."""

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        yield

    def close(self) -> None:
        pass
