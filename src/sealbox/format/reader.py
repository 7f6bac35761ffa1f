"""A bounds-checked cursor over bytes, for the pure parsers.

Every read checks what has actually arrived, so a length field can never make
a parser allocate or read past the input: it fails with ``TRUNCATED`` (or with
the caller's code when the bytes lie inside a field whose length is known).

A reader may also have a ``limit``: a read that would end past it fails with
the caller's error at once, even if those bytes have not arrived yet, so that a
declared length is refused before anyone buffers the bytes it announces.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from sealbox.errors import ErrorCode, MalformedMessageError, SealboxError, truncated

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class Reader:
    """Sequential reads from ``data`` starting at ``pos``.

    ``short_code`` is the error raised when the data ends early: ``TRUNCATED``
    for a message as a whole, ``HEADER_INVALID`` inside a length-delimited field.
    """

    __slots__ = ("_data", "_limit", "_over_limit", "_short_code", "pos")

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        pos: int = 0,
        *,
        short_code: ErrorCode = ErrorCode.TRUNCATED,
        limit: int | None = None,
        over_limit: Callable[[int, str], SealboxError] | None = None,
    ) -> None:
        """``over_limit(end, what)`` builds the error for a read ending at ``end`` > ``limit``."""
        self._data = data
        self.pos = pos
        self._short_code = short_code
        self._limit = limit
        self._over_limit = over_limit

    @property
    def remaining(self) -> int:
        return len(self._data) - self.pos

    def _short(self, what: str) -> MalformedMessageError:
        if self._short_code is ErrorCode.TRUNCATED:
            return truncated(what)
        return MalformedMessageError(
            f"malformed message: {what} runs past the end of its field", code=self._short_code
        )

    def _check_limit(self, end: int, what: str) -> None:
        if self._limit is not None and end > self._limit:
            assert self._over_limit is not None
            raise self._over_limit(end, what)

    def take(self, length: int, what: str) -> bytes:
        end = self.pos + length
        self._check_limit(end, what)
        if end > len(self._data):
            raise self._short(what)
        chunk = bytes(self._data[self.pos : end])
        self.pos = end
        return chunk

    def u8(self, what: str) -> int:
        self._check_limit(self.pos + 1, what)
        if self.pos >= len(self._data):
            raise self._short(what)
        value = self._data[self.pos]
        self.pos += 1
        return value

    def u16(self, what: str) -> int:
        return self._unpack(_U16, what)

    def u32(self, what: str) -> int:
        return self._unpack(_U32, what)

    def u64(self, what: str) -> int:
        return self._unpack(_U64, what)

    def _unpack(self, fmt: struct.Struct, what: str) -> int:
        self._check_limit(self.pos + fmt.size, what)
        if self.pos + fmt.size > len(self._data):
            raise self._short(what)
        (value,) = fmt.unpack_from(self._data, self.pos)
        self.pos += fmt.size
        return int(value)
