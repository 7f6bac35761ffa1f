"""The store: its engine, its transactions and its meta rows, with the tables' reads and
writes in groups (:mod:`key_tables`, :mod:`identity_tables`, :mod:`grant_table`, :mod:`audit_rows`).

Every write goes through :meth:`Store.write`, which also bumps the store's
``generation``. Each service worker compares the generation (cheaply, see
:mod:`~sealbox.server.store.watch`) before every request and drops its caches when it
moved, so a change made through any worker, node or the admin CLI is in force on the next
request everywhere.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Integer, Text, cast, delete, func, select, update
from sqlalchemy.exc import OperationalError

from sealbox.server import metrics
from sealbox.server.store import schema
from sealbox.server.store.audit_rows import AuditRows
from sealbox.server.store.engine import (
    PG_MIGRATION_LOCK,
    PG_READ_ONLY,
    READ_ONLY,
    SQLITE_FILE,
    StoreError,
    postgres_engine,
    serialize_pg_writers,
    sqlite_engine,
)
from sealbox.server.store.grant_table import GrantTable
from sealbox.server.store.identity_tables import IdentityTables
from sealbox.server.store.key_tables import KeyTables
from sealbox.server.store.locking import NoLock, WriteLock
from sealbox.server.store.migrations import migrate
from sealbox.server.store.watch import (
    ChangeWatch,
    OncePerTurn,
    PostgresChangeWatch,
    SqliteChangeWatch,
)


class Store:
    """The store, with its tables in groups: ``keys`` (KMS keys with their materials,
    aliases, tags and import tokens), ``identities`` (access keys and identity policies),
    ``grants`` and ``audit`` (the audit log's rows).

    One rule says who owns a transaction, for every method here and in the groups:

    - A method that changes rows takes the caller's ``connection``, always. The caller
      opens the transaction with :meth:`write` (or runs inside :meth:`unit_of_work`), so
      what it checks, what it changes, the generation bump and the request's audit
      record commit together or not at all.
    - A method that only reads takes an optional ``connection``: the caller's, to read
      inside its transaction; without one it reads in a short transaction of its own
      (:meth:`reading`), which inside a unit of work is that unit's.

    The one exception is the audit appender (``audit.appender()``): it group-commits the
    records of read-only requests on a database connection of its own.
    """

    def __init__(
        self,
        engine: Engine,
        watch: ChangeWatch,
        write_lock: WriteLock | NoLock | None = None,
        *,
        read_options: Mapping[str, Any] = READ_ONLY,
        serialize_writers: Callable[[Connection], None] | None = None,
    ) -> None:
        self.engine = engine
        self.watch = OncePerTurn(watch)
        self.write_lock = write_lock or NoLock()
        self._read_options = dict(read_options)
        self._serialize_writers = serialize_writers
        self.keys = KeyTables(self)
        self.identities = IdentityTables(self)
        self.grants = GrantTable(self)
        self.audit = AuditRows(self, engine, self.write_lock)

    @classmethod
    def open_sqlite(cls, data_dir: Path) -> Store:
        engine = sqlite_engine(data_dir)
        migrate(engine)
        lock = WriteLock(data_dir / (SQLITE_FILE + ".writelock"))
        return cls(engine, SqliteChangeWatch(data_dir / SQLITE_FILE), lock)

    @classmethod
    def open_postgres(cls, url: str) -> Store:
        engine = postgres_engine(url)
        try:
            # Nodes starting together migrate one at a time; the later ones find nothing to do.
            # The lock is a session lock, on an autocommit connection of its own.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as holder:
                holder.exec_driver_sql(f"SELECT pg_advisory_lock({PG_MIGRATION_LOCK})")
                try:
                    migrate(engine)
                finally:
                    holder.exec_driver_sql(f"SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})")
        except OperationalError as error:
            engine.dispose()
            raise StoreError(f"cannot open the PostgreSQL store: {_first_line(error)}") from None
        return cls(
            engine,
            PostgresChangeWatch(engine),
            read_options=PG_READ_ONLY,
            serialize_writers=serialize_pg_writers,
        )

    def close(self) -> None:
        self.watch.close()
        self.engine.dispose()
        self.write_lock.close()

    # -- transactions ---------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction that also bumps the generation (all or nothing). Inside a
        :meth:`unit_of_work` it joins that transaction instead of committing on its own."""
        joined = _UNIT.get()
        if joined is not None:
            yield joined
            return
        with self._begin_write() as connection:
            yield connection
            _bump_generation(connection)

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[Connection]:
        """One transaction for everything :meth:`write` does in this block: a request's state
        change and its audit record commit together or not at all."""
        with self._begin_write() as connection:
            token = _UNIT.set(connection)
            try:
                yield connection
            finally:
                _UNIT.reset(token)
            _bump_generation(connection)

    def in_unit_of_work(self) -> bool:
        return _UNIT.get() is not None

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction; inside a :meth:`unit_of_work`, that transaction (so a
        request reads its own writes, and never waits on the lock its own transaction holds)."""
        joined = _UNIT.get()
        if joined is not None:
            yield joined
            return
        with self.engine.connect().execution_options(**self._read_options) as connection:
            yield connection

    @contextlib.contextmanager
    def reading(self, connection: Connection | None) -> Iterator[Connection]:
        """What a reader reads on: the caller's ``connection``, or else :meth:`read`."""
        if connection is not None:
            yield connection
            return
        with self.read() as reader:
            yield reader

    @contextlib.contextmanager
    def _begin_write(self) -> Iterator[Connection]:
        with self.write_lock.held():
            held_from = time.perf_counter()
            try:
                with self.engine.begin() as connection:
                    if self._serialize_writers is not None:
                        self._serialize_writers(connection)
                    yield connection
            finally:
                metrics.observe_change(self.engine.dialect.name, time.perf_counter() - held_from)
                self.watch.wrote()  # seen by the next request here, even in this turn

    # -- meta -------------------------------------------------------------------

    def get_meta(self, name: str, connection: Connection | None = None) -> str | None:
        with self.reading(connection) as reader:
            value = reader.execute(
                select(schema.meta.c.value).where(schema.meta.c.name == name)
            ).scalar()
        return None if value is None else str(value)

    def put_meta(self, values: Mapping[str, str], connection: Connection) -> None:
        for name, value in values.items():
            connection.execute(delete(schema.meta).where(schema.meta.c.name == name))
            connection.execute(schema.meta.insert().values(name=name, value=value))

    def put_meta_if_absent(self, name: str, value: str, connection: Connection) -> str:
        """Set ``name`` unless it is set (read and written in the caller's transaction:
        nodes racing agree); its value."""
        current = self.get_meta(name, connection)
        if current is not None:
            return current
        connection.execute(schema.meta.insert().values(name=name, value=value))
        return value

    def is_empty(self, connection: Connection | None = None) -> bool:
        """No key and no access key: a root key may be created for it."""
        with self.reading(connection) as reader:
            keys = reader.execute(select(func.count()).select_from(schema.kms_keys)).scalar()
            principals = reader.execute(
                select(func.count()).select_from(schema.access_keys)
            ).scalar()
        return not keys and not principals


_UNIT: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
    "sealbox_unit_of_work", default=None
)


def _first_line(error: Exception) -> str:
    """A driver error's first line: what went wrong, without the SQL or parameters."""
    original = getattr(error, "orig", None) or error
    return (
        str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    )


def _bump_generation(connection: Connection) -> None:
    connection.execute(
        update(schema.meta)
        .where(schema.meta.c.name == "generation")
        .values(value=cast(cast(schema.meta.c.value, Integer) + 1, Text))
    )
