"""The identity tables: access keys (who calls) and the identity policies attached to
their users (what they may do besides what key policies and grants allow).

Readers take an optional connection, mutators the caller's (see
:class:`~sealbox.server.store.repository.Store`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, select, update

from sealbox.server.store import schema
from sealbox.server.store.records import AccessKeyRecord
from sealbox.server.store.tables import Reading, as_record, as_values


class IdentityTables:
    def __init__(self, store: Reading) -> None:
        self._store = store

    # -- access keys ----------------------------------------------------------------------

    def insert_access_key(self, record: AccessKeyRecord, connection: Connection) -> None:
        connection.execute(schema.access_keys.insert().values(**as_values(record)))

    def access_keys(
        self, account: str | None = None, connection: Connection | None = None
    ) -> list[AccessKeyRecord]:
        table = schema.access_keys
        query = select(table).order_by(table.c.account, table.c.user_name)
        if account is not None:
            query = query.where(table.c.account == account)
        with self._store.reading(connection) as reader:
            return [as_record(AccessKeyRecord, row) for row in reader.execute(query)]

    def get_access_key(
        self, access_key_id: str, connection: Connection | None = None
    ) -> AccessKeyRecord | None:
        table = schema.access_keys
        query = select(table).where(table.c.access_key_id == access_key_id)
        with self._store.reading(connection) as reader:
            row = reader.execute(query).first()
        return None if row is None else as_record(AccessKeyRecord, row)

    def set_access_key_status(
        self, access_key_id: str, status: str, connection: Connection
    ) -> bool:
        table = schema.access_keys
        result = connection.execute(
            update(table).where(table.c.access_key_id == access_key_id).values(status=status)
        )
        return bool(result.rowcount)

    def delete_access_key(self, access_key_id: str, connection: Connection) -> bool:
        table = schema.access_keys
        result = connection.execute(delete(table).where(table.c.access_key_id == access_key_id))
        return bool(result.rowcount)

    # -- identity policies ----------------------------------------------------------------

    def put_user_policy(
        self,
        account: str,
        user_name: str,
        name: str,
        document: str,
        now: float,
        connection: Connection,
    ) -> None:
        """Attach the policy ``name`` to the user, or replace the one of that name."""
        connection.execute(delete(schema.user_policies).where(_policy(account, user_name, name)))
        connection.execute(
            schema.user_policies.insert().values(
                account=account,
                user_name=user_name,
                policy_name=name,
                document=document,
                updated_at=now,
            )
        )

    def user_policies(
        self, account: str, user_name: str, connection: Connection | None = None
    ) -> list[tuple[str, str]]:
        """The user's policies as (name, document), by name."""
        table = schema.user_policies
        query = (
            select(table.c.policy_name, table.c.document)
            .where(and_(table.c.account == account, table.c.user_name == user_name))
            .order_by(table.c.policy_name)
        )
        with self._store.reading(connection) as reader:
            return [(str(name), str(document)) for name, document in reader.execute(query)]

    def delete_user_policy(
        self, account: str, user_name: str, name: str, connection: Connection
    ) -> bool:
        result = connection.execute(
            delete(schema.user_policies).where(_policy(account, user_name, name))
        )
        return bool(result.rowcount)


def _policy(account: str, user_name: str, name: str) -> Any:
    """The condition naming one identity policy."""
    table = schema.user_policies
    return and_(
        table.c.account == account, table.c.user_name == user_name, table.c.policy_name == name
    )
