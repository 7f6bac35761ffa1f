"""The audit log's rows: appended inside a state change's transaction, or in batches by
an :class:`AuditAppender` (the group commit of every other request's records); read by
``sealbox audit verify`` and ``sealbox audit query``, and a bounded window at a time by
LookupEvents (:meth:`AuditRows.window`).

Readers take an optional connection, :meth:`AuditRows.append` the caller's (see
:class:`~sealbox.server.store.repository.Store`); the appender alone commits on a
connection of its own."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, tuple_

from sealbox.server import metrics
from sealbox.server.store import schema
from sealbox.server.store.locking import NoLock, WriteLock
from sealbox.server.store.tables import Reading

# The indexed columns, derived from the MACed record.
INDEXED = ("event_time", "event_name", "principal", "key_arn", "error_code")


def indexed(record: dict[str, Any]) -> dict[str, Any]:
    """The values of the store's indexed columns, all taken from the (MACed) record: a
    column that differs from what its record gives was edited."""
    resource = record.get("resources") or [{}]
    return {
        "event_time": datetime.fromisoformat(record["eventTime"]).timestamp(),
        "event_name": record["eventName"],
        "principal": record["userIdentity"].get("arn", ""),
        "key_arn": resource[0].get("ARN", ""),
        "error_code": record.get("errorCode", ""),
    }


class AuditRows:
    def __init__(self, store: Reading, engine: Engine, write_lock: WriteLock | NoLock) -> None:
        self._store = store
        self._engine = engine
        self._write_lock = write_lock

    def append(self, rows: list[dict[str, Any]], connection: Connection) -> None:
        connection.execute(schema.audit_log.insert(), rows)

    def appender(self) -> AuditAppender:
        return AuditAppender(self._engine, self._write_lock)

    def chains(self, connection: Connection | None = None) -> list[str]:
        query = select(schema.audit_log.c.chain).distinct()
        with self._store.reading(connection) as reader:
            return [str(chain) for chain in reader.execute(query).scalars()]

    def rows(self, chain: str | None = None, connection: Connection | None = None) -> Iterator[Any]:
        """Every row (or ``chain``'s), ordered by chain, then sequence number."""
        table = schema.audit_log
        query = select(table).order_by(table.c.chain, table.c.seq)
        if chain is not None:
            query = query.where(table.c.chain == chain)
        with self._store.reading(connection) as reader:
            yield from reader.execute(query)

    def head(self, chain: str, connection: Connection | None = None) -> tuple[int, bytes] | None:
        """A chain's last stored record: (sequence number, MAC)."""
        table = schema.audit_log
        query = (
            select(table.c.seq, table.c.mac)
            .where(table.c.chain == chain)
            .order_by(table.c.seq.desc())
            .limit(1)
        )
        with self._store.reading(connection) as reader:
            row = reader.execute(query).first()
        return None if row is None else (int(row.seq), bytes(row.mac))

    def mac(self, chain: str, seq: int, connection: Connection | None = None) -> bytes | None:
        table = schema.audit_log
        query = select(table.c.mac).where(table.c.chain == chain, table.c.seq == seq)
        with self._store.reading(connection) as reader:
            mac = reader.execute(query).scalar()
        return None if mac is None else bytes(mac)

    def query(
        self,
        *,
        event_name: str | None = None,
        principal: str | None = None,
        error_code: str | None = None,
        since: float | None = None,
        until: float | None = None,
        connection: Connection | None = None,
    ) -> Iterator[Any]:
        """Rows whose record matches every filter given, in event time order.

        The filters apply to the MACed record, never to the indexed columns: editing a
        column can then not hide a record from a query (`audit verify` reports the edit).
        Every row is read; a quick look at the raw text skips most non-matching ones."""
        wanted = {
            name: value
            for name, value in (
                ("event_name", event_name),
                ("principal", principal),
                ("error_code", error_code),
            )
            if value is not None
        }
        hints = [
            f'"{field}":{json.dumps(value)}'
            for field, value in (("eventName", event_name), ("errorCode", error_code))
            if value and value.isascii()
        ]
        table = schema.audit_log
        query = select(table).order_by(table.c.event_time, table.c.chain, table.c.seq)
        with self._store.reading(connection) as reader:
            for row in reader.execute(query):
                if any(hint not in row.record for hint in hints):
                    continue
                fields = indexed(json.loads(row.record))
                if any(fields[name] != value for name, value in wanted.items()):
                    continue
                if since is not None and fields["event_time"] < since:
                    continue
                if until is not None and fields["event_time"] > until:
                    continue
                yield row

    # -- LookupEvents: a bounded window at a time, newest first --------------------------

    def window(
        self,
        *,
        after: tuple[float, str, int] | None,
        since: float | None,
        until: float | None,
        limit: int,
        connection: Connection | None = None,
    ) -> list[Any]:
        """At most ``limit`` rows' positions and indexed columns (not their records), newest
        first: by event time, then chain and sequence number, descending; strictly after the
        position ``after`` (event time, chain, seq) in that order, and within [since, until].

        Walks the event-time index from one end: the work is bounded by ``limit`` (and the
        records of one second, which the chain/seq order sorts), whatever the filters."""
        table = schema.audit_log
        query = select(
            table.c.chain,
            table.c.seq,
            table.c.event_time,
            table.c.event_name,
            table.c.principal,
            table.c.key_arn,
            table.c.error_code,
        )
        if since is not None:
            query = query.where(table.c.event_time >= since)
        if until is not None:
            query = query.where(table.c.event_time <= until)
        if after is not None:
            moment, chain, seq = after
            query = query.where(
                table.c.event_time <= moment,  # the index's range; the rest orders within it
                or_(
                    table.c.event_time < moment,
                    tuple_(table.c.chain, table.c.seq) < tuple_(chain, seq),
                ),
            )
        query = query.order_by(
            table.c.event_time.desc(), table.c.chain.desc(), table.c.seq.desc()
        ).limit(limit)
        with self._store.reading(connection) as reader:
            return list(reader.execute(query))

    def at(
        self, keys: Sequence[tuple[str, int]], *, connection: Connection | None = None
    ) -> dict[tuple[str, int], tuple[str, bytes]]:
        """The (record, MAC) of each row named by (chain, seq) that exists."""
        if not keys:
            return {}
        table = schema.audit_log
        wanted = or_(*(and_(table.c.chain == chain, table.c.seq == seq) for chain, seq in keys))
        query = select(table.c.chain, table.c.seq, table.c.record, table.c.mac).where(wanted)
        with self._store.reading(connection) as reader:
            return {
                (str(row.chain), int(row.seq)): (str(row.record), bytes(row.mac))
                for row in reader.execute(query)
            }

    def macs_at(
        self, keys: Sequence[tuple[str, int]], *, connection: Connection | None = None
    ) -> dict[tuple[str, int], bytes]:
        """The MAC of each row named by (chain, seq) that exists."""
        if not keys:
            return {}
        table = schema.audit_log
        wanted = or_(*(and_(table.c.chain == chain, table.c.seq == seq) for chain, seq in keys))
        query = select(table.c.chain, table.c.seq, table.c.mac).where(wanted)
        with self._store.reading(connection) as reader:
            return {(str(row.chain), int(row.seq)): bytes(row.mac) for row in reader.execute(query)}


# PostgreSQL takes at most 65,535 parameters in one statement
ROWS_PER_STATEMENT = 65_535 // len(schema.audit_log.columns)


class AuditAppender:
    """Appends batches of audit rows on a database connection of its own, without the
    per-statement overhead of SQLAlchemy on the busiest write path. Use it from one thread.

    SQLite: one prepared INSERT per row and one commit per batch, under the writer lock.
    PostgreSQL: one multi-row INSERT in autocommit per batch, which is atomic and durable
    by itself, so a batch costs one round trip to the server (not BEGIN, INSERT, COMMIT)."""

    def __init__(self, engine: Engine, write_lock: WriteLock | NoLock) -> None:
        self._engine = engine
        self._write_lock = write_lock
        compiled = schema.audit_log.insert().compile(dialect=engine.dialect)
        self._sql = str(compiled)
        self._order: list[str] | None = compiled.positiontup
        self._postgres = engine.dialect.name == "postgresql"
        self._columns = [column.name for column in schema.audit_log.columns]
        self._raw: Any = None

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Commit ``rows`` in one transaction; on any failure nothing is written.

        A kept connection may have died since its last batch (a database restart): then
        the batch is tried once more on a fresh one. Were the first commit to have landed
        after all, the retry would collide on the rows' (chain, seq) keys and fail, so a
        record is never written twice."""
        order = self._columns if self._postgres else self._order
        values = [tuple(row[c] for c in order) for row in rows] if order else rows
        reused = self._raw is not None
        try:
            self._commit(values)
        except Exception:
            if not reused:
                raise
            self._commit(values)

    def _connect(self) -> Any:
        raw = self._engine.raw_connection()
        if self._postgres:
            raw.detach()  # ours alone: it never goes back to the pool in autocommit mode
            driver: Any = raw.dbapi_connection
            driver.autocommit = True
        return raw

    def _multi_row_insert(self, rows: int) -> str:
        one = "(" + ", ".join(["%s"] * len(self._columns)) + ")"
        columns = ", ".join(self._columns)
        # names from our schema; every value is a bound parameter
        return f"INSERT INTO audit_log ({columns}) VALUES " + ", ".join([one] * rows)  # noqa: S608

    def _commit(self, values: list[Any]) -> None:
        if self._raw is None:
            self._raw = self._connect()
        with self._write_lock.held():
            held_from = time.perf_counter()
            cursor = self._raw.cursor()
            try:
                if not self._postgres:
                    cursor.execute("BEGIN IMMEDIATE")
                    cursor.executemany(self._sql, values)
                    self._raw.commit()
                elif len(values) <= ROWS_PER_STATEMENT:
                    flat = [value for row in values for value in row]
                    cursor.execute(self._multi_row_insert(len(values)), flat)
                else:  # beyond one statement's parameters: one transaction of several
                    with self._raw.dbapi_connection.transaction():
                        for start in range(0, len(values), ROWS_PER_STATEMENT):
                            chunk = values[start : start + ROWS_PER_STATEMENT]
                            flat = [value for row in chunk for value in row]
                            cursor.execute(self._multi_row_insert(len(chunk)), flat)
            except BaseException:
                self.close()  # rolls back; the next batch starts on a fresh connection
                raise
            finally:
                with contextlib.suppress(Exception):
                    cursor.close()
                metrics.observe_audit_batch(
                    self._engine.dialect.name, len(values), time.perf_counter() - held_from
                )

    def close(self) -> None:
        if self._raw is not None:
            with contextlib.suppress(Exception):
                self._raw.rollback()  # a no-op in autocommit
            with contextlib.suppress(Exception):
                self._raw.close()
            self._raw = None
