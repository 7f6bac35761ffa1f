"""Reads and writes of the store, in short transactions.

Every write goes through :meth:`Store.write`, which also bumps the store's
``generation``. Each service worker compares the generation (cheaply, see
:class:`SqliteChangeWatch`) before every request and drops its caches when it
moved, so a change made through any worker or the admin CLI is in force on the
next request everywhere.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Integer, Text, and_, cast, delete, func, select, update

from sealbox.server.store import schema
from sealbox.server.store.engine import SQLITE_FILE, sqlite_engine
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


def _record(cls: Any, row: Any) -> Any:
    return cls(**row._mapping)


class Store:
    def __init__(self, engine: Engine, watch: ChangeWatch) -> None:
        self.engine = engine
        self.watch = watch

    @classmethod
    def open_sqlite(cls, data_dir: Path) -> Store:
        engine = sqlite_engine(data_dir)
        migrate(engine)
        return cls(engine, SqliteChangeWatch(data_dir / SQLITE_FILE))

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions ---------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction that also bumps the generation (all or nothing)."""
        with self.engine.begin() as connection:
            yield connection
            connection.execute(
                update(schema.meta)
                .where(schema.meta.c.name == "generation")
                .values(value=cast(cast(schema.meta.c.value, Integer) + 1, Text))
            )

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
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

    def materials(self, key_id: str) -> list[MaterialRecord]:
        query = (
            select(schema.key_materials)
            .where(schema.key_materials.c.key_id == key_id)
            .order_by(schema.key_materials.c.created_at)
        )
        with self.read() as connection:
            return [_record(MaterialRecord, row) for row in connection.execute(query)]

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
        for table in (schema.tags, schema.aliases, schema.key_materials):
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


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}
