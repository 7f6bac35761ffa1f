"""Message header: version 1 and 2 bodies, encrypted data keys, header authentication.

spec: data-format/message-header.md. Pure: bytes in, frozen dataclasses out,
and back. The parser keeps the header body bytes exactly as received so that
the caller authenticates those bytes, never a re-serialization.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sealbox.errors import ErrorCode, LimitExceededError, MalformedMessageError, UsageError
from sealbox.format.context import (
    MAX_FIELD,
    parse_encryption_context,
    serialize_encryption_context,
)
from sealbox.format.reader import Reader
from sealbox.format.suites import IV_LENGTH, TAG_LENGTH, Algorithm, ContentType

V1_TYPE_CUSTOMER_AED = 0x80
COMMITMENT_LENGTH = 32
# Decrypt default for untrusted input. A header holds a context of at most 64 KiB
# and the wrapped data keys: a hundred KMS keys take well under 1 MiB, so 4 MiB
# refuses no real message, while the format allows ~12.9 GB (65,535 keys of
# three 64 KiB fields each) that no valid key is needed to write.
DEFAULT_MAX_HEADER_SIZE = 4 << 20


@dataclass(frozen=True, slots=True)
class MasterKeyInfo:
    """The reference package's name for an EDK's (provider id, provider info) pair."""

    provider_id: str
    key_info: bytes


@dataclass(frozen=True, slots=True)
class EncryptedDataKey:
    """One wrapped copy of the data key: who wrapped it, how to find the key, the ciphertext."""

    provider_id: str
    provider_info: bytes
    ciphertext: bytes

    @property
    def key_provider(self) -> MasterKeyInfo:
        """Reference-package spelling of ``(provider_id, provider_info)``."""
        return MasterKeyInfo(self.provider_id, self.provider_info)

    @property
    def encrypted_data_key(self) -> bytes:
        """Reference-package spelling of ``ciphertext``."""
        return self.ciphertext


def _frozen_context(context: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(context))


@dataclass(frozen=True)
class MessageHeader:
    """A parsed or to-be-written header body.

    ``encryption_context`` is the context stored in the message (read-only);
    ``encrypted_data_keys`` keeps wire order and duplicates.
    """

    algorithm: Algorithm
    message_id: bytes
    encryption_context: Mapping[str, str]
    encrypted_data_keys: tuple[EncryptedDataKey, ...]
    frame_length: int
    content_type: ContentType = ContentType.FRAMED
    commitment: bytes = b""  # v2 "algorithm suite data": the commit key
    _context_bytes: bytes = field(default=b"", repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.encryption_context, MappingProxyType):
            object.__setattr__(self, "encryption_context", _frozen_context(self.encryption_context))

    @property
    def version(self) -> int:
        return self.algorithm.message_version


@dataclass(frozen=True, slots=True)
class ParsedHeader:
    """A header as read from a message, with the exact bytes to authenticate."""

    header: MessageHeader
    body_bytes: bytes
    auth_iv: bytes
    auth_tag: bytes
    length: int  # header body + header authentication


def serialize_edk(edk: EncryptedDataKey) -> bytes:
    # Count UTF-8 bytes: references before 4.0.1 wrote the character count.
    provider_id = edk.provider_id.encode("utf-8")
    parts = (provider_id, edk.provider_info, edk.ciphertext)
    for part in parts:
        if len(part) > MAX_FIELD:
            raise UsageError(
                f"encrypted data key field of {len(part)} bytes exceeds {MAX_FIELD}",
                code=ErrorCode.KEYRING_FAILURE,
            )
    return b"".join(struct.pack(">H", len(part)) + part for part in parts)


def _context_bytes_of(header: MessageHeader) -> bytes:
    # A parsed header re-serializes its context exactly as received (official
    # vectors hold unsorted contexts), unless the context was replaced since.
    raw = header._context_bytes
    if raw and parse_encryption_context(raw) == dict(header.encryption_context):
        return raw
    return serialize_encryption_context(header.encryption_context)


def serialize_header_body(header: MessageHeader) -> bytes:
    """Header body bytes (everything the header tag authenticates)."""
    algorithm = header.algorithm
    context = _context_bytes_of(header)
    edks = header.encrypted_data_keys
    if not 0 < len(edks) <= MAX_FIELD:
        raise UsageError(f"a message needs 1..{MAX_FIELD} encrypted data keys, got {len(edks)}")
    parts: list[bytes] = []
    if algorithm.message_version == 1:
        # version, type, suite id, message id (16)
        parts.append(struct.pack(">BBH", 1, V1_TYPE_CUSTOMER_AED, algorithm.suite_id))
    else:
        # version, suite id, message id (32)
        parts.append(struct.pack(">BH", 2, algorithm.suite_id))
    parts.append(header.message_id)
    parts.append(struct.pack(">H", len(context)))  # AAD length
    parts.append(context)
    parts.append(struct.pack(">H", len(edks)))  # EDK count
    parts.extend(serialize_edk(edk) for edk in edks)
    if algorithm.message_version == 1:
        # content type, reserved (4 zero bytes), IV length, frame length
        parts.append(struct.pack(">BIBI", header.content_type, 0, IV_LENGTH, header.frame_length))
    else:
        # content type, frame length, algorithm suite data (commit key)
        parts.append(struct.pack(">BI", header.content_type, header.frame_length))
        parts.append(header.commitment)
    return b"".join(parts)


def serialize_header_auth(version: int, iv: bytes, tag: bytes) -> bytes:
    """v1: IV ‖ tag; v2: tag (the IV is implicitly zero)."""
    return iv + tag if version == 1 else tag


def _invalid(reason: str) -> MalformedMessageError:
    return MalformedMessageError(
        f"malformed message header: {reason}", code=ErrorCode.HEADER_INVALID
    )


def _read_version(reader: Reader, data: bytes | bytearray | memoryview) -> int:
    version = reader.u8("the version byte")
    if version in (1, 2):
        return version
    start = reader.pos - 1
    if bytes(data[start : start + 2]) in (b"AY", b"Ag"):
        raise MalformedMessageError(
            "the input looks Base64-encoded (it starts with 'AY' or 'Ag'); decode it first "
            "(sealbox decrypt --decode, or base64.b64decode)",
            code=ErrorCode.BASE64_INPUT,
        )
    char = chr(version)
    shown = (
        f"0x{version:02X}, {char!r}"
        if char.isprintable() and version < 0x7F
        else f"0x{version:02X}"
    )
    raise MalformedMessageError(
        f"the input is not an AWS Encryption SDK message (it starts with {shown}; "
        "a message starts with 0x01 or 0x02)",
        code=ErrorCode.UNSUPPORTED_VERSION,
    )


def _read_edks(reader: Reader, max_encrypted_data_keys: int | None) -> tuple[EncryptedDataKey, ...]:
    count = reader.u16("the encrypted data key count")
    if count == 0:
        raise MalformedMessageError(
            "malformed message header: the encrypted data key count is 0",
            code=ErrorCode.EDK_COUNT_ZERO,
        )
    if max_encrypted_data_keys is not None and count > max_encrypted_data_keys:
        raise LimitExceededError(
            f"the message has {count} encrypted data keys, more than the configured "
            f"max_encrypted_data_keys={max_encrypted_data_keys}",
            code=ErrorCode.EDK_LIMIT_EXCEEDED,
        )
    edks = []
    for _ in range(count):
        raw_id = reader.take(reader.u16("an EDK provider id length"), "an EDK provider id")
        try:
            provider_id = raw_id.decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid("an encrypted data key's provider id is not valid UTF-8") from None
        info = reader.take(reader.u16("an EDK provider info length"), "an EDK provider info")
        ciphertext = reader.take(reader.u16("an EDK ciphertext length"), "an EDK ciphertext")
        edks.append(EncryptedDataKey(provider_id, info, ciphertext))
    return tuple(edks)


def _read_content_fields(reader: Reader, version: int) -> tuple[ContentType, int]:
    raw_type = reader.u8("the content type")
    if raw_type not in (ContentType.NON_FRAMED, ContentType.FRAMED):
        raise _invalid(f"content type 0x{raw_type:02X} is neither framed (2) nor non-framed (1)")
    content_type = ContentType(raw_type)
    if version == 1:
        if reader.u32("the reserved field") != 0:
            raise _invalid("the reserved field is not zero")
        iv_length = reader.u8("the IV length")
        if iv_length != IV_LENGTH:
            raise _invalid(f"IV length {iv_length}; every suite uses {IV_LENGTH}")
    frame_length = reader.u32("the frame length")
    if content_type is ContentType.FRAMED and frame_length == 0:
        raise _invalid("framed content with frame length 0")
    if content_type is ContentType.NON_FRAMED and frame_length != 0:
        raise _invalid(f"non-framed content with frame length {frame_length} (must be 0)")
    return content_type, frame_length


def _header_too_large(limit: int) -> Callable[[int, str], LimitExceededError]:
    def error(end: int, what: str) -> LimitExceededError:
        return LimitExceededError(
            f"the message header is larger than max_header_size={limit} bytes "
            f"({what} would end at byte {end}); Sealbox refuses it before reading further. "
            "If you trust where the message came from, pass a larger max_header_size= "
            "(command line: --max-header-size)",
            code=ErrorCode.HEADER_TOO_LARGE,
        )

    return error


def parse_header(
    data: bytes | bytearray | memoryview,
    *,
    max_encrypted_data_keys: int | None = None,
    max_header_size: int | None = None,
) -> ParsedHeader:
    """Parse the header at the start of ``data``.

    Raises MessageError; ``TRUNCATED`` means ``data`` ends inside the header
    (a streaming caller reads more and tries again). With ``max_header_size``,
    a field that would end past that many bytes fails with ``HEADER_TOO_LARGE``
    as soon as its length is read, whether or not its bytes have arrived; so
    once ``data`` holds ``max_header_size`` bytes the answer is never ``TRUNCATED``.
    """
    over = None if max_header_size is None else _header_too_large(max_header_size)
    reader = Reader(data, limit=max_header_size, over_limit=over)
    version = _read_version(reader, data)
    if version == 1 and reader.u8("the message type") != V1_TYPE_CUSTOMER_AED:
        raise MalformedMessageError(
            "unsupported message type (version 1 messages have type 0x80)",
            code=ErrorCode.UNSUPPORTED_VERSION,
        )
    algorithm = Algorithm.from_id(reader.u16("the algorithm suite id"))
    if algorithm.message_version != version:
        raise MalformedMessageError(
            f"algorithm suite 0x{algorithm.suite_id:04X} belongs to message version "
            f"{algorithm.message_version}, but the header is version {version}",
            code=ErrorCode.UNKNOWN_SUITE,
        )
    message_id = reader.take(algorithm.message_id_length, "the message id")
    context_bytes = reader.take(
        reader.u16("the encryption context length"), "the encryption context"
    )
    context = parse_encryption_context(context_bytes)
    edks = _read_edks(reader, max_encrypted_data_keys)
    content_type, frame_length = _read_content_fields(reader, version)
    commitment = reader.take(COMMITMENT_LENGTH, "the commitment key") if version == 2 else b""
    body_end = reader.pos
    auth_iv = reader.take(IV_LENGTH, "the header IV") if version == 1 else bytes(IV_LENGTH)
    auth_tag = reader.take(TAG_LENGTH, "the header tag")
    header = MessageHeader(
        algorithm=algorithm,
        message_id=message_id,
        encryption_context=context,
        encrypted_data_keys=edks,
        frame_length=frame_length,
        content_type=content_type,
        commitment=commitment,
        _context_bytes=context_bytes,
    )
    return ParsedHeader(
        header=header,
        body_bytes=bytes(data[:body_end]),
        auth_iv=auth_iv,
        auth_tag=auth_tag,
        length=reader.pos,
    )
