"""Runs of whole regular frames, encrypted or decrypted straight between the caller's
buffers with one AES-GCM object (the hot loops of :mod:`sealbox.encryptor` and
:mod:`sealbox.decryptor`).

Large unsigned bodies use two cores: the frames are split into two runs, the second on a
thread of its own, while pyca works with the GIL released. Signed messages already use
the second core for hashing (:mod:`sealbox.crypto.hashing`), so only unsigned ones are
split.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Callable

from cryptography.exceptions import InvalidTag

from sealbox.crypto.aead import GCM
from sealbox.crypto.hashing import HASH_BATCH, BackgroundHasher
from sealbox.errors import AuthenticationError
from sealbox.format.body import REGULAR_FRAME_OVERHEAD


def cores() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# Unsigned bodies from this size are split in two runs on two threads, where there are two
# cores to run them (measured slower when there are not).
PARALLEL_FROM = 16 << 20 if cores() > 1 else 0


class Worker:
    """``function(*args)`` on a thread of its own; :meth:`result` joins it."""

    def __init__(self, function: Callable[..., int], *args: object) -> None:
        self._outcome: list[int | BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(function, args), daemon=True)
        self._thread.start()

    def _run(self, function: Callable[..., int], args: tuple[object, ...]) -> None:
        try:
            self._outcome.append(function(*args))
        except BaseException as error:  # re-raised by result() on the caller's thread
            self._outcome.append(error)

    def result(self) -> int:
        self._thread.join()
        outcome = self._outcome[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


_FRAME_PREFIX = struct.Struct(">IQI")  # sequence number, then the IV: 8 zero bytes ‖ sequence
_U32 = struct.Struct(">I")


def encrypt_run(
    gcm: GCM,
    frame: int,
    first: int,
    plaintext: memoryview | bytes,
    out: memoryview,
    aad: bytearray,
    at: int,
    hasher: BackgroundHasher | None,
) -> int:
    """Encrypt whole frames numbered from ``first`` into ``out``, hashing them in batches
    if ``hasher``; ``aad`` is this run's own (its sequence field is rewritten per frame)."""
    frame_size = frame + REGULAR_FRAME_OVERHEAD
    count = len(plaintext) // frame
    encrypt_into = gcm.frame_encryptor(frame)
    prefix = _FRAME_PREFIX.pack_into
    set_sequence = _U32.pack_into
    per_batch = max(1, HASH_BATCH // frame_size)
    position = 0
    source = 0
    for batch_first in range(first, first + count, per_batch):
        batch_start = position
        for sequence in range(batch_first, min(batch_first + per_batch, first + count)):
            prefix(out, position, sequence, 0, sequence)
            set_sequence(aad, at, sequence)
            encrypt_into(
                out[position + 4 : position + 16],
                plaintext[source : source + frame],
                aad,
                out[position + 16 : position + frame_size],
            )
            position += frame_size
            source += frame
        if hasher is not None:
            hasher.update(out[batch_start:position])
    return position


def frames_in_order(data: memoryview, start: int, frame_size: int, first: int) -> int:
    """How many whole regular frames follow ``start``, numbered from ``first`` on."""
    count = (len(data) - start) // frame_size
    unpack = _U32.unpack_from
    for index in range(count):
        if unpack(data, start + index * frame_size)[0] != first + index:
            return index  # the final frame's marker, or a sequence error the loop reports
    return count


def _decrypt_run(
    gcm: GCM,
    frame: int,
    first: int,
    count: int,
    data: memoryview,
    start: int,
    out: memoryview,
    at_out: int,
    aad: bytearray,
    at: int,
) -> int:
    """Decrypt ``count`` regular frames (numbered from ``first``, checked) into ``out``;
    return how many verified before the first that did not, whose plaintext is zeroed."""
    decrypt_into = gcm.frame_decryptor(frame)
    set_sequence = _U32.pack_into
    frame_size = frame + REGULAR_FRAME_OVERHEAD
    for index in range(count):
        set_sequence(aad, at, first + index)
        try:
            decrypt_into(
                data[start + 4 : start + 16],
                data[start + 16 : start + frame_size],
                aad,
                out[at_out : at_out + frame],
            )
        except (InvalidTag, AuthenticationError):
            out[at_out : at_out + frame] = bytes(frame)
            return index
        start += frame_size
        at_out += frame
    return count


def decrypt_in_two(
    gcm: GCM,
    frame: int,
    first: int,
    count: int,
    data: memoryview,
    start: int,
    out: memoryview,
    at_out: int,
    aad: bytearray,
    at: int,
) -> int:
    """:func:`_decrypt_run` with the second half of the frames on another thread; how many
    verified in a row from the first. Nothing after a failed frame is left in ``out``:
    not even the other half's verified plaintext, which is not released."""
    half = count // 2
    worker = Worker(
        _decrypt_run,
        gcm.twin(),
        frame,
        first + half,
        count - half,
        data,
        start + half * (frame + REGULAR_FRAME_OVERHEAD),
        out,
        at_out + half * frame,
        bytearray(aad),
        at,
    )
    try:
        verified = _decrypt_run(gcm, frame, first, half, data, start, out, at_out, aad, at)
    finally:
        second = worker.result()
    if verified < half:
        after = at_out + half * frame
        out[after : after + second * frame] = bytes(second * frame)
        return verified
    return half + second
