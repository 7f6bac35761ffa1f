"""Write transactions whose audit records commit with them.

A request that changes state, and a change the service makes on its own (a deletion
whose waiting period ended, an automatic rotation, expired imported material), is
written in one transaction with its audit record: both commit, or neither does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from sealbox.server.audit import AuditLog
from sealbox.server.audit import records as audit_records
from sealbox.server.clock import Clock
from sealbox.server.store.repository import Store


@dataclass(frozen=True, slots=True)
class Changes:
    store: Store
    audit: AuditLog | None  # None: a service without an audit key (sealed, or in tests)
    clock: Clock

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction in which :meth:`record_event` records commit with the change."""
        if self.audit is None:
            with self.store.write() as connection:
                yield connection
        else:
            with self.audit.transaction() as connection:
                yield connection

    def record_event(
        self,
        connection: Connection,
        event_name: str,
        arn: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Audit a change the service makes on its own, inside :meth:`transaction`."""
        if self.audit is not None:
            event = audit_records.service_event(
                moment=self.clock.now(), event_name=event_name, key_arn=arn, details=details
            )
            self.audit.record(connection, event)
