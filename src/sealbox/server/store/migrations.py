"""Versioned schema migrations.

A new store is created at the latest version in one step. An older store is
brought forward by the numbered steps in ``UPGRADES``, each in the same
transaction as the version bump, so a crash leaves either the old or the new
schema. Transactions begin IMMEDIATE, so nodes starting together migrate one
at a time and the later ones find nothing left to do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select

from sealbox.server.store import schema
from sealbox.server.store.engine import StoreError

SCHEMA_VERSION = 3

ADMIN_POLICY_NAME = "SealboxAdministrator"
ADMIN_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
    }
)


def _to_v2(connection: Connection) -> None:
    """Rotation and import columns; grants, identity policies, import tokens and the audit
    log. Administrators get the identity policy that now carries their rights."""
    columns = {
        "kms_keys": [
            "rotation_enabled BOOLEAN NOT NULL DEFAULT FALSE",
            "rotation_period INTEGER",
            "next_rotation FLOAT",
            "on_demand_rotations INTEGER NOT NULL DEFAULT 0",
        ],
        "key_materials": [
            "origin VARCHAR(16) NOT NULL DEFAULT 'AWS_KMS'",
            "rotation_type VARCHAR(16)",
            "pending_rotation BOOLEAN NOT NULL DEFAULT FALSE",
            "expiration_model VARCHAR(32)",
            "valid_to FLOAT",
            "description TEXT",
            "position INTEGER NOT NULL DEFAULT 0",
        ],
    }
    for table, definitions in columns.items():
        for definition in definitions:
            connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {definition}")
    connection.exec_driver_sql("CREATE INDEX kms_keys_by_next_rotation ON kms_keys (next_rotation)")
    schema.metadata.create_all(
        connection,
        tables=[schema.grants, schema.user_policies, schema.import_tokens, schema.audit_log],
    )
    admins = connection.execute(
        select(schema.access_keys.c.account, schema.access_keys.c.user_name).where(
            schema.access_keys.c.admin
        )
    ).all()
    for account, user_name in set(admins):
        connection.execute(
            schema.user_policies.insert().values(
                account=account,
                user_name=user_name,
                policy_name=ADMIN_POLICY_NAME,
                document=ADMIN_POLICY,
                updated_at=time.time(),
            )
        )


def _to_v3(connection: Connection) -> None:
    """Who manages a key (CUSTOMER, or AWS for the keys behind the alias/aws/ aliases) and
    multi-Region keys: a primary region, and row ids long enough for "mrk-…@region"
    (PostgreSQL enforces a VARCHAR's length; SQLite does not)."""
    connection.exec_driver_sql(
        "ALTER TABLE kms_keys ADD COLUMN key_manager VARCHAR(16) NOT NULL DEFAULT 'CUSTOMER'"
    )
    connection.exec_driver_sql("ALTER TABLE kms_keys ADD COLUMN primary_region VARCHAR(32)")
    if connection.dialect.name == "postgresql":
        for table, column in _KEY_ID_COLUMNS:
            connection.exec_driver_sql(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE VARCHAR({schema.KEY_ID_LENGTH})"
            )


_KEY_ID_COLUMNS = (
    ("kms_keys", "key_id"),
    ("key_materials", "key_id"),
    ("aliases", "target_key_id"),
    ("tags", "key_id"),
    ("grants", "key_id"),
    ("import_tokens", "key_id"),
)


# UPGRADES[n] takes a store from version n to version n + 1.
UPGRADES: dict[int, Callable[[Connection], None]] = {1: _to_v2, 2: _to_v3}


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
