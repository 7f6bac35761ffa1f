"""Chain heads kept apart from the database, so deleting records from the end shows.

One file per chain, created with both of its two fixed-size slots filled before the
chain's first record. Each later head goes into the slot of its write number's parity,
in place: the head after every commit costs one ``pwrite``, and a write cut short
leaves the other slot intact. Each slot carries a tag MACed with the audit key over
the chain, write number, sequence number, MAC and "closed" flag, so a slot cannot be
forged, lowered, renumbered or moved. A valid file therefore always holds two slots
with consecutive write numbers, each at its parity: cutting the file back, copying
one slot over the other, or mixing slots of two versions of the file shows.

While its chain is written the file is locked (``flock``), and a clean shutdown writes
a last head marked closed: a chain neither live nor closed ended in a crash, or had
its tail cut (see :mod:`verify` for how a later chain's anchor settles which).

Version 3 slots also name the store they belong to (its identity, MACed with the rest),
so another store's file in the directory is reported as foreign, not as altered. Version
2 files, and version 1 ones (:func:`_read_legacy`), are still read.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sealbox.server.audit.chain import checkpoint_tag, checkpoint_tag_v2, checkpoint_tag_v3

CHECKPOINT_DIR = "audit-checkpoints"
SUFFIX = ".checkpoint"
SLOT = 512  # bytes; a slot is JSON padded with spaces, ending in a newline
SIZE = 2 * SLOT


class CheckpointFile:
    def __init__(
        self, directory: Path, key: bytes, chain: str, head: bytes, store: str | None = None
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._key = key
        self._chain = chain
        self._store = store  # None: a store without an identity yet (version 2 slots)
        path = directory / f"{chain}{SUFFIX}"
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        # held until close: `audit verify` tells a chain still being written from one that ended
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._writes = 0
        self.write(0, head)  # both slots, before any record: a chain always has a full file
        self.write(0, head)
        os.fsync(self._fd)
        _sync_directory(directory)

    def write(self, seq: int, mac: bytes, *, closed: bool = False) -> None:
        number = self._writes
        document: dict[str, object]
        if self._store is None:
            tag = checkpoint_tag_v2(self._key, self._chain, number, seq, mac, closed)
            document = {"v": 2}
        else:
            tag = checkpoint_tag_v3(self._key, self._store, self._chain, number, seq, mac, closed)
            document = {"v": 3, "store": self._store}
        document |= {
            "chain": self._chain,
            "n": number,
            "seq": seq,
            "mac": mac.hex(),
            "closed": closed,
            "tag": tag.hex(),
        }
        text = json.dumps(document).encode()
        if len(text) >= SLOT:
            raise ValueError("sealbox: internal error: checkpoint slot overflow")
        os.pwrite(self._fd, text.ljust(SLOT - 1) + b"\n", (number % 2) * SLOT)
        self._writes += 1

    def close(self, seq: int, mac: bytes) -> None:
        """Write the final head, marked closed, and release the file."""
        try:
            self.write(seq, mac, closed=True)
            os.fsync(self._fd)
        finally:
            os.close(self._fd)

    def abandon(self) -> None:
        """Release the file without closing the chain (its writes are not trusted)."""
        os.close(self._fd)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Mark:
    """A chain's head as its checkpoint recorded it, or the problem found reading it.

    ``closed``: the chain was closed at this head; ``live``: its writer still holds the
    file; ``legacy``: a file from before write numbers (no closed or live state);
    ``foreign``: the file belongs to another store (``problem`` says which)."""

    chain: str
    seq: int
    mac: bytes
    problem: str = ""
    closed: bool = False
    live: bool = False
    legacy: bool = False
    foreign: bool = False


@dataclass(frozen=True)
class _Slot:
    number: int
    seq: int
    mac: bytes
    closed: bool


def read_checkpoints(directory: Path, key: bytes, store: str | None = None) -> Iterator[Mark]:
    """The newest valid head per checkpoint file; a problem for each altered file, and for
    each file of a store other than ``store`` (this store's identity)."""
    if not directory.exists():
        return
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        yield from read_checkpoint(path, key, store)


def read_checkpoint(path: Path, key: bytes, store: str | None = None) -> Iterator[Mark]:
    chain = path.name[: -len(SUFFIX)]
    live = is_live(path)
    data = path.read_bytes()
    if _is_legacy(data):
        yield from _read_legacy(path, data, key, chain)
        return
    name = path.name
    owner = owning_store(data)
    if owner is not None and owner != store:
        # Its tag cannot be checked (another store's audit key): it is not evidence about
        # this store, but it is reported, since a file of this store could be disguised so.
        yield Mark(
            chain,
            0,
            b"",
            f"checkpoint {name} belongs to another store (id {owner}); it is not this "
            "store's: move it to that store's checkpoint directory",
            foreign=True,
        )
        return
    if len(data) != SIZE:
        yield Mark(chain, 0, b"", f"checkpoint {name} is {len(data)} bytes, not {SIZE}: it was cut")
    slots: list[_Slot] = []
    for index in range(min(2, (len(data) + SLOT - 1) // SLOT)):
        slot = _parse_v2(data[index * SLOT : (index + 1) * SLOT], key, chain, store)
        if slot is None:
            yield Mark(chain, 0, b"", f"checkpoint {name} slot {index} was altered (or torn)")
        elif slot.number % 2 != index:
            yield Mark(chain, 0, b"", f"checkpoint {name} slot {index} holds another slot's head")
        else:
            slots.append(slot)
    if len(slots) == 2:
        older, newer = sorted(slots, key=lambda s: s.number)
        if newer.number != older.number + 1 or newer.seq < older.seq or older.closed:
            yield Mark(
                chain,
                0,
                b"",
                f"checkpoint {name} holds heads {older.number} and {newer.number}, which were "
                "never in the file together: an older checkpoint was put back",
            )
    if slots:
        best = max(slots, key=lambda s: s.number)
        yield Mark(chain, best.seq, best.mac, closed=best.closed, live=live)


def owning_store(data: bytes) -> str | None:
    """The store identity a checkpoint file's first readable slot names (not verified), or
    None for a file of version 2 or older, or an unreadable one."""
    for index in range(2):
        try:
            document = json.loads(data[index * SLOT : (index + 1) * SLOT])
        except (ValueError, TypeError):
            continue
        if isinstance(document, dict) and isinstance(document.get("store"), str):
            return str(document["store"])
    return None


def in_use(directory: Path, store: str | None, *, besides: str = "") -> bool:
    """Whether a running writer (a `sealbox serve` worker) holds one of this store's
    checkpoint files in ``directory``, not counting chain ``besides``."""
    if not directory.is_dir():
        return False
    for path in directory.glob(f"*{SUFFIX}"):
        if path.name == f"{besides}{SUFFIX}":
            continue
        try:
            owner = owning_store(path.read_bytes()[:SIZE])
        except OSError:
            continue
        if (owner is None or owner == store) and is_live(path):
            return True
    return False


def is_live(path: Path) -> bool:
    """Whether a writer holds ``path`` (its chain is still being written)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)  # also drops our shared lock
    return False


def _parse_v2(slot: bytes, key: bytes, chain: str, store: str | None) -> _Slot | None:
    """A version 2 or 3 slot, if its tag verifies (version 3: for this store)."""
    try:
        document = json.loads(slot)
        number, seq = int(document["n"]), int(document["seq"])
        mac, tag = bytes.fromhex(document["mac"]), bytes.fromhex(document["tag"])
        closed, named, version = document["closed"], document["chain"], document["v"]
    except (ValueError, KeyError, TypeError):
        return None
    if version == 3:
        if store is None or document.get("store") != store:
            return None
        expected = checkpoint_tag_v3(key, store, chain, number, seq, mac, closed is True)
    else:
        expected = checkpoint_tag_v2(key, chain, number, seq, mac, closed is True)
    if named != chain or closed not in (True, False) or not hmac.compare_digest(tag, expected):
        return None
    return _Slot(number, seq, mac, closed)


# -- files written before write numbers (version 1): slots by sequence parity --------------


def _is_legacy(data: bytes) -> bool:
    try:
        return "n" not in json.loads(data[:SLOT])
    except (ValueError, TypeError):
        return False


def _read_legacy(path: Path, data: bytes, key: bytes, chain: str) -> Iterator[Mark]:
    best: Mark | None = None
    for index in range(max(1, (len(data) + SLOT - 1) // SLOT)):
        slot = data[index * SLOT : (index + 1) * SLOT]
        if not slot and index:
            continue
        mark = _parse_legacy(slot, key, chain)
        if mark is None:
            yield Mark(chain, 0, b"", f"checkpoint {path.name} slot {index} was altered (or torn)")
        elif best is None or mark.seq > best.seq:
            best = mark
    if best is not None:
        yield best


def _parse_legacy(slot: bytes, key: bytes, chain: str) -> Mark | None:
    try:
        document = json.loads(slot)
        seq, mac = int(document["seq"]), bytes.fromhex(document["mac"])
        tag = bytes.fromhex(document["tag"])
        named = document["chain"]
    except (ValueError, KeyError, TypeError):
        return None
    if named != chain or not hmac.compare_digest(tag, checkpoint_tag(key, chain, seq, mac)):
        return None
    return Mark(chain, seq, mac, legacy=True)
