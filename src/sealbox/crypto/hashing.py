"""Hash a message for its signature on a second thread.

Signed suites must hash every byte before the footer. hashlib releases the
GIL on large updates, so hashing chunk *n* on a worker thread while the
caller encrypts or decrypts chunk *n+1* overlaps the two costs on two cores.

Chunks handed to :meth:`BackgroundHasher.update` must not change until
:meth:`BackgroundHasher.digest` returns. Small inputs are hashed inline and no
thread is started.
"""

from __future__ import annotations

import hashlib
import queue
import threading

from sealbox.crypto.aead import Buffer

INLINE_LIMIT = 1 << 16
HASH_BATCH = 1 << 18  # bytes the encryptor and decryptor hand to the hasher at a time
_QUEUE_DEPTH = 8  # bounds the memory the caller can run ahead by


class BackgroundHasher:
    """An incremental hash whose large updates run on a worker thread."""

    __slots__ = ("_errors", "_hash", "_queue", "_thread")

    def __init__(self, name: str) -> None:
        self._queue: queue.Queue[Buffer | None] | None = None
        self._thread: threading.Thread | None = None
        self._hash = hashlib.new(name)
        self._errors: list[BaseException] = []

    def update(self, data: Buffer) -> None:
        if self._thread is None:
            if len(data) < INLINE_LIMIT:
                self._hash.update(data)
                return
            self._queue = queue.Queue(maxsize=_QUEUE_DEPTH)
            # The worker holds no reference to self, so an abandoned hasher is
            # still collected and __del__ stops its thread.
            self._thread = threading.Thread(
                target=_work, args=(self._queue, self._hash, self._errors), daemon=True
            )
            self._thread.start()
        assert self._queue is not None
        self._queue.put(data)

    def _stop(self) -> None:
        if self._thread is not None:
            assert self._queue is not None
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def digest(self) -> bytes:
        """Wait for pending chunks and return the digest."""
        self._stop()
        if self._errors:
            raise self._errors[0]
        return self._hash.digest()

    def close(self) -> None:
        """Stop the worker without a digest (error paths); safe to call twice."""
        self._stop()

    def __del__(self) -> None:
        self._stop()


def _work(
    chunks: queue.Queue[Buffer | None], digest: hashlib._Hash, errors: list[BaseException]
) -> None:
    while (chunk := chunks.get()) is not None:
        try:
            digest.update(chunk)
        except BaseException as error:  # reported by digest(), never lost
            errors.append(error)
        del chunk  # release the caller's buffer at once
