"""Writing the audit log: every record durable before its request is answered.

Each worker writes its own chain (a new one per start). Read-only requests are
group-committed: records queue while the previous batch commits. A request that
changes state runs in one transaction together with its record
(:meth:`AuditLog.transaction`), as do the changes the service makes on its own
(automatic rotation, deletion after the waiting period). If a record
cannot be written, the request fails (fail closed) and no result leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from sealbox.server import logs
from sealbox.server.audit.chain import genesis, load_audit_key, record_mac
from sealbox.server.audit.checkpoint import CheckpointFile
from sealbox.server.audit.records import encode
from sealbox.server.errors import KMSInternalException
from sealbox.server.rootkey import RootKey
from sealbox.server.store.repository import Store

REFUSED = "The request could not be audited, so it was not performed."


class AuditFailure(KMSInternalException):
    """The audit record could not be made durable, so the request does not succeed."""


class AuditLog:
    def __init__(self, store: Store, root_key: RootKey, checkpoints: Path) -> None:
        self.store = store
        self._key = load_audit_key(store, root_key)
        self.chain = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._seq = 0
        self._mac = genesis(self._key, self.chain)
        self._checkpoint = CheckpointFile(checkpoints, self._key, self.chain)
        self._checkpoint.write(self._seq, self._mac)  # before any record: a chain always has one
        # Held while rows are made and committed, so commits of this chain never interleave.
        # Reentrant: a request's transaction may record a due key change inside it.
        self._lock = threading.RLock()
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._appender = store.audit_appender()

    # -- records inside a state change's transaction --------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A store write whose records (see :meth:`record`) commit with it, or not at all.
        Inside an enclosing transaction it joins that one."""
        with self._lock:
            joined = self.store.in_unit_of_work()
            saved = self._seq, self._mac
            # write() joins the enclosing unit of work; unit_of_work() starts one
            scope = self.store.write() if joined else self.store.unit_of_work()
            try:
                with scope as connection:
                    yield connection
            except BaseException:
                if not joined:  # rolled back: the chain continues from where it was
                    self._seq, self._mac = saved
                raise
            if not joined and self._seq != saved[0]:
                self._checkpoint.write(self._seq, self._mac)

    def record(self, connection: Connection, record: dict[str, Any]) -> None:
        """Add ``record`` to the open :meth:`transaction` on ``connection``."""
        with self._lock:
            self.store.append_audit([self._next_row(record)], connection)

    # -- group commit for everything else ---------------------------------------------

    async def append(self, record: dict[str, Any]) -> None:
        """Return once ``record`` is durable; raise AuditFailure if it could not be written."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((record, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        """Commit queued records in batches, on the event loop: first every request that is
        ready runs up to its append, so that one commit (one fsync) covers them all. (A writer
        thread was slower: it waited for the GIL on every batch.)"""
        while self._pending:
            await asyncio.sleep(0)
            batch, self._pending = self._pending, []
            try:
                self._write_batch([record for record, _ in batch])
            except Exception:
                logs.SERVICE.exception("audit write failed")
                for _, done in batch:
                    done.set_exception(AuditFailure(REFUSED))
                continue
            for _, done in batch:
                done.set_result(None)

    def _write_batch(self, records: list[dict[str, Any]]) -> None:
        with self._lock:
            saved = self._seq, self._mac
            try:
                self._appender.append([self._next_row(record) for record in records])
            except BaseException:
                self._seq, self._mac = saved
                raise
            self._checkpoint.write(self._seq, self._mac)

    def close(self) -> None:
        self._appender.close()
        self._checkpoint.close()

    # -- the chain ------------------------------------------------------------------------

    def _next_row(self, record: dict[str, Any]) -> dict[str, Any]:
        """The row continuing the chain; the caller restores the head if it is not committed."""
        body = encode(record)
        self._seq += 1
        self._mac = record_mac(self._key, self._mac, self.chain, self._seq, body)
        resource = record.get("resources") or [{}]
        return {
            "chain": self.chain,
            "seq": self._seq,
            "event_time": datetime.fromisoformat(record["eventTime"]).timestamp(),
            "event_name": record["eventName"],
            "principal": record["userIdentity"].get("arn", ""),
            "key_arn": resource[0].get("ARN", ""),
            "error_code": record.get("errorCode", ""),
            "record": body.decode(),
            "mac": self._mac,
        }
