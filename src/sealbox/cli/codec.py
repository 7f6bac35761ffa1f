"""Streaming Base64 for ``--encode`` / ``--decode``: messages that survive shells and variables."""

from __future__ import annotations

import base64
import binascii
from typing import BinaryIO

from sealbox._source import Reader
from sealbox.errors import ErrorCode, SealboxError

_WHITESPACE = b" \t\r\n"


class Base64Encoder:
    """Encodes a byte stream chunk by chunk (carrying the bytes that do not fill a group of 3)."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._carry + chunk
        whole = len(data) - len(data) % 3
        self._carry = data[whole:]
        return base64.b64encode(data[:whole])

    def finish(self) -> bytes:
        return base64.b64encode(self._carry) + b"\n"


class Base64DecodingReader:
    """A reader that decodes Base64 text from ``source``, ignoring whitespace."""

    def __init__(
        self, source: Reader | BinaryIO, prefix: bytes = b"", *, asked: bool = True
    ) -> None:
        """``asked``: --decode was given (else the input only looked like Base64)."""
        self._source = source
        self._text = prefix.translate(None, _WHITESPACE)
        self._eof = False
        self._asked = asked

    def read(self, size: int = -1, /) -> bytes:
        want_chars = -1 if size < 0 else ((size + 2) // 3) * 4
        while not self._eof and (want_chars < 0 or len(self._text) < want_chars):
            chunk = self._source.read(1 << 20)
            if not chunk:
                self._eof = True
                break
            self._text += chunk.translate(None, _WHITESPACE)
        usable = len(self._text) if self._eof else len(self._text) - len(self._text) % 4
        if want_chars >= 0:
            usable = min(usable, want_chars)
        text, self._text = self._text[:usable], self._text[usable:]
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            why = (
                "drop --decode if it is a binary message"
                if self._asked
                else "it starts like a Base64 message ('AY' or 'Ag') but does not decode"
            )
            raise SealboxError(
                f"the input is not valid Base64 ({why})", code=ErrorCode.BASE64_INPUT
            ) from None


def looks_base64(prefix: bytes) -> bool:
    """A message's first two bytes in Base64 are 'AY' (version 1) or 'Ag' (version 2)."""
    return prefix[:2] in (b"AY", b"Ag")
