"""Copy a library stream to its output through a few reused buffers, writing on a
second thread.

The stream fills a buffer in place (``readinto``: no chunk objects, no fresh
memory, whose page faults cost more than the crypto) while the previous
buffer is written: the write system calls (and the page cache's work behind
them) overlap with encryption or decryption on the other core, and so does
the hashing of a signed message's ciphertext. Only bytes the stream has
released are written: verified plaintext when decrypting.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Protocol

BUFFERS = 3
BUFFER_SIZE = 1 << 20  # 3 MiB in all: the CLI stays within 64 MiB with botocore loaded (~32 MiB)


class Filling(Protocol):
    """A library stream: it may still hash a buffer it filled until ``wait_hashed``."""

    def readinto(self, buffer: memoryview, /, *, wait: bool = True) -> int: ...

    @property
    def hash_token(self) -> int: ...

    def wait_hashed(self, token: int) -> None: ...


def pump(
    stream: Filling,
    write: Callable[[memoryview], object],
    *,
    buffers: int = BUFFERS,
    size: int = BUFFER_SIZE,
) -> int:
    """Copy ``stream`` to ``write`` until it ends; return the bytes copied.

    ``write`` runs on a helper thread, one buffer at a time and in order. An
    error on either side stops both and is raised here."""
    free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
    for _ in range(buffers):
        free.put(memoryview(bytearray(size)))
    full: queue.SimpleQueue[tuple[memoryview, int, int] | None] = queue.SimpleQueue()
    failed: list[BaseException] = []
    writer = threading.Thread(
        target=_write_all, args=(full, free, write, stream.wait_hashed, failed), daemon=True
    )
    writer.start()
    total = 0
    try:
        while not failed:
            buffer = free.get()
            if failed:
                break
            # Hashing for a signature may go on reading the buffer while it is written.
            count = stream.readinto(buffer, wait=False)
            if not count:
                break
            full.put((buffer, count, stream.hash_token))
            total += count
    finally:
        full.put(None)
        writer.join()
    if failed:
        raise failed[0]
    return total


def _write_all(
    full: queue.SimpleQueue[tuple[memoryview, int, int] | None],
    free: queue.SimpleQueue[memoryview],
    write: Callable[[memoryview], object],
    wait_hashed: Callable[[int], None],
    failed: list[BaseException],
) -> None:
    while (item := full.get()) is not None:
        buffer, count, token = item
        if not failed:
            try:
                write(buffer[:count])
            except BaseException as error:  # raised by pump() on the main thread
                failed.append(error)
        wait_hashed(token)  # before the buffer is filled again
        free.put(buffer)  # also after a failure, so that pump() never waits for one
