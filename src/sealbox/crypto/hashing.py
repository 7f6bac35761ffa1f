"""Hash a message for its signature on a second thread.

Signed suites must hash every byte before the footer. hashlib releases the
GIL on large updates, so hashing chunk *n* on a worker thread while the
caller encrypts or decrypts chunk *n+1* overlaps the two costs on two cores.

A chunk handed to :meth:`BackgroundHasher.update` must not change until it is
hashed: :meth:`BackgroundHasher.wait` returns once the chunks up to a token
are (so that a caller may reuse the buffer), :meth:`BackgroundHasher.digest`
once all are. Small inputs are hashed inline and no thread is started.
"""

from __future__ import annotations

import hashlib
import queue
import threading

from sealbox.crypto.aead import Buffer

INLINE_LIMIT = 1 << 16
HASH_BATCH = 1 << 18  # bytes the encryptor and decryptor hand to the hasher at a time
_QUEUE_DEPTH = 8  # bounds the memory the caller can run ahead by


class _Progress:
    """What the worker shares with the caller: chunks hashed so far, and errors."""

    __slots__ = ("changed", "done", "errors")

    def __init__(self) -> None:
        self.done = 0
        self.errors: list[BaseException] = []
        self.changed = threading.Condition(threading.Lock())


class BackgroundHasher:
    """An incremental hash whose large updates run on a worker thread."""

    __slots__ = ("_hash", "_progress", "_queue", "_queued", "_thread")

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[Buffer | None] | None = None
        self._thread: threading.Thread | None = None
        self._hash = hashlib.new(name)
        self._progress = _Progress()
        self._queued = 0  # chunks handed to the worker

    def update(self, data: Buffer) -> int:
        """Hash ``data`` (now or on the worker); return the token to :meth:`wait` for."""
        if self._thread is None:
            if len(data) < INLINE_LIMIT:
                self._hash.update(data)
                return 0
            self._queue = queue.SimpleQueue()
            # The worker holds no reference to self, so an abandoned hasher is
            # still collected and __del__ stops its thread.
            self._thread = threading.Thread(
                target=_work, args=(self._queue, self._hash, self._progress), daemon=True
            )
            self._thread.start()
        assert self._queue is not None
        if self._queued - self._progress.done >= _QUEUE_DEPTH:
            self.wait(self._queued - _QUEUE_DEPTH + 1)
        self._queue.put(data)
        self._queued += 1
        return self._queued

    @property
    def token(self) -> int:
        """The token of the last chunk handed over (0 before any)."""
        return self._queued

    def wait(self, token: int) -> None:
        """Return once the chunks up to ``token`` are hashed and released."""
        progress = self._progress
        if progress.done >= token or self._thread is None:
            return
        with progress.changed:
            while progress.done < token:
                progress.changed.wait()

    def _stop(self) -> None:
        if self._thread is not None:
            assert self._queue is not None
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def digest(self) -> bytes:
        """Wait for pending chunks and return the digest."""
        self._stop()
        if self._progress.errors:
            raise self._progress.errors[0]
        return self._hash.digest()

    def close(self) -> None:
        """Stop the worker without a digest (error paths); safe to call twice."""
        self._stop()

    def __del__(self) -> None:
        self._stop()


def _work(
    chunks: queue.SimpleQueue[Buffer | None], digest: hashlib._Hash, progress: _Progress
) -> None:
    while (chunk := chunks.get()) is not None:
        try:
            digest.update(chunk)
        except BaseException as error:  # reported by digest(), never lost
            progress.errors.append(error)
        del chunk  # release the caller's buffer before saying so
        with progress.changed:
            progress.done += 1
            progress.changed.notify()
