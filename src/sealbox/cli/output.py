"""Output files written atomically: a temporary file (mode 0600) renamed into place on success."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from sealbox.errors import SealboxError, UsageError


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class _EarlyWriteback:
    """A file that asks the kernel to write back every ``EVERY`` bytes on a helper
    thread, so the final fsync (needed before the rename, or a crash could leave
    an empty file under the target name) has little left to wait for."""

    EVERY = 32 * 1024 * 1024

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._unsynced = 0
        self._syncing: threading.Thread | None = None

    def write(self, data: bytes) -> int:
        written = self._handle.write(data)
        self._unsynced += written
        if self._unsynced >= self.EVERY and not (self._syncing and self._syncing.is_alive()):
            self._handle.flush()
            self._unsynced = 0
            self._syncing = threading.Thread(
                target=os.fdatasync, args=(self._handle.fileno(),), daemon=True
            )
            self._syncing.start()
        return written

    def wait(self) -> None:
        if self._syncing is not None:
            self._syncing.join()

    def finish(self) -> None:
        self._handle.flush()
        self.wait()
        os.fsync(self._handle.fileno())


@contextlib.contextmanager
def atomic_output(target: str, *, make_parents: bool = False) -> Iterator[Sink]:
    """Yield a file for ``target`` (``-`` is stdout). A file target appears only
    if the block completes; on any error the temporary file is removed.
    ``make_parents`` creates missing directories above ``target``."""
    if target == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    path = Path(target)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        if make_parents:
            directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".sealbox-tmp", dir=directory
        )
    except OSError as error:
        raise UsageError(f"cannot write output {target}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            sink = _EarlyWriteback(handle)
            try:
                yield sink
                sink.finish()
            finally:
                sink.wait()  # never leave a helper thread syncing a closed file
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise SealboxError(f"writing {target} failed: {error.strerror or error}") from None
        raise
