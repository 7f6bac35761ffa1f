"""Output files written atomically: a temporary file (mode 0600) renamed into place on success.

The file is fsynced before the rename, so that a crash never leaves a short or
empty file under the target's name. Since its bytes must reach the disk
anyway, they bypass the page cache (O_DIRECT) where the file system allows:
copying them into the cache first doubles the work (and on virtual machines a
fresh page of cache costs more than encrypting it), and a large output would
evict what the cache holds for others.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from sealbox.errors import SealboxError, UsageError


class Sink(Protocol):
    def write(self, data: bytes | memoryview, /) -> int: ...


class _EarlyWriteback:
    """A file that asks the kernel to write back every ``EVERY`` bytes on a helper
    thread, so the final fsync (needed before the rename, or a crash could leave
    an empty file under the target name) has little left to wait for."""

    EVERY = 32 * 1024 * 1024

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._unsynced = 0
        self._syncing: threading.Thread | None = None

    def write(self, data: bytes | memoryview) -> int:
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


def _set_direct(fd: int, on: bool) -> bool:
    """Turn O_DIRECT on or off for ``fd``; whether it is now on."""
    direct = getattr(os, "O_DIRECT", 0)
    if not direct:
        return False
    import fcntl

    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | direct if on else flags & ~direct)
    except OSError:  # a file system without direct I/O
        return False
    return on


class _DirectWrites:
    """Writes that bypass the page cache through one aligned staging buffer.

    O_DIRECT needs aligned addresses, lengths and offsets: each full staging
    buffer (an anonymous mapping, so page-aligned) goes out as it is; the last,
    partial one through the page cache. A file system that refuses O_DIRECT
    gets ordinary writes from then on."""

    STAGE = 2 * 1024 * 1024  # a multiple of any block size O_DIRECT asks alignment to

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._direct = _set_direct(fd, True)
        self._stage = mmap.mmap(-1, self.STAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self._view = memoryview(self._stage)
        self._held = 0

    @classmethod
    def open(cls, fd: int) -> _DirectWrites | None:
        """Direct writes to ``fd``, or None where O_DIRECT is unavailable."""
        if not getattr(os, "O_DIRECT", 0) or not hasattr(mmap, "MAP_ANONYMOUS"):
            return None
        writes = cls(fd)
        if writes._direct:
            return writes
        writes.wait()
        return None

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            count = min(len(view), self.STAGE - self._held)
            self._view[self._held : self._held + count] = view[:count]
            self._held += count
            view = view[count:]
            if self._held == self.STAGE:
                self._flush()
        return total

    def _flush(self) -> None:
        pending = self._view[: self._held]
        while pending:
            try:
                pending = pending[os.write(self._fd, pending) :]
            except OSError as error:
                if error.errno != errno.EINVAL or not self._direct:
                    raise
                self._direct = _set_direct(self._fd, False)  # refused: write through the cache
        self._held = 0

    def finish(self) -> None:
        if self._held and self._direct:
            self._direct = _set_direct(self._fd, False)  # a partial block: through the cache
        self._flush()
        os.fsync(self._fd)

    def wait(self) -> None:
        """Free the staging buffer (safe to call twice)."""
        if not self._stage.closed:
            self._view.release()
            # A slice kept alive by an error's traceback pins the mapping: GC frees it then.
            with contextlib.suppress(BufferError):
                self._stage.close()


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
            sink = _DirectWrites.open(fd) or _EarlyWriteback(handle)
            try:
                yield sink
                sink.finish()
            finally:
                sink.wait()  # never leave a helper thread syncing a closed file, nor a buffer
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise SealboxError(f"writing {target} failed: {error.strerror or error}") from None
        raise
