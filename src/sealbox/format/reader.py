"""A bounds-checked cursor over bytes, for the pure parsers.

Every read checks what has actually arrived, so a length field can never make
a parser allocate or read past the input: it fails with ``TRUNCATED`` (or with
the caller's code when the bytes lie inside a field whose length is known).
"""

from __future__ import annotations

import struct

from sealbox.errors import ErrorCode, MalformedMessageError, truncated

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class Reader:
    """Sequential reads from ``data`` starting at ``pos``.

    ``short_code`` is the error raised when the data ends early: ``TRUNCATED``
    for a message as a whole, ``HEADER_INVALID`` inside a length-delimited field.
    """

    __slots__ = ("_data", "_short_code", "pos")

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        pos: int = 0,
        *,
        short_code: ErrorCode = ErrorCode.TRUNCATED,
    ) -> None:
        self._data = data
        self.pos = pos
        self._short_code = short_code

    @property
    def remaining(self) -> int:
        return len(self._data) - self.pos

    def _short(self, what: str) -> MalformedMessageError:
        if self._short_code is ErrorCode.TRUNCATED:
            return truncated(what)
        return MalformedMessageError(
            f"malformed message: {what} runs past the end of its field", code=self._short_code
        )

    def take(self, length: int, what: str) -> bytes:
        end = self.pos + length
        if end > len(self._data):
            raise self._short(what)
        chunk = bytes(self._data[self.pos : end])
        self.pos = end
        return chunk

    def u8(self, what: str) -> int:
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
        if self.pos + fmt.size > len(self._data):
            raise self._short(what)
        (value,) = fmt.unpack_from(self._data, self.pos)
        self.pos += fmt.size
        return int(value)
