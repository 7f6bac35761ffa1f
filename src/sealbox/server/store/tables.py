"""What the table groups (:mod:`key_tables`, :mod:`identity_tables`, :mod:`grant_table`, :mod:`audit_rows`)
share: the store they read through, and the mapping between rows and records."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection

R = TypeVar("R")


class Reading(Protocol):
    """The part of :class:`~sealbox.server.store.repository.Store` a table group uses."""

    def reading(self, connection: Connection | None) -> AbstractContextManager[Connection]:
        """``connection`` if given, else a short read transaction of the call's own."""
        ...


def as_record(cls: type[R], row: Any) -> R:
    """A row as the record dataclass of its table (same field names as the columns)."""
    return cls(**row._mapping)


def as_values(record: Any) -> dict[str, Any]:
    """A record dataclass as column values."""
    return {name: getattr(record, name) for name in record.__slots__}
