"""Noticing that the store changed: every write bumps the ``generation`` meta row (see
:meth:`Store.write <sealbox.server.store.repository.Store.write>`), and each service worker
asks its watch before every request whether it moved, to drop its caches if so."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine


class ChangeWatch(Protocol):
    def changed(self) -> bool:
        """True if the store's generation moved since the last call."""
        ...


class OncePerTurn:
    """One look at the store's generation per turn of the event loop, shared by the requests
    handled in that turn (on PostgreSQL a look is a round trip to the database).

    Sharing it loses nothing: a request handled before the callback scheduled right after a
    look was scheduled itself before that look (the loop runs its callbacks in order), so it
    had arrived before the look began, and any change committed before it arrived is seen.
    A write through this store (:meth:`wrote`) ends the sharing at once, and without a
    running event loop (the admin CLI, background work in threads) every call looks."""

    def __init__(self, inner: ChangeWatch) -> None:
        self.inner = inner
        self._shared = False  # a look of this turn stands; a moved generation is never shared

    def changed(self) -> bool:
        if self._shared:
            return False
        moved = self.inner.changed()
        if not moved:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return False
            self._shared = True
            loop.call_soon(self.wrote)
        return moved

    def wrote(self) -> None:
        self._shared = False

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


class SqliteChangeWatch:
    """``PRAGMA data_version`` (a few microseconds) moves when any other connection
    commits; only then is the generation row read, to ignore commits that changed
    no metadata."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._version = -1
        self._generation = self._read_generation()

    def _read_generation(self) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = 'generation'").fetchone()
        return row[0] if row else None

    def changed(self) -> bool:
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version == self._version:
            return False
        self._version = version
        generation = self._read_generation()
        if generation == self._generation:
            return False
        self._generation = generation
        return True


class PostgresChangeWatch:
    """One indexed read of the generation row per request, on a connection of its own:
    a change committed through any node is seen by the next request on every node."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._generation: str | None = None

    def _read_generation(self) -> str | None:
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
        value = self._connection.exec_driver_sql(
            "SELECT value FROM meta WHERE name = 'generation'"
        ).scalar()
        return None if value is None else str(value)

    def changed(self) -> bool:
        with self._lock:
            try:
                generation = self._read_generation()
            except Exception:
                # The database is unreachable: report a change, so that nothing cached is
                # trusted; the request itself then fails on the store with a clear error.
                self.close()
                return True
            if generation == self._generation:
                return False
            self._generation = generation
            return True

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None
