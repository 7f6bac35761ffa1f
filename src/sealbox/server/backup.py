"""Backups: a consistent snapshot of the store that stays encrypted under the root key.

A backup is JSON lines: a header (format, schema version, root key id, time),
one line per row of every table, read in one snapshot transaction, and a
trailer holding the SHA-256 of everything before it wrapped under the root key.
Key material and secrets stay as the store keeps them, wrapped under the root
key, so the file unwraps nothing without it; the trailer makes any edit, and a
restore with another root key, fail before a row is written.

Restore goes into an empty store (any backend: a SQLite backup restores into
PostgreSQL and the other way round) in one transaction.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from sealbox.errors import SealboxError, UsageError
from sealbox.server.rootkey.core import RootKey, UnwrapError
from sealbox.server.store import schema
from sealbox.server.store.migrations import SCHEMA_VERSION
from sealbox.server.store.repository import Store

FORMAT = "sealbox-backup-v1"
_TRAILER_AAD = b"sealbox/backup/v1"


class BackupError(SealboxError):
    """A backup cannot be written or restored."""


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$b64"}:
        return base64.b64decode(value["$b64"])
    return value


def _line(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n").encode()


def write_backup(store: Store, root_key: RootKey, path: Path) -> int:
    """Write the snapshot to ``path`` (mode 0600, renamed into place when complete);
    return the number of rows."""
    digest = hashlib.sha256()
    rows = 0
    directory = path.parent if str(path.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle, store.read() as connection:
            header = {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "root_key_id": root_key.key_id,
                "created": time.time(),
            }
            for line in _lines(connection, header):
                digest.update(line)
                handle.write(line)
                rows += 1
            check = root_key.wrap(digest.digest(), aad=_TRAILER_AAD)
            handle.write(_line({"check": base64.b64encode(check).decode()}))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return rows - 1


def _lines(connection: Any, header: dict[str, Any]) -> Iterator[bytes]:
    yield _line(header)
    for table in schema.metadata.sorted_tables:
        for row in connection.execute(select(table)):
            values = {name: _encode(value) for name, value in row._mapping.items()}
            yield _line({"table": table.name, "row": values})


def _read_verified(root_key: RootKey, path: Path) -> dict[str, Any]:
    """The header, once the whole file has been checked against its trailer."""
    digest = hashlib.sha256()
    header: dict[str, Any] | None = None
    trailer: dict[str, Any] | None = None
    try:
        with path.open("rb") as handle:
            for raw in handle:
                if trailer is not None:
                    raise BackupError(f"{path}: data after the trailer; the file was altered")
                document = json.loads(raw)
                if "check" in document:
                    trailer = document
                    continue
                digest.update(raw)
                if header is None:
                    header = document
    except OSError as error:
        raise UsageError(f"cannot read backup {path}: {error.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise BackupError(f"{path} is not a Sealbox backup (a line is not JSON)") from None
    if header is None or header.get("format") != FORMAT:
        raise BackupError(f"{path} is not a Sealbox backup")
    if trailer is None:
        raise BackupError(f"{path} is incomplete: it has no trailer")
    if header.get("root_key_id") != root_key.key_id:
        raise BackupError(
            f"{path} was made under root key {header.get('root_key_id')}, not the one given "
            f"({root_key.key_id}); give that root key with --root-key"
        )
    try:
        expected = root_key.unwrap(base64.b64decode(trailer["check"]), aad=_TRAILER_AAD)
    except (UnwrapError, ValueError, TypeError):
        raise BackupError(f"{path}: the trailer does not verify; the file was altered") from None
    if not hmac.compare_digest(expected, digest.digest()):
        raise BackupError(f"{path}: the contents do not match the trailer; the file was altered")
    if header.get("schema_version") != SCHEMA_VERSION:
        raise BackupError(
            f"{path} has schema version {header.get('schema_version')}; this Sealbox restores "
            f"version {SCHEMA_VERSION} (restore with the release that made it, then upgrade)"
        )
    return header


def restore_backup(store: Store, root_key: RootKey, path: Path) -> int:
    """Restore into an empty store; return the number of rows. Nothing is written
    unless the whole file verifies, and then everything is, in one transaction."""
    _read_verified(root_key, path)
    tables = {table.name: table for table in schema.metadata.sorted_tables}
    with store.write() as connection:
        for table in schema.metadata.sorted_tables:
            if table is schema.meta:
                continue
            if connection.execute(select(func.count()).select_from(table)).scalar():
                raise BackupError(
                    f"the store is not empty (table {table.name} has rows); restore into a new "
                    "data directory or database"
                )
        connection.execute(delete(schema.meta))
        rows = 0
        with path.open("rb") as handle:
            next(handle)  # the header
            for raw in handle:
                document = json.loads(raw)
                if "check" in document:
                    break
                values = {name: _decode(value) for name, value in document["row"].items()}
                connection.execute(tables[document["table"]].insert().values(**values))
                rows += 1
    return rows
