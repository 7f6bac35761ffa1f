"""The grants table: grants as :class:`~sealbox.server.access.grant_rules.Grant` values
(their operations and constraints are stored as JSON).

Readers take an optional connection, mutators the caller's (see
:class:`~sealbox.server.store.repository.Store`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, select

from sealbox.server.access.grant_rules import Grant
from sealbox.server.store import schema
from sealbox.server.store.tables import Reading


class GrantTable:
    def __init__(self, store: Reading) -> None:
        self._store = store

    def insert(self, grant: Grant, connection: Connection) -> None:
        connection.execute(schema.grants.insert().values(**_grant_row(grant)))

    def of_key(self, key_id: str, connection: Connection | None = None) -> list[Grant]:
        table = schema.grants
        query = select(table).where(table.c.key_id == key_id).order_by(table.c.grant_id)
        return self._grants(query, connection)

    def retirable_by(self, principal: str, connection: Connection | None = None) -> list[Grant]:
        table = schema.grants
        query = select(table).where(table.c.retiring == principal).order_by(table.c.grant_id)
        return self._grants(query, connection)

    def by_token(self, token: str, connection: Connection | None = None) -> Grant | None:
        query = select(schema.grants).where(schema.grants.c.token == token)
        found = self._grants(query, connection)
        return found[0] if found else None

    def delete(self, grant_id: str, connection: Connection) -> bool:
        result = connection.execute(
            delete(schema.grants).where(schema.grants.c.grant_id == grant_id)
        )
        return bool(result.rowcount)

    def _grants(self, query: Any, connection: Connection | None) -> list[Grant]:
        with self._store.reading(connection) as reader:
            rows = list(reader.execute(query))
        return [_grant(row) for row in rows]


def _grant_row(grant: Grant) -> dict[str, Any]:
    return {
        "grant_id": grant.grant_id,
        "key_id": grant.key_id,
        "name": grant.name,
        "grantee": grant.grantee,
        "retiring": grant.retiring,
        "operations": json.dumps(sorted(grant.operations)),
        "context_subset": _json(grant.context_subset),
        "context_equals": _json(grant.context_equals),
        "issuing_account": grant.issuing_account,
        "created_at": grant.created_at,
        "token": grant.token,
    }


def _json(mapping: Mapping[str, str] | None) -> str | None:
    return None if mapping is None else json.dumps(dict(mapping))


def _grant(row: Any) -> Grant:
    values = row._mapping
    return Grant(
        grant_id=values["grant_id"],
        key_id=values["key_id"],
        name=values["name"],
        grantee=values["grantee"],
        retiring=values["retiring"],
        operations=frozenset(json.loads(values["operations"])),
        context_subset=_parsed(values["context_subset"]),
        context_equals=_parsed(values["context_equals"]),
        issuing_account=values["issuing_account"],
        created_at=values["created_at"],
        token=values["token"],
    )


def _parsed(text: str | None) -> Any:
    return None if text is None else json.loads(text)
