"""Writing the audit log: every record durable before its request is answered.

Each worker writes its own chain (a new one per start), whose first record anchors the
heads of the other chains in its checkpoint directory (see :mod:`verify`). Read-only
requests are group-committed: records queue while the previous batch commits, and a
record that cannot be written fails only its own request. A request that
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
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from sealbox.server import logs
from sealbox.server.audit.chain import genesis, load_audit_key, record_mac, store_id
from sealbox.server.audit.checkpoint import SUFFIX, CheckpointFile, read_checkpoint
from sealbox.server.audit.records import anchor_event, encode
from sealbox.server.errors import KMSInternalException
from sealbox.server.rootkey.core import RootKey
from sealbox.server.store.audit_rows import indexed
from sealbox.server.store.repository import Store

REFUSED = "The request could not be audited, so it was not performed."
ANCHOR_LIMIT = 64  # chains named by one anchor record (unclosed first, then the newest)


class AuditFailure(KMSInternalException):
    """The audit record could not be made durable, so the request does not succeed."""


class AuditLog:
    def __init__(
        self, store: Store, root_key: RootKey, checkpoints: Path, *, label: str = ""
    ) -> None:
        """``label`` starts the chain's name (``admin-`` for `sealbox admin`'s chains)."""
        self.store = store
        self._key = load_audit_key(store, root_key)
        self._store_id = store_id(store)
        self.chain = f"{label}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._seq = 0
        self._mac = genesis(self._key, self.chain)
        # Before any record: a chain always has its checkpoint file.
        self._checkpoint = CheckpointFile(
            checkpoints, self._key, self.chain, self._mac, self._store_id
        )
        # Held while rows are made and committed, so commits of this chain never interleave.
        # Reentrant: a request's transaction may record a due key change inside it.
        self._lock = threading.RLock()
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._appender = store.audit.appender()
        self._closed = False
        try:
            self._anchor(checkpoints)
        except BaseException:
            self._appender.close()
            self._checkpoint.abandon()
            raise

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
            self.store.audit.append([self._next_row(record)], connection)

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
            for (_, done), failed in zip(batch, self._commit([r for r, _ in batch]), strict=True):
                if failed:
                    done.set_exception(AuditFailure(REFUSED))
                else:
                    done.set_result(None)

    def _commit(self, records: list[dict[str, Any]]) -> list[bool]:
        """Commit ``records``; return which of them failed. A record can only fail itself:
        each is encoded on its own first (an unencodable one is left out), and if the
        batch's commit fails it is retried one record at a time. Two failures in a row
        there mean the store itself is failing: the rest are refused without more tries."""
        bodies: list[bytes | None] = []
        for record in records:
            try:
                bodies.append(encode(record))
            except Exception:
                logs.SERVICE.exception("an audit record could not be encoded")
                bodies.append(None)
        ready = [(record, body) for record, body in zip(records, bodies, strict=True) if body]
        if len(ready) > 1 and not self._try_write(ready, log=False):
            failures_in_a_row = 0
            written: set[int] = set()
            for item in ready:
                if failures_in_a_row < 2 and self._try_write([item], log=True):
                    written.add(id(item[0]))
                    failures_in_a_row = 0
                else:
                    failures_in_a_row += 1
            return [id(record) not in written for record in records]
        if len(ready) == 1 and not self._try_write(ready, log=True):
            return [True] * len(records)
        return [body is None for body in bodies]

    def _try_write(self, items: list[tuple[dict[str, Any], bytes]], *, log: bool) -> bool:
        try:
            self._write_batch(items)
        except Exception:
            if log:
                logs.SERVICE.exception("audit write failed")
            return False
        return True

    def _write_batch(self, items: list[tuple[dict[str, Any], bytes]]) -> None:
        with self._lock:
            saved = self._seq, self._mac
            try:
                self._appender.append([self._next_row(record, body) for record, body in items])
            except BaseException:
                self._seq, self._mac = saved  # nothing was written: the chain goes on from here
                raise
            self._checkpoint.write(self._seq, self._mac)

    def close(self) -> None:
        """Close the chain: its last head, marked closed, goes to its checkpoint."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._appender.close()
            self._checkpoint.close(self._seq, self._mac)

    # -- anchoring the other chains ---------------------------------------------------

    def _anchor(self, checkpoints: Path) -> None:
        """Record, as this chain's first record, the head of the other chains in the
        checkpoint directory as the store holds it: from then on none of them can lose
        records from its end without `audit verify` noticing (this record names them)."""
        anchors = []
        own = self.chain, self._store_id
        for chain in _to_anchor(checkpoints, self._key, own)[:ANCHOR_LIMIT]:
            head = self.store.audit.head(chain)
            seq, mac = head if head is not None else (0, genesis(self._key, chain))
            anchors.append({"chain": chain, "seq": seq, "mac": mac.hex()})
        if anchors:
            record = anchor_event(moment=time.time(), anchors=anchors)
            self._write_batch([(record, encode(record))])

    # -- the chain ------------------------------------------------------------------------

    def _next_row(self, record: dict[str, Any], body: bytes | None = None) -> dict[str, Any]:
        """The row continuing the chain; the caller restores the head if it is not committed.
        Its indexed columns are derived from the record, as `audit verify` derives them."""
        body = encode(record) if body is None else body
        columns = indexed(record)
        self._seq += 1
        self._mac = record_mac(self._key, self._mac, self.chain, self._seq, body)
        return {
            "chain": self.chain,
            "seq": self._seq,
            **columns,
            "record": body.decode(),
            "mac": self._mac,
        }


def _to_anchor(directory: Path, key: bytes, own: tuple[str, str | None]) -> list[str]:
    """The other chains of this store with a checkpoint file here: those not closed first
    (a crashed or still running chain needs an anchor most), then the most recently written.
    ``own`` is this chain and the store's identity (another store's files are skipped)."""
    found: list[tuple[bool, float, str]] = []
    for path in directory.glob(f"*{SUFFIX}"):
        chain = path.name[: -len(SUFFIX)]
        if chain == own[0]:
            continue
        try:
            modified = path.stat().st_mtime
            marks = list(read_checkpoint(path, key, own[1]))
        except OSError:
            continue
        if any(mark.foreign for mark in marks):
            continue
        closed = any(mark.closed for mark in marks)
        found.append((closed, -modified, chain))
    return [chain for _, _, chain in sorted(found)]
