"""Reads and writes of the store, in short transactions.

Every write goes through :meth:`Store.write`, which also bumps the store's
``generation``. Each service worker compares the generation (cheaply, see
:class:`SqliteChangeWatch` and :class:`PostgresChangeWatch`) before every request
and drops its caches when it moved, so a change made through any worker, node or
the admin CLI is in force on the next request everywhere.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Integer, Text, and_, cast, delete, func, select, update
from sqlalchemy.exc import OperationalError

from sealbox.server.access.grant_rules import Grant
from sealbox.server.store import schema
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
from sealbox.server.store.locking import NoLock, WriteLock
from sealbox.server.store.migrations import migrate
from sealbox.server.store.records import AccessKeyRecord, AliasRecord, KeyRecord, MaterialRecord


class ChangeWatch(Protocol):
    def changed(self) -> bool:
        """True if the store's generation moved since the last call."""
        ...


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


def _record(cls: Any, row: Any) -> Any:
    return cls(**row._mapping)


class Store:
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
        self.watch = watch
        self.write_lock = write_lock or NoLock()
        self._read_options = dict(read_options)
        self._serialize_writers = serialize_writers

    @contextlib.contextmanager
    def _begin_write(self) -> Iterator[Connection]:
        with self.write_lock.held(), self.engine.begin() as connection:
            if self._serialize_writers is not None:
                self._serialize_writers(connection)
            yield connection

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
        close_watch = getattr(self.watch, "close", None)
        if close_watch is not None:
            close_watch()
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

    # -- meta -------------------------------------------------------------------

    def get_meta(self, name: str) -> str | None:
        with self.read() as connection:
            value = connection.execute(
                select(schema.meta.c.value).where(schema.meta.c.name == name)
            ).scalar()
        return None if value is None else str(value)

    def put_meta(self, values: Mapping[str, str]) -> None:
        with self.write() as connection:
            for name, value in values.items():
                connection.execute(delete(schema.meta).where(schema.meta.c.name == name))
                connection.execute(schema.meta.insert().values(name=name, value=value))

    def put_meta_if_absent(self, name: str, value: str) -> str:
        """Set ``name`` unless it is set (one transaction: nodes racing agree); its value."""
        with self.write() as connection:
            current = connection.execute(
                select(schema.meta.c.value).where(schema.meta.c.name == name)
            ).scalar()
            if current is not None:
                return str(current)
            connection.execute(schema.meta.insert().values(name=name, value=value))
        return value

    def is_empty(self) -> bool:
        """No key and no access key: a root key may be created for it."""
        with self.read() as connection:
            keys = connection.execute(select(func.count()).select_from(schema.kms_keys)).scalar()
            principals = connection.execute(
                select(func.count()).select_from(schema.access_keys)
            ).scalar()
        return not keys and not principals

    # -- access keys --------------------------------------------------------------

    def insert_access_key(self, record: AccessKeyRecord) -> None:
        with self.write() as connection:
            connection.execute(schema.access_keys.insert().values(**_fields(record)))

    def access_keys(self, account: str | None = None) -> list[AccessKeyRecord]:
        query = select(schema.access_keys).order_by(
            schema.access_keys.c.account, schema.access_keys.c.user_name
        )
        if account is not None:
            query = query.where(schema.access_keys.c.account == account)
        with self.read() as connection:
            return [_record(AccessKeyRecord, row) for row in connection.execute(query)]

    def get_access_key(self, access_key_id: str) -> AccessKeyRecord | None:
        query = select(schema.access_keys).where(
            schema.access_keys.c.access_key_id == access_key_id
        )
        with self.read() as connection:
            row = connection.execute(query).first()
        return None if row is None else _record(AccessKeyRecord, row)

    def set_access_key_status(self, access_key_id: str, status: str) -> bool:
        with self.write() as connection:
            result = connection.execute(
                update(schema.access_keys)
                .where(schema.access_keys.c.access_key_id == access_key_id)
                .values(status=status)
            )
        return bool(result.rowcount)

    def delete_access_key(self, access_key_id: str) -> bool:
        with self.write() as connection:
            result = connection.execute(
                delete(schema.access_keys).where(
                    schema.access_keys.c.access_key_id == access_key_id
                )
            )
        return bool(result.rowcount)

    # -- keys -------------------------------------------------------------------------

    def insert_key(
        self, key: KeyRecord, material: MaterialRecord | None, tags: Mapping[str, str]
    ) -> None:
        with self.write() as connection:
            connection.execute(schema.kms_keys.insert().values(**_fields(key)))
            if material is not None:
                connection.execute(schema.key_materials.insert().values(**_fields(material)))
            for tag_key, tag_value in tags.items():
                connection.execute(
                    schema.tags.insert().values(
                        key_id=key.key_id, tag_key=tag_key, tag_value=tag_value
                    )
                )

    def get_key(self, key_id: str, connection: Connection | None = None) -> KeyRecord | None:
        query = select(schema.kms_keys).where(schema.kms_keys.c.key_id == key_id)
        if connection is not None:
            row = connection.execute(query).first()
        else:
            with self.read() as reader:
                row = reader.execute(query).first()
        return None if row is None else _record(KeyRecord, row)

    def materials(self, key_id: str, connection: Connection | None = None) -> list[MaterialRecord]:
        query = (
            select(schema.key_materials)
            .where(schema.key_materials.c.key_id == key_id)
            .order_by(schema.key_materials.c.position)
        )
        if connection is not None:
            return [_record(MaterialRecord, row) for row in connection.execute(query)]
        with self.read() as reader:
            return [_record(MaterialRecord, row) for row in reader.execute(query)]

    def list_keys(
        self, account: str, region: str, after: str | None, limit: int
    ) -> list[KeyRecord]:
        table = schema.kms_keys
        query = select(table).where(and_(table.c.account == account, table.c.region == region))
        if after is not None:
            query = query.where(table.c.key_id > after)
        with self.read() as connection:
            rows = connection.execute(query.order_by(table.c.key_id).limit(limit))
            return [_record(KeyRecord, row) for row in rows]

    def update_key(self, key_id: str, connection: Connection, **values: Any) -> None:
        connection.execute(
            update(schema.kms_keys).where(schema.kms_keys.c.key_id == key_id).values(**values)
        )

    def delete_key(self, key_id: str, connection: Connection) -> None:
        for table in (
            schema.tags,
            schema.aliases,
            schema.key_materials,
            schema.grants,
            schema.import_tokens,
        ):
            column = table.c.target_key_id if table is schema.aliases else table.c.key_id
            connection.execute(delete(table).where(column == key_id))
        connection.execute(delete(schema.kms_keys).where(schema.kms_keys.c.key_id == key_id))

    def keys_due_for_deletion(self, now: float) -> list[str]:
        table = schema.kms_keys
        query = select(table.c.key_id).where(
            and_(table.c.key_state == "PendingDeletion", table.c.deletion_date <= now)
        )
        with self.read() as connection:
            return [str(key_id) for key_id in connection.execute(query).scalars()]

    # -- aliases ----------------------------------------------------------------------

    def get_alias(
        self, account: str, region: str, name: str, connection: Connection | None = None
    ) -> AliasRecord | None:
        table = schema.aliases
        query = select(table).where(
            and_(table.c.account == account, table.c.region == region, table.c.alias_name == name)
        )
        if connection is not None:
            row = connection.execute(query).first()
        else:
            with self.read() as reader:
                row = reader.execute(query).first()
        return None if row is None else _record(AliasRecord, row)

    def list_aliases(
        self, account: str, region: str, target: str | None, after: str | None, limit: int
    ) -> list[AliasRecord]:
        table = schema.aliases
        query = select(table).where(and_(table.c.account == account, table.c.region == region))
        if target is not None:
            query = query.where(table.c.target_key_id == target)
        if after is not None:
            query = query.where(table.c.alias_name > after)
        with self.read() as connection:
            rows = connection.execute(query.order_by(table.c.alias_name).limit(limit))
            return [_record(AliasRecord, row) for row in rows]

    def insert_alias(self, record: AliasRecord, connection: Connection) -> None:
        connection.execute(schema.aliases.insert().values(**_fields(record)))

    def retarget_alias(
        self, account: str, region: str, name: str, target: str, now: float, connection: Connection
    ) -> None:
        table = schema.aliases
        connection.execute(
            update(table)
            .where(
                and_(
                    table.c.account == account, table.c.region == region, table.c.alias_name == name
                )
            )
            .values(target_key_id=target, updated_at=now)
        )

    def delete_alias(self, account: str, region: str, name: str, connection: Connection) -> bool:
        table = schema.aliases
        result = connection.execute(
            delete(table).where(
                and_(
                    table.c.account == account, table.c.region == region, table.c.alias_name == name
                )
            )
        )
        return bool(result.rowcount)

    def aliases_named(self, name: str) -> list[AliasRecord]:
        """Every alias called ``name`` (``alias/…``), in any account and region."""
        table = schema.aliases
        query = select(table).where(table.c.alias_name == name)
        with self.read() as connection:
            rows = connection.execute(query.order_by(table.c.account, table.c.region))
            return [_record(AliasRecord, row) for row in rows]

    def aliases_of(self, key_id: str) -> list[AliasRecord]:
        query = select(schema.aliases).where(schema.aliases.c.target_key_id == key_id)
        with self.read() as connection:
            return [_record(AliasRecord, row) for row in connection.execute(query)]

    # -- tags ---------------------------------------------------------------------------

    def tags(self, key_id: str, connection: Connection | None = None) -> dict[str, str]:
        query = select(schema.tags.c.tag_key, schema.tags.c.tag_value).where(
            schema.tags.c.key_id == key_id
        )
        if connection is not None:
            rows = list(connection.execute(query.order_by(schema.tags.c.tag_key)))
        else:
            with self.read() as reader:
                rows = list(reader.execute(query.order_by(schema.tags.c.tag_key)))
        return {str(k): str(v) for k, v in rows}

    def put_tags(self, key_id: str, tags: Mapping[str, str], connection: Connection) -> None:
        for tag_key, tag_value in tags.items():
            connection.execute(
                delete(schema.tags).where(
                    and_(schema.tags.c.key_id == key_id, schema.tags.c.tag_key == tag_key)
                )
            )
            connection.execute(
                schema.tags.insert().values(key_id=key_id, tag_key=tag_key, tag_value=tag_value)
            )

    def remove_tags(self, key_id: str, tag_keys: list[str], connection: Connection) -> None:
        connection.execute(
            delete(schema.tags).where(
                and_(schema.tags.c.key_id == key_id, schema.tags.c.tag_key.in_(tag_keys))
            )
        )

    # -- materials (schema 2) -----------------------------------------------------------

    def insert_material(self, record: MaterialRecord, connection: Connection) -> None:
        """Add a material after the key's others (its position is assigned here)."""
        values = _fields(record)
        values["position"] = self.next_material_position(record.key_id, connection)
        connection.execute(schema.key_materials.insert().values(**values))

    def next_material_position(self, key_id: str, connection: Connection) -> int:
        table = schema.key_materials
        last = connection.execute(
            select(func.max(table.c.position)).where(table.c.key_id == key_id)
        ).scalar()
        return 0 if last is None else int(last) + 1

    def update_material(
        self, key_id: str, material_id: str, connection: Connection, **values: Any
    ) -> None:
        table = schema.key_materials
        connection.execute(
            update(table)
            .where(and_(table.c.key_id == key_id, table.c.material_id == material_id))
            .values(**values)
        )

    def keys_due_for_rotation(self, now: float) -> list[str]:
        table = schema.kms_keys
        query = select(table.c.key_id).where(
            and_(
                table.c.rotation_enabled,
                table.c.key_state == "Enabled",
                table.c.next_rotation <= now,
            )
        )
        with self.read() as connection:
            return [str(key_id) for key_id in connection.execute(query).scalars()]

    def keys_with_expiring_material(self, now: float) -> list[str]:
        table = schema.key_materials
        query = (
            select(table.c.key_id)
            .where(and_(table.c.valid_to <= now, table.c.wrapped != b""))
            .distinct()
        )
        with self.read() as connection:
            return [str(key_id) for key_id in connection.execute(query).scalars()]

    # -- grants -------------------------------------------------------------------------

    def insert_grant(self, grant: Grant, connection: Connection) -> None:
        connection.execute(schema.grants.insert().values(**_grant_row(grant)))

    def grants_of(self, key_id: str, connection: Connection | None = None) -> list[Grant]:
        query = (
            select(schema.grants)
            .where(schema.grants.c.key_id == key_id)
            .order_by(schema.grants.c.grant_id)
        )
        return self._grants(query, connection)

    def grants_retirable_by(self, principal: str) -> list[Grant]:
        query = (
            select(schema.grants)
            .where(schema.grants.c.retiring == principal)
            .order_by(schema.grants.c.grant_id)
        )
        return self._grants(query, None)

    def grant_by_token(self, token: str) -> Grant | None:
        found = self._grants(select(schema.grants).where(schema.grants.c.token == token), None)
        return found[0] if found else None

    def delete_grant(self, grant_id: str, connection: Connection) -> bool:
        result = connection.execute(
            delete(schema.grants).where(schema.grants.c.grant_id == grant_id)
        )
        return bool(result.rowcount)

    def _grants(self, query: Any, connection: Connection | None) -> list[Grant]:
        if connection is not None:
            rows = list(connection.execute(query))
        else:
            with self.read() as reader:
                rows = list(reader.execute(query))
        return [_grant(row) for row in rows]

    # -- identity policies ----------------------------------------------------------------

    def put_user_policy(
        self, account: str, user_name: str, name: str, document: str, now: float
    ) -> None:
        table = schema.user_policies
        with self.write() as connection:
            connection.execute(
                delete(table).where(
                    and_(
                        table.c.account == account,
                        table.c.user_name == user_name,
                        table.c.policy_name == name,
                    )
                )
            )
            connection.execute(
                table.insert().values(
                    account=account,
                    user_name=user_name,
                    policy_name=name,
                    document=document,
                    updated_at=now,
                )
            )

    def user_policies(self, account: str, user_name: str) -> list[tuple[str, str]]:
        table = schema.user_policies
        query = (
            select(table.c.policy_name, table.c.document)
            .where(and_(table.c.account == account, table.c.user_name == user_name))
            .order_by(table.c.policy_name)
        )
        with self.read() as connection:
            return [(str(name), str(document)) for name, document in connection.execute(query)]

    def delete_user_policy(self, account: str, user_name: str, name: str) -> bool:
        table = schema.user_policies
        with self.write() as connection:
            result = connection.execute(
                delete(table).where(
                    and_(
                        table.c.account == account,
                        table.c.user_name == user_name,
                        table.c.policy_name == name,
                    )
                )
            )
        return bool(result.rowcount)

    # -- import tokens --------------------------------------------------------------------

    def insert_import_token(
        self, token: str, key_id: str, algorithm: str, wrapped_private_key: bytes, valid_to: float
    ) -> None:
        with self.write() as connection:
            connection.execute(
                schema.import_tokens.insert().values(
                    token=token,
                    key_id=key_id,
                    algorithm=algorithm,
                    wrapped_private_key=wrapped_private_key,
                    valid_to=valid_to,
                )
            )

    def import_token(self, token: str) -> Any:
        with self.read() as connection:
            return connection.execute(
                select(schema.import_tokens).where(schema.import_tokens.c.token == token)
            ).first()

    # -- audit log ------------------------------------------------------------------------

    def append_audit(self, rows: list[dict[str, Any]], connection: Connection) -> None:
        connection.execute(schema.audit_log.insert(), rows)

    def audit_appender(self) -> AuditAppender:
        return AuditAppender(self)

    def audit_chains(self) -> list[str]:
        with self.read() as connection:
            return [
                str(c)
                for c in connection.execute(select(schema.audit_log.c.chain).distinct()).scalars()
            ]

    def audit_rows(self, chain: str | None = None) -> Iterator[Any]:
        table = schema.audit_log
        query = select(table).order_by(table.c.chain, table.c.seq)
        if chain is not None:
            query = query.where(table.c.chain == chain)
        with self.read() as connection:
            yield from connection.execute(query)

    def audit_head(self, chain: str) -> tuple[int, bytes] | None:
        """A chain's last stored record: (sequence number, MAC)."""
        table = schema.audit_log
        with self.read() as connection:
            row = connection.execute(
                select(table.c.seq, table.c.mac)
                .where(table.c.chain == chain)
                .order_by(table.c.seq.desc())
                .limit(1)
            ).first()
        return None if row is None else (int(row.seq), bytes(row.mac))

    def audit_mac(self, chain: str, seq: int) -> bytes | None:
        table = schema.audit_log
        with self.read() as connection:
            mac = connection.execute(
                select(table.c.mac).where(table.c.chain == chain, table.c.seq == seq)
            ).scalar()
        return None if mac is None else bytes(mac)

    def query_audit(
        self,
        *,
        event_name: str | None = None,
        principal: str | None = None,
        error_code: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> Iterator[Any]:
        """Rows whose record matches every filter given, in event time order.

        The filters apply to the MACed record, never to the indexed columns: editing a
        column can then not hide a record from a query (`audit verify` reports the edit).
        Every row is read; a quick look at the raw text skips most non-matching ones."""
        from sealbox.server.audit.records import indexed

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
        with self.read() as connection:
            for row in connection.execute(query):
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


class AuditAppender:
    """Appends batches of audit rows on a database connection of its own: one prepared
    INSERT and one commit per batch, without the per-statement overhead of SQLAlchemy
    on the busiest write path. Use it from one thread."""

    def __init__(self, store: Store) -> None:
        self._store = store
        compiled = schema.audit_log.insert().compile(dialect=store.engine.dialect)
        self._sql = str(compiled)
        self._order: list[str] | None = compiled.positiontup
        self._begin = "BEGIN IMMEDIATE" if store.engine.dialect.name == "sqlite" else None
        self._raw: Any = None

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Commit ``rows`` in one transaction; on any failure nothing is written.

        A kept connection may have died since its last batch (a database restart): then
        the batch is tried once more on a fresh one. Were the first commit to have landed
        after all, the retry would collide on the rows' (chain, seq) keys and fail, so a
        record is never written twice."""
        order = self._order
        values = [tuple(row[c] for c in order) for row in rows] if order else rows
        reused = self._raw is not None
        try:
            self._commit(values)
        except Exception:
            if not reused:
                raise
            self._commit(values)

    def _commit(self, values: list[Any]) -> None:
        if self._raw is None:
            self._raw = self._store.engine.raw_connection()
        with self._store.write_lock.held():
            cursor = self._raw.cursor()
            try:
                if self._begin is not None:
                    cursor.execute(self._begin)
                cursor.executemany(self._sql, values)
                self._raw.commit()
            except BaseException:
                self.close()  # rolls back; the next batch starts on a fresh connection
                raise
            finally:
                with contextlib.suppress(Exception):
                    cursor.close()

    def close(self) -> None:
        if self._raw is not None:
            with contextlib.suppress(Exception):
                self._raw.rollback()
            with contextlib.suppress(Exception):
                self._raw.close()
            self._raw = None


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


def _grant_row(grant: Grant) -> dict[str, Any]:
    return {
        "grant_id": grant.grant_id,
        "key_id": grant.key_id,
        "name": grant.name,
        "grantee": grant.grantee,
        "retiring": grant.retiring,
        "operations": json.dumps(sorted(grant.operations)),
        "context_subset": None
        if grant.context_subset is None
        else json.dumps(dict(grant.context_subset)),
        "context_equals": None
        if grant.context_equals is None
        else json.dumps(dict(grant.context_equals)),
        "issuing_account": grant.issuing_account,
        "created_at": grant.created_at,
        "token": grant.token,
    }


def _grant(row: Any) -> Grant:
    values = row._mapping
    return Grant(
        grant_id=values["grant_id"],
        key_id=values["key_id"],
        name=values["name"],
        grantee=values["grantee"],
        retiring=values["retiring"],
        operations=frozenset(json.loads(values["operations"])),
        context_subset=None
        if values["context_subset"] is None
        else json.loads(values["context_subset"]),
        context_equals=None
        if values["context_equals"] is None
        else json.loads(values["context_equals"]),
        issuing_account=values["issuing_account"],
        created_at=values["created_at"],
        token=values["token"],
    )


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}
