"""Encryption context serialization.

spec: framework/structures.md#serialization. An empty context serializes to
no bytes at all. Otherwise ``count:u16`` then ``key_len:u16 ‖ key ‖
value_len:u16 ‖ value`` per pair (UTF-8), sorted by the UTF-8 bytes of the
key. Parsing accepts unsorted pairs because official vectors contain them,
and rejects duplicates, count 0 and bytes left inside the field.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from sealbox.errors import ErrorCode, MalformedMessageError, UsageError
from sealbox.format.reader import Reader

MAX_FIELD = 0xFFFF  # every length is a u16: the whole context, the count, each key and value
RESERVED_PREFIX = "aws-crypto-"
PUBLIC_KEY_FIELD = "aws-crypto-public-key"


def _encode(text: object, role: str) -> bytes:
    if not isinstance(text, str):
        raise UsageError(
            f"encryption context {role}s must be str, got {type(text).__name__}: {text!r}"
        )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"encryption context {role} {text!r} is not valid Unicode (lone surrogate?)"
        ) from None


def serialize_encryption_context(context: Mapping[str, str]) -> bytes:
    """Canonical bytes of ``context``; raises UsageError if it cannot be encoded."""
    if not context:
        return b""
    pairs = sorted((_encode(k, "key"), _encode(v, "value")) for k, v in context.items())
    if len(pairs) > MAX_FIELD:
        raise UsageError(
            f"encryption context has {len(pairs)} pairs; the message format allows {MAX_FIELD}",
            code=ErrorCode.ENCRYPTION_CONTEXT_TOO_LARGE,
        )
    parts = [struct.pack(">H", len(pairs))]
    for key, value in pairs:
        for item in (key, value):
            if len(item) > MAX_FIELD:
                raise UsageError(
                    f"an encryption context entry is {len(item)} bytes of UTF-8; "
                    f"each key and value must be at most {MAX_FIELD}",
                    code=ErrorCode.ENCRYPTION_CONTEXT_TOO_LARGE,
                )
            parts.append(struct.pack(">H", len(item)))
            parts.append(item)
    serialized = b"".join(parts)
    if len(serialized) > MAX_FIELD:
        raise UsageError(
            f"encryption context serializes to {len(serialized)} bytes; "
            f"the message format allows {MAX_FIELD}",
            code=ErrorCode.ENCRYPTION_CONTEXT_TOO_LARGE,
        )
    return serialized


def _invalid(reason: str) -> MalformedMessageError:
    return MalformedMessageError(
        f"malformed encryption context in the header: {reason}", code=ErrorCode.HEADER_INVALID
    )


def _decode(raw: bytes, role: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(f"a {role} is not valid UTF-8") from None


def parse_encryption_context(data: bytes | memoryview) -> dict[str, str]:
    """Parse the header's AAD field (its exact bytes, without the length prefix)."""
    if len(data) == 0:
        return {}
    reader = Reader(data, short_code=ErrorCode.HEADER_INVALID)
    count = reader.u16("the encryption context pair count")
    if count == 0:
        raise _invalid("pair count is 0 but the field is not empty")
    context: dict[str, str] = {}
    for _ in range(count):
        key = _decode(reader.take(reader.u16("a key length"), "a key"), "key")
        value = _decode(reader.take(reader.u16("a value length"), "a value"), "value")
        if key in context:
            raise _invalid(f"duplicate key {key!r}")
        context[key] = value
    if reader.remaining:
        raise _invalid(f"{reader.remaining} bytes left after the last pair")
    return context


def check_caller_context(context: Mapping[str, str]) -> None:
    """Refuse reserved keys in a caller's context (spec: MUST fail, reference does not)."""
    for key in context:
        if isinstance(key, str) and key.startswith(RESERVED_PREFIX):
            raise UsageError(
                f"encryption context key {key!r} uses the reserved prefix {RESERVED_PREFIX!r}; "
                "rename it (Sealbox adds aws-crypto-public-key itself for signed suites)",
                code=ErrorCode.RESERVED_ENCRYPTION_CONTEXT_KEY,
            )
