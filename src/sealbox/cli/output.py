"""Output files written atomically: a temporary file (mode 0600) renamed into place on success."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sealbox.errors import SealboxError, UsageError


@contextlib.contextmanager
def atomic_output(target: str, *, make_parents: bool = False) -> Iterator[BinaryIO]:
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
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise SealboxError(f"writing {target} failed: {error.strerror or error}") from None
        raise
