"""Checking the audit log: every chain from its genesis to its checkpointed head.

Any edit, deletion, insertion or reordering breaks a MAC or the sequence;
deleting records from the end leaves the log short of its checkpoint; deleting
a checkpoint leaves a chain without one.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sealbox.server.audit.chain import genesis, load_audit_key, record_mac
from sealbox.server.audit.checkpoint import Mark, read_checkpoints
from sealbox.server.rootkey import RootKey
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


def verify(
    store: Store, root_key: RootKey, checkpoints: Path | Sequence[Path]
) -> tuple[int, list[Finding]]:
    """Check every chain; return (records checked, problems found). Nodes sharing a
    PostgreSQL store each keep the checkpoints of their own chains: pass every node's
    checkpoint directory."""
    key = load_audit_key(store, root_key)
    findings: list[Finding] = []
    marks: dict[str, Mark] = {}
    directories = [checkpoints] if isinstance(checkpoints, Path) else list(checkpoints)
    for mark in (m for directory in directories for m in read_checkpoints(directory, key)):
        if mark.problem:
            findings.append(Finding(mark.chain, mark.seq, mark.problem))
        else:
            marks[mark.chain] = mark
    walks: dict[str, _Walk] = {}
    count = 0
    for row in store.audit_rows():  # ordered by chain, then seq
        count += 1
        walk = walks.setdefault(row.chain, _Walk(genesis(key, row.chain)))
        if walk.broken:
            continue
        problem = ""
        mac = record_mac(key, walk.previous, row.chain, row.seq, row.record.encode())
        head = marks.get(row.chain)
        if row.seq != walk.last + 1:
            problem = f"expected record {walk.last + 1}: records are missing or reordered"
        elif not hmac.compare_digest(mac, row.mac):
            problem = "MAC mismatch: the record was edited, inserted or moved"
        elif head is not None and head.seq == row.seq and not hmac.compare_digest(head.mac, mac):
            problem = "the record differs from the one its checkpoint recorded"
        if problem:
            findings.append(Finding(row.chain, row.seq, problem))
            walk.broken = True
        else:
            walk.previous, walk.last = mac, row.seq
    for chain, walk in walks.items():
        if chain not in marks and not walk.broken:
            findings.append(
                Finding(chain, walk.last, "the chain has no checkpoint file: it was deleted")
            )
    for chain, mark in marks.items():
        walk = walks.get(chain, _Walk(b""))
        if not walk.broken and walk.last < mark.seq:
            findings.append(
                Finding(
                    chain,
                    walk.last + 1,
                    f"the log ends at record {walk.last} but its checkpoint recorded "
                    f"{mark.seq}: records were deleted from the end",
                )
            )
    return count, findings
