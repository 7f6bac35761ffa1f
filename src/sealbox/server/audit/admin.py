"""`sealbox admin`'s own audit chain: each change an administrator makes to the store
directly (access keys, identity policies, root-key rotation, backup and restore) leaves a
record in the same tamper-evident log as the API's, never a secret."""

from __future__ import annotations

import contextlib
import getpass
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sealbox.server.audit.log import AuditLog
from sealbox.server.audit.records import ADMIN_CHAIN, admin_event
from sealbox.server.rootkey.core import RootKey
from sealbox.server.store.repository import Store


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container's bare uid)
        import os

        return f"uid:{os.getuid()}"


class AdminAudit:
    """One `sealbox admin` run's chain: opened with the store, closed when the run ends."""

    def __init__(self, store: Store, root_key: RootKey, checkpoints: Path) -> None:
        self.log = AuditLog(store, root_key, checkpoints, label=ADMIN_CHAIN)
        self._user = _os_user()
        self._host = socket.gethostname()

    @contextlib.contextmanager
    def change(
        self, event_name: str, parameters: dict[str, Any], *, account: str = ""
    ) -> Iterator[dict[str, Any]]:
        """A store change and its record, in one transaction (all or nothing). The block
        may add details (e.g. counts) to the dict it is given; they go into the record."""
        details: dict[str, Any] = {}
        with self.log.transaction() as connection:
            yield details
            record = admin_event(
                moment=time.time(),
                event_name=event_name,
                os_user=self._user,
                host=self._host,
                parameters=parameters,
                account=account,
                details=details,
            )
            self.log.record(connection, record)

    def record(
        self,
        event_name: str,
        parameters: dict[str, Any],
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        """A record of a change already made (one that cannot share its transaction)."""
        with self.change(event_name, parameters) as extra:
            extra.update(details or {})

    def close(self) -> None:
        """Close the chain, so `sealbox audit verify` finds it ended cleanly."""
        self.log.close()
