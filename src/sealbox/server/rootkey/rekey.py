"""Root-key rotation: every wrapped value re-wrapped under a new root key, online.

While a rotation runs, nodes serve with ``--root-key NEW --previous-root-key OLD``
(a :class:`DualRootKey`: it wraps under the new key and unwraps under either),
so values may move from the old key to the new one under their feet. The
rotation re-wraps in small transactions, skipping what already unwraps under
the new key — an interrupted run is simply run again — and binds the store to
the new key (its id, check value and audit key) last, in one transaction.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from sealbox.server.arn import key_arn
from sealbox.server.audit.chain import KEY_AAD, KEY_META
from sealbox.server.rootkey.core import (
    CHECK_AAD,
    CHECK_PLAINTEXT,
    RootKey,
    RootKeyError,
    UnwrapError,
    close_root_key,
)
from sealbox.server.store import schema
from sealbox.server.store.records import import_token_aad, material_aad, secret_aad
from sealbox.server.store.repository import Store

BATCH = 100


class DualRootKey:
    """Wraps under ``new``; unwraps under ``new``, else under ``old``."""

    def __init__(self, new: RootKey, old: RootKey) -> None:
        self.new = new
        self.old = old

    @property
    def key_id(self) -> str:
        return self.new.key_id

    def wrap(self, plaintext: bytes, *, aad: bytes) -> bytes:
        return self.new.wrap(plaintext, aad=aad)

    def unwrap(self, wrapped: bytes, *, aad: bytes) -> bytes:
        try:
            return self.new.unwrap(wrapped, aad=aad)
        except UnwrapError:
            return self.old.unwrap(wrapped, aad=aad)

    def close(self) -> None:
        close_root_key(self.new)
        close_root_key(self.old)


@dataclass(frozen=True)
class _Column:
    """One table's wrapped column, with how to find each row and its AAD."""

    table: Any
    value: str
    keys: tuple[str, ...]
    aad: Callable[[dict[str, Any]], bytes]


def _arn(row: dict[str, Any]) -> str:
    return key_arn(row["region"], row["account"], row["key_id"])


_COLUMNS = (
    _Column(schema.key_materials, "wrapped", ("key_id", "material_id"),
            lambda r: material_aad(_arn(r), r["material_id"])),
    _Column(schema.import_tokens, "wrapped_private_key", ("token",),
            lambda r: import_token_aad(_arn(r), r["token"])),
    _Column(schema.access_keys, "wrapped_secret", ("access_key_id",),
            lambda r: secret_aad(r["access_key_id"], r["account"], r["user_name"])),
)  # fmt: skip


def _rows(store: Store, column: _Column) -> Iterator[dict[str, Any]]:
    table = column.table
    query = select(table)
    if "key_id" in table.c and table is not schema.kms_keys:
        keys = schema.kms_keys
        query = select(table, keys.c.region, keys.c.account).join(
            keys, keys.c.key_id == table.c.key_id
        )
    with store.read() as connection:
        rows = [dict(row._mapping) for row in connection.execute(query)]
    yield from rows


def _rewrap(value: bytes, aad: bytes, old: RootKey, new: RootKey) -> bytes | None:
    """``value`` under the new key, or None if it already is (or is empty)."""
    if not value:
        return None
    try:
        new.unwrap(value, aad=aad)
        return None
    except UnwrapError:
        pass
    try:
        plaintext = old.unwrap(value, aad=aad)
    except UnwrapError:
        raise RootKeyError(
            "a stored value unwraps under neither the current nor the new root key; "
            "is --root-key the store's root key?"
        ) from None
    return new.wrap(plaintext, aad=aad)


def rotate_root_key(
    store: Store,
    old: RootKey,
    new: RootKey,
    *,
    progress: Callable[[str, int], None] = lambda table, count: None,
    audited: Callable[[int], AbstractContextManager[Any]] | None = None,
) -> int:
    """Re-wrap everything under ``new`` and bind the store to it; returns values re-wrapped.
    ``audited(count)``: the transaction (with its audit record) the binding is made in."""
    total = 0
    for column in _COLUMNS:
        pending: list[tuple[dict[str, Any], bytes]] = []
        for row in _rows(store, column):
            rewrapped = _rewrap(row[column.value], column.aad(row), old, new)
            if rewrapped is not None:
                pending.append((row, rewrapped))
            if len(pending) >= BATCH:
                total += _write(store, column, pending)
                progress(column.table.name, total)
        total += _write(store, column, pending)
        progress(column.table.name, total)
    with audited(total) if audited is not None else contextlib.nullcontext():
        _bind(store, old, new)
    return total


def _write(store: Store, column: _Column, pending: list[tuple[dict[str, Any], bytes]]) -> int:
    if not pending:
        return 0
    table = column.table
    with store.write() as connection:
        for row, rewrapped in pending:
            condition = [table.c[k] == row[k] for k in column.keys]
            # only if nobody changed it meanwhile (a node re-wrapping or deleting it)
            condition.append(table.c[column.value] == row[column.value])
            connection.execute(update(table).where(*condition).values({column.value: rewrapped}))
    count = len(pending)
    pending.clear()
    return count


def _bind(store: Store, old: RootKey, new: RootKey) -> None:
    audit = store.get_meta(KEY_META)
    values = {
        "root_key_id": new.key_id,
        "root_key_check": base64.b64encode(new.wrap(CHECK_PLAINTEXT, aad=CHECK_AAD)).decode(),
    }
    if audit is not None:
        rewrapped = _rewrap(base64.b64decode(audit), KEY_AAD, old, new)
        if rewrapped is not None:
            values[KEY_META] = base64.b64encode(rewrapped).decode()
    with store.write() as connection:
        store.put_meta(values, connection)
