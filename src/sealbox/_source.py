"""Turn a caller's ``source`` into bytes or a reader, refusing ambiguous types.

A ``str`` is never data and never a path: the reference SDK encrypted file
names as text (aws-encryption-sdk-python #624). Paths must be ``os.PathLike``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Protocol, TypeAlias

from sealbox.errors import ErrorCode, UsageError


class Reader(Protocol):
    """Anything with ``read(size)`` returning bytes: files, sockets, S3 bodies."""

    def read(self, size: int = -1, /) -> bytes: ...


Source: TypeAlias = bytes | bytearray | memoryview | Reader | os.PathLike[str]


def _refuse_str() -> UsageError:
    return UsageError(
        "source is a str; Sealbox never guesses whether text is data or a file name. "
        "Pass bytes (text.encode()), a file opened with 'rb', or a pathlib.Path",
        code=ErrorCode.INVALID_SOURCE,
    )


def _refuse(source: object) -> UsageError:
    return UsageError(
        f"source must be bytes-like, a binary file object or a pathlib.Path, "
        f"not {type(source).__name__}",
        code=ErrorCode.INVALID_SOURCE,
    )


def _checked(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        raise UsageError(
            "source returned str: the file is open in text mode; open it with 'rb'",
            code=ErrorCode.INVALID_SOURCE,
        )
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise _refuse(chunk)


def read_all(source: Source) -> bytes | bytearray | memoryview:
    """The whole input, without copying bytes-like sources."""
    if isinstance(source, str):
        raise _refuse_str()
    if isinstance(source, bytes | bytearray):
        return source
    if isinstance(source, memoryview):
        return source.cast("B") if source.format != "B" or source.ndim != 1 else source
    if isinstance(source, os.PathLike):
        return Path(source).read_bytes()
    if hasattr(source, "read"):
        return _checked(source.read())
    raise _refuse(source)


class _BytesReader:
    """Reads an in-memory source. Slices of an immutable ``bytes`` are handed out
    without a copy; mutable sources are copied so later changes cannot leak in."""

    __slots__ = ("_copy", "_data", "_position")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._copy = not isinstance(data, bytes)
        self._data = memoryview(data).cast("B")
        self._position = 0

    def read(self, size: int = -1, /) -> bytes:
        start = self._position
        end = len(self._data) if size < 0 else min(len(self._data), start + size)
        self._position = end
        piece = self._data[start:end]
        # A read-only view of immutable bytes behaves like bytes for every consumer here.
        return bytes(piece) if self._copy else piece  # type: ignore[return-value]


class _CheckedReader:
    __slots__ = ("_source",)

    def __init__(self, source: Reader) -> None:
        self._source = source

    def read(self, size: int = -1, /) -> bytes:
        return _checked(self._source.read(size))


def open_reader(source: Source) -> tuple[Reader, IO[bytes] | None]:
    """A reader for ``source`` and, if we opened a file, the file to close."""
    if isinstance(source, str):
        raise _refuse_str()
    if isinstance(source, bytes | bytearray | memoryview):
        return _BytesReader(source), None
    if isinstance(source, os.PathLike):
        handle = open(source, "rb")
        return handle, handle
    if hasattr(source, "read"):
        return _CheckedReader(source), None
    raise _refuse(source)
