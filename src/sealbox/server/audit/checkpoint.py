"""Chain heads kept apart from the database, so deleting records from the end shows.

One file per chain, created (at record 0) before the chain's first record, with
two fixed-size slots written alternately in place: the head after every commit
costs one ``pwrite``, and a write cut short leaves the other slot intact. Each
slot carries a tag MACed with the audit key, so it cannot be forged or lowered.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sealbox.server.audit.chain import checkpoint_tag

CHECKPOINT_DIR = "audit-checkpoints"
SUFFIX = ".checkpoint"
SLOT = 512  # bytes; a slot is JSON padded with spaces, ending in a newline


class CheckpointFile:
    def __init__(self, directory: Path, key: bytes, chain: str) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._key = key
        self._chain = chain
        self._fd = os.open(directory / f"{chain}{SUFFIX}", os.O_RDWR | os.O_CREAT, 0o600)

    def write(self, seq: int, mac: bytes) -> None:
        document = {
            "chain": self._chain,
            "seq": seq,
            "mac": mac.hex(),
            "tag": checkpoint_tag(self._key, self._chain, seq, mac).hex(),
        }
        text = json.dumps(document).encode()
        if len(text) >= SLOT:
            raise ValueError("sealbox: internal error: checkpoint slot overflow")
        os.pwrite(self._fd, text.ljust(SLOT - 1) + b"\n", (seq % 2) * SLOT)

    def close(self) -> None:
        os.close(self._fd)


@dataclass(frozen=True)
class Mark:
    """A chain's head as its checkpoint recorded it, or the problem found reading it."""

    chain: str
    seq: int
    mac: bytes
    problem: str = ""


def read_checkpoints(directory: Path, key: bytes) -> Iterator[Mark]:
    """The newest valid head per checkpoint file; a problem for each altered slot."""
    if not directory.exists():
        return
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        chain = path.name[: -len(SUFFIX)]
        data = path.read_bytes()
        best: Mark | None = None
        for index in range(max(1, (len(data) + SLOT - 1) // SLOT)):
            slot = data[index * SLOT : (index + 1) * SLOT]
            if not slot and index:
                continue
            mark = _parse(slot, key, chain)
            if mark is None:
                yield Mark(
                    chain,
                    0,
                    b"",
                    f"checkpoint {path.name} slot {index} was altered (or torn by a power loss)",
                )
            elif best is None or mark.seq > best.seq:
                best = mark
        if best is not None:
            yield best


def _parse(slot: bytes, key: bytes, chain: str) -> Mark | None:
    try:
        document = json.loads(slot)
        seq, mac = int(document["seq"]), bytes.fromhex(document["mac"])
        tag = bytes.fromhex(document["tag"])
        named = document["chain"]
    except (ValueError, KeyError, TypeError):
        return None
    if named != chain or not hmac.compare_digest(tag, checkpoint_tag(key, chain, seq, mac)):
        return None
    return Mark(chain, seq, mac)
