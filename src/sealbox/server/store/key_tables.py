"""The key tables: KMS keys with what belongs to each, their materials, aliases, tags and
import tokens (deleting a key deletes those, and its grants, with it).

Readers take an optional connection, mutators the caller's (see
:class:`~sealbox.server.store.repository.Store`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, update

from sealbox.server.store import schema
from sealbox.server.store.records import AliasRecord, KeyRecord, MaterialRecord
from sealbox.server.store.tables import Reading, as_record, as_values


class KeyTables:
    def __init__(self, store: Reading) -> None:
        self._store = store

    # -- keys -------------------------------------------------------------------------

    def insert_key(
        self,
        key: KeyRecord,
        material: MaterialRecord | None,
        tags: Mapping[str, str],
        connection: Connection,
    ) -> None:
        connection.execute(schema.kms_keys.insert().values(**as_values(key)))
        if material is not None:
            connection.execute(schema.key_materials.insert().values(**as_values(material)))
        for tag_key, tag_value in tags.items():
            connection.execute(
                schema.tags.insert().values(key_id=key.key_id, tag_key=tag_key, tag_value=tag_value)
            )

    def get_key(self, key_id: str, connection: Connection | None = None) -> KeyRecord | None:
        query = select(schema.kms_keys).where(schema.kms_keys.c.key_id == key_id)
        with self._store.reading(connection) as reader:
            row = reader.execute(query).first()
        return None if row is None else as_record(KeyRecord, row)

    def list_keys(
        self,
        account: str,
        region: str,
        after: str | None,
        limit: int,
        connection: Connection | None = None,
    ) -> list[KeyRecord]:
        table = schema.kms_keys
        query = select(table).where(and_(table.c.account == account, table.c.region == region))
        if after is not None:
            query = query.where(table.c.key_id > after)
        with self._store.reading(connection) as reader:
            rows = reader.execute(query.order_by(table.c.key_id).limit(limit))
            return [as_record(KeyRecord, row) for row in rows]

    def copies(self, public_id: str, connection: Connection | None = None) -> list[KeyRecord]:
        """Every region's copy of the multi-Region key ``public_id`` (mrk-…), by region."""
        table = schema.kms_keys
        query = select(table).where(table.c.key_id.startswith(public_id + "@", autoescape=True))
        with self._store.reading(connection) as reader:
            rows = reader.execute(query.order_by(table.c.region))
            return [as_record(KeyRecord, row) for row in rows]

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

    # -- keys that time alone changes (see lifecycle) ----------------------------------

    def due_for_deletion(self, now: float, connection: Connection | None = None) -> list[str]:
        table = schema.kms_keys
        query = select(table.c.key_id).where(
            and_(table.c.key_state == "PendingDeletion", table.c.deletion_date <= now)
        )
        return self._key_ids(query, connection)

    def due_for_rotation(self, now: float, connection: Connection | None = None) -> list[str]:
        table = schema.kms_keys
        query = select(table.c.key_id).where(
            and_(
                table.c.rotation_enabled,
                table.c.key_state == "Enabled",
                table.c.next_rotation <= now,
            )
        )
        return self._key_ids(query, connection)

    def with_expiring_material(self, now: float, connection: Connection | None = None) -> list[str]:
        table = schema.key_materials
        query = (
            select(table.c.key_id)
            .where(and_(table.c.valid_to <= now, table.c.wrapped != b""))
            .distinct()
        )
        return self._key_ids(query, connection)

    def _key_ids(self, query: Any, connection: Connection | None) -> list[str]:
        with self._store.reading(connection) as reader:
            return [str(key_id) for key_id in reader.execute(query).scalars()]

    # -- materials ----------------------------------------------------------------------

    def materials(self, key_id: str, connection: Connection | None = None) -> list[MaterialRecord]:
        query = (
            select(schema.key_materials)
            .where(schema.key_materials.c.key_id == key_id)
            .order_by(schema.key_materials.c.position)
        )
        with self._store.reading(connection) as reader:
            return [as_record(MaterialRecord, row) for row in reader.execute(query)]

    def insert_material(self, record: MaterialRecord, connection: Connection) -> None:
        """Add a material after the key's others (its position is assigned here)."""
        values = as_values(record)
        values["position"] = self.next_material_position(record.key_id, connection)
        connection.execute(schema.key_materials.insert().values(**values))

    def next_material_position(self, key_id: str, connection: Connection | None = None) -> int:
        table = schema.key_materials
        with self._store.reading(connection) as reader:
            last = reader.execute(
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

    # -- aliases ------------------------------------------------------------------------

    def get_alias(
        self, account: str, region: str, name: str, connection: Connection | None = None
    ) -> AliasRecord | None:
        query = select(schema.aliases).where(_alias(account, region, name))
        with self._store.reading(connection) as reader:
            row = reader.execute(query).first()
        return None if row is None else as_record(AliasRecord, row)

    def list_aliases(
        self,
        account: str,
        region: str,
        target: str | None,
        after: str | None,
        limit: int,
        connection: Connection | None = None,
    ) -> list[AliasRecord]:
        table = schema.aliases
        query = select(table).where(and_(table.c.account == account, table.c.region == region))
        if target is not None:
            query = query.where(table.c.target_key_id == target)
        if after is not None:
            query = query.where(table.c.alias_name > after)
        return self._aliases(query.order_by(table.c.alias_name).limit(limit), connection)

    def aliases_named(self, name: str, connection: Connection | None = None) -> list[AliasRecord]:
        """Every alias called ``name`` (``alias/…``), in any account and region."""
        table = schema.aliases
        query = select(table).where(table.c.alias_name == name)
        return self._aliases(query.order_by(table.c.account, table.c.region), connection)

    def aliases_of(self, key_id: str, connection: Connection | None = None) -> list[AliasRecord]:
        query = select(schema.aliases).where(schema.aliases.c.target_key_id == key_id)
        return self._aliases(query, connection)

    def _aliases(self, query: Any, connection: Connection | None) -> list[AliasRecord]:
        with self._store.reading(connection) as reader:
            return [as_record(AliasRecord, row) for row in reader.execute(query)]

    def insert_alias(self, record: AliasRecord, connection: Connection) -> None:
        connection.execute(schema.aliases.insert().values(**as_values(record)))

    def retarget_alias(
        self, account: str, region: str, name: str, target: str, now: float, connection: Connection
    ) -> None:
        connection.execute(
            update(schema.aliases)
            .where(_alias(account, region, name))
            .values(target_key_id=target, updated_at=now)
        )

    def delete_alias(self, account: str, region: str, name: str, connection: Connection) -> bool:
        result = connection.execute(delete(schema.aliases).where(_alias(account, region, name)))
        return bool(result.rowcount)

    # -- tags ---------------------------------------------------------------------------

    def tags(self, key_id: str, connection: Connection | None = None) -> dict[str, str]:
        table = schema.tags
        query = select(table.c.tag_key, table.c.tag_value).where(table.c.key_id == key_id)
        with self._store.reading(connection) as reader:
            rows = list(reader.execute(query.order_by(table.c.tag_key)))
        return {str(k): str(v) for k, v in rows}

    def put_tags(self, key_id: str, tags: Mapping[str, str], connection: Connection) -> None:
        table = schema.tags
        for tag_key, tag_value in tags.items():
            connection.execute(
                delete(table).where(and_(table.c.key_id == key_id, table.c.tag_key == tag_key))
            )
            connection.execute(
                table.insert().values(key_id=key_id, tag_key=tag_key, tag_value=tag_value)
            )

    def remove_tags(self, key_id: str, tag_keys: list[str], connection: Connection) -> None:
        table = schema.tags
        connection.execute(
            delete(table).where(and_(table.c.key_id == key_id, table.c.tag_key.in_(tag_keys)))
        )

    # -- import tokens ------------------------------------------------------------------

    def insert_import_token(
        self,
        token: str,
        key_id: str,
        algorithm: str,
        wrapped_private_key: bytes,
        valid_to: float,
        connection: Connection,
    ) -> None:
        connection.execute(
            schema.import_tokens.insert().values(
                token=token,
                key_id=key_id,
                algorithm=algorithm,
                wrapped_private_key=wrapped_private_key,
                valid_to=valid_to,
            )
        )

    def import_token(self, token: str, connection: Connection | None = None) -> Any:
        query = select(schema.import_tokens).where(schema.import_tokens.c.token == token)
        with self._store.reading(connection) as reader:
            return reader.execute(query).first()


def _alias(account: str, region: str, name: str) -> Any:
    """The condition naming one alias."""
    table = schema.aliases
    return and_(table.c.account == account, table.c.region == region, table.c.alias_name == name)
