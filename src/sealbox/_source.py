"""Turn a caller's ``source`` into bytes or a reader, refusing ambiguous types.

A ``str`` is never data and never a path: the reference SDK encrypted file
names as text (aws-encryption-sdk-python #624). Paths must be ``os.PathLike``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
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

    def readinto(self, buffer: memoryview, /) -> int:
        count = self._source.readinto(buffer)  # type: ignore[attr-defined]
        if isinstance(count, int) and not isinstance(count, bool) and 0 <= count <= len(buffer):
            return count
        if count is None:  # a non-blocking source with nothing ready: read() would fail too
            raise _refuse(None)
        raise UsageError(
            f"source.readinto() returned {count!r}, not a byte count", code=ErrorCode.INVALID_SOURCE
        )


Fill: TypeAlias = Callable[[memoryview], int]


def has_readinto(source: object) -> bool:
    """Whether ``source`` implements readinto() (io.RawIOBase declares one that raises)."""
    method = getattr(type(source), "readinto", None)
    return method is not None and method is not io.RawIOBase.readinto


def filler(reader: Reader) -> Fill | None:
    """``reader.readinto`` where reading into our own reused buffer saves a copy (files,
    and sources that have it); None for in-memory sources, whose slices cost nothing."""
    if isinstance(reader, _BytesReader):
        return None
    if isinstance(reader, _CheckedReader):
        return reader.readinto if has_readinto(reader._source) else None
    return reader.readinto if has_readinto(reader) else None  # type: ignore[attr-defined]


class Chunker:
    """Pieces of a source of the size asked for, with a remainder carried to the next piece.

    A source with ``readinto`` is read into one buffer, reused for every piece (a
    fresh buffer per piece costs page faults); a piece is then valid only until
    the next call. Other sources are read as they hand out bytes."""

    __slots__ = ("_buffer", "_carried", "_ended", "_fill", "_reader")

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._fill = filler(reader)
        self._buffer = memoryview(bytearray())
        self._carried: bytes | memoryview = b""
        self._ended = False

    @property
    def carried(self) -> int:
        return len(self._carried)

    def next(self, size: int) -> tuple[bytes | memoryview, bool]:
        """The carried bytes and what one read of up to ``size`` more returns; whether
        the source has ended. Call :meth:`carry` with what the caller leaves over."""
        carried, self._carried = self._carried, b""
        if self._ended:
            return carried, True
        if self._fill is None:
            chunk = self._reader.read(size)
            self._ended = not chunk
            return (bytes(carried) + chunk if carried and chunk else carried or chunk), not chunk
        have = len(carried)
        if len(self._buffer) < have + size:
            grown = memoryview(bytearray(have + size))  # grown once, then reused
            grown[:have] = carried
            self._buffer = grown
        count = self._fill(self._buffer[have : have + size])
        self._ended = count == 0
        return self._buffer[: have + count], self._ended

    def carry(self, rest: bytes | memoryview) -> None:
        """Keep ``rest``, the unused end of the last piece, for the next piece."""
        if self._fill is None or not rest:
            self._carried = bytes(rest)
            return
        self._buffer[: len(rest)] = rest  # memoryview assignment copies as memmove does
        self._carried = self._buffer[: len(rest)]


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
