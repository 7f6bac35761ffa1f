"""Versioned schema migrations.

A new store is created at the latest version in one step. An older store is
brought forward by the numbered steps in ``UPGRADES``, each in the same
transaction as the version bump, so a crash leaves either the old or the new
schema. Transactions begin IMMEDIATE, so nodes starting together migrate one
at a time and the later ones find nothing left to do.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select

from sealbox.server.store import schema
from sealbox.server.store.engine import StoreError

SCHEMA_VERSION = 1

# UPGRADES[n] takes a store from version n to version n + 1.
UPGRADES: dict[int, Callable[[Connection], None]] = {}


def _version(connection: Connection) -> int | None:
    if not inspect(connection).has_table("meta"):
        return None
    value = connection.execute(
        select(schema.meta.c.value).where(schema.meta.c.name == "schema_version")
    ).scalar()
    return int(value) if value is not None else None


def migrate(engine: Engine) -> int:
    """Create or upgrade the schema; return the version found before (0 for a new store)."""
    with engine.begin() as connection:
        found = _version(connection)
        if found is None:
            schema.metadata.create_all(connection)
            connection.execute(
                schema.meta.insert(),
                [
                    {"name": "schema_version", "value": str(SCHEMA_VERSION)},
                    {"name": "generation", "value": "0"},
                ],
            )
            return 0
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"the store has schema version {found}, newer than this Sealbox's "
                f"({SCHEMA_VERSION}); upgrade Sealbox"
            )
        for version in range(found, SCHEMA_VERSION):
            UPGRADES[version](connection)
        connection.execute(
            schema.meta.update()
            .where(schema.meta.c.name == "schema_version")
            .values(value=str(SCHEMA_VERSION))
        )
        return found
