"""Checking the audit log: every chain from its genesis to its checkpointed head.

* Any edit, deletion, insertion or reordering breaks a MAC or the sequence.
* Every indexed column must equal what the MACed record gives for it.
* Deleting records from the end leaves the log short of its checkpoint; cutting,
  mixing or swapping checkpoint slots breaks the file's own rules (see
  :mod:`checkpoint`); deleting a checkpoint leaves a chain without one.
* Putting back an older checkpoint together with a cut log is caught by the anchors:
  a chain's first record names the head of every other chain in its checkpoint
  directory, so a chain may not end before a head some later chain anchored. A chain
  that ended without being closed (a crash, or a cut tail with an old checkpoint put
  back) is accepted only once a later chain anchored its last record: until the
  service has started again, verify reports it.
* A restore (`sealbox admin restore`) brings back chains whose checkpoints stayed with
  the store backed up; its record names the head of each, which then stands in for the
  checkpoint (and, as an anchor, catches records later cut from their end).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealbox.server.audit.chain import genesis, load_audit_key, record_mac, store_id
from sealbox.server.audit.checkpoint import Mark, read_checkpoints
from sealbox.server.audit.records import (
    ADMIN_CHAIN,
    ADMIN_SOURCE,
    ANCHOR_EVENT,
    RESTORE_EVENT,
)
from sealbox.server.rootkey.core import RootKey
from sealbox.server.store.audit_rows import INDEXED, indexed
from sealbox.server.store.repository import Store


@dataclass(frozen=True)
class Finding:
    chain: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"chain {self.chain} at record {self.seq}: {self.problem}"


@dataclass
class _Walk:
    """One chain as far as it has been checked."""

    previous: bytes
    last: int = 0
    broken: bool = False


@dataclass(frozen=True)
class _Anchor:
    by: str  # the chain whose record named this head
    seq: int
    mac: bytes


@dataclass
class _Check:
    key: bytes
    marks: dict[str, Mark]
    findings: list[Finding] = field(default_factory=list)
    walks: dict[str, _Walk] = field(default_factory=dict)
    anchors: dict[str, list[_Anchor]] = field(default_factory=dict)
    restored: dict[str, set[int]] = field(default_factory=dict)  # chain: heads a restore named
    count: int = 0

    def row(self, row: Any) -> None:
        self.count += 1
        walk = self.walks.setdefault(row.chain, _Walk(genesis(self.key, row.chain)))
        if walk.broken:
            return
        mac = record_mac(self.key, walk.previous, row.chain, row.seq, row.record.encode())
        head = self.marks.get(row.chain)
        problem = ""
        if row.seq != walk.last + 1:
            problem = f"expected record {walk.last + 1}: records are missing or reordered"
        elif not hmac.compare_digest(mac, bytes(row.mac)):
            problem = "MAC mismatch: the record was edited, inserted or moved"
        elif head is not None and head.seq == row.seq and not hmac.compare_digest(head.mac, mac):
            problem = "the record differs from the one its checkpoint recorded"
        if problem:
            self.findings.append(Finding(row.chain, row.seq, problem))
            walk.broken = True
            return
        walk.previous, walk.last = mac, row.seq
        record = json.loads(row.record)
        self._columns(row, record)
        if record.get("eventName") == ANCHOR_EVENT:
            self._collect(row.chain, record, "anchors")
        elif record.get("eventName") == RESTORE_EVENT and record.get("eventSource") == ADMIN_SOURCE:
            for named in self._collect(row.chain, record, "restoredChains"):
                self.restored.setdefault(named, set()).add(self.anchors[named][-1].seq)

    def _columns(self, row: Any, record: dict[str, Any]) -> None:
        """The indexed columns are outside the MAC: each must be what the record gives."""
        try:
            expected = indexed(record)
        except (KeyError, ValueError, TypeError, AttributeError):
            self.findings.append(Finding(row.chain, row.seq, "the record lacks indexed fields"))
            return
        for column in INDEXED:
            if getattr(row, column) != expected[column]:
                self.findings.append(
                    Finding(
                        row.chain,
                        row.seq,
                        f"column {column} was edited: it holds {getattr(row, column)!r}, "
                        f"the record gives {expected[column]!r}",
                    )
                )

    def _collect(self, chain: str, record: dict[str, Any], member: str) -> list[str]:
        """The heads ``record`` names (as anchors); the chains named."""
        named = []
        for anchor in record.get("additionalEventData", {}).get(member, []):
            self.anchors.setdefault(anchor["chain"], []).append(
                _Anchor(chain, int(anchor["seq"]), bytes.fromhex(anchor["mac"]))
            )
            named.append(anchor["chain"])
        return named


def verify(
    store: Store, root_key: RootKey, checkpoints: Path | Sequence[Path]
) -> tuple[int, list[Finding]]:
    """Check every chain; return (records checked, problems found). Nodes sharing a
    PostgreSQL store each keep the checkpoints of their own chains: pass every node's
    checkpoint directory."""
    key = load_audit_key(store, root_key)
    check = _Check(key, {})
    directories = [checkpoints] if isinstance(checkpoints, Path) else list(checkpoints)
    own = store_id(store)
    for mark in (m for d in directories for m in read_checkpoints(d, key, own)):
        if mark.problem:
            check.findings.append(Finding(mark.chain, mark.seq, mark.problem))
        else:
            check.marks[mark.chain] = mark
    for row in store.audit.rows():  # ordered by chain, then seq
        check.row(row)
    _heads(check)
    _anchored(check, store)
    return check.count, check.findings


def _heads(check: _Check) -> None:
    """Each chain against its checkpoint: present, not ahead of the log, and closed or
    live unless a later chain anchored its last record."""
    for chain, walk in check.walks.items():
        restored = walk.last in check.restored.get(chain, ())
        if chain not in check.marks and not walk.broken and not restored:
            problem = "the chain has no checkpoint file: it was deleted"
            if chain.startswith(ADMIN_CHAIN):  # with --database, kept where admin ran
                problem += (
                    ", or it is in the audit-checkpoints of the --data-dir that sealbox admin "
                    "ran with (give that directory with --checkpoints too)"
                )
            check.findings.append(Finding(chain, walk.last, problem))
    for chain, mark in check.marks.items():
        walk = check.walks.get(chain, _Walk(b""))
        if walk.broken:
            continue
        if walk.last < mark.seq:
            check.findings.append(
                Finding(
                    chain,
                    walk.last + 1,
                    f"the log ends at record {walk.last} but its checkpoint recorded "
                    f"{mark.seq}: records were deleted from the end",
                )
            )
        elif mark.closed and walk.last != mark.seq:
            check.findings.append(
                Finding(chain, mark.seq + 1, "records follow the record the chain closed at")
            )
        elif not (mark.closed or mark.live or mark.legacy) and not any(
            anchor.seq == walk.last for anchor in check.anchors.get(chain, [])
        ):
            check.findings.append(
                Finding(
                    chain,
                    walk.last,
                    "the chain ended without being closed and no later chain anchors its last "
                    "record: its worker stopped abruptly (start the service once, then verify "
                    "again) or records were cut from its end and an older checkpoint put back",
                )
            )


def _anchored(check: _Check, store: Store) -> None:
    """Every head a chain anchored must still be in the log, unchanged."""
    for chain, anchors in check.anchors.items():
        walk = check.walks.get(chain)
        if walk is not None and walk.broken:
            continue
        last = walk.last if walk is not None else 0
        for anchor in anchors:
            if anchor.seq > last or (walk is None and chain not in check.marks):
                problem = (
                    f"chain {anchor.by} anchored this chain at record {anchor.seq}, but the log "
                    f"ends at record {last}: records were deleted from the end"
                )
            else:
                stored = (
                    store.audit.mac(chain, anchor.seq) if anchor.seq else genesis(check.key, chain)
                )
                if stored is not None and hmac.compare_digest(stored, anchor.mac):
                    continue
                problem = f"the record differs from the one chain {anchor.by} anchored"
            check.findings.append(Finding(chain, anchor.seq, problem))
