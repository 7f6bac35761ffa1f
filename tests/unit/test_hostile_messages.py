"""Hostile messages cannot make decryption buffer without bound (issue 10, item 15).

Each hostile message is generated on the fly by a source that counts the bytes
pulled from it. The assertions are on that count (and on tracemalloc's peak):
the decryptor must refuse the message with the exact limit error before it
holds more than the limit, not after it has buffered what the message declares.
"""

from __future__ import annotations

import struct
import tracemalloc
from collections.abc import Callable, Sequence

import pytest
from bench.stream_memory import (
    KEYRING,
    MAX_FIELD,
    Flood,
    authenticated_header,
    forged_header_start,
)

import sealbox
from sealbox.errors import ErrorCode, LimitExceededError, MalformedMessageError, SealboxError
from sealbox.format.header import EncryptedDataKey, parse_header
from sealbox.format.suites import IV_LENGTH
from sealbox.keyrings import MultiKeyring
from sealbox.materials import DecryptionMaterials, EncryptionMaterials

MiB = 1 << 20
HEADER_LIMIT = sealbox.DEFAULT_MAX_HEADER_SIZE
BODY_LIMIT = sealbox.DEFAULT_MAX_BODY_LENGTH
FED = 64 * MiB  # what each hostile source would hand out if asked
READ_ROOM = 1 << 16  # one read past a header: the decryptor's first body read
CLIENT = sealbox.EncryptionClient()
EDK_COUNT = struct.pack(">H", MAX_FIELD)


def _decrypt_stream(
    source: Flood,
    *,
    max_header_size: int | None = HEADER_LIMIT,
    max_body_length: int | None = BODY_LIMIT,
) -> SealboxError:
    """Drain a decrypting stream over ``source``; return the error it raised."""
    with pytest.raises(SealboxError) as caught:
        with CLIENT.stream(
            mode="d",
            source=source,
            keyring=KEYRING,
            max_header_size=max_header_size,
            max_body_length=max_body_length,
        ) as stream:
            for _ in stream:
                pass
    return caught.value


def _field_flood(declared: int) -> bytes:
    # A u16 length and as many bytes of valid UTF-8, so that only the size can fail.
    return struct.pack(">H", declared) + b"A" * declared


# -- the header ---------------------------------------------------------------------------------

HEADER_FLOODS: dict[str, Callable[[], Flood]] = {
    # 65,535 EDKs whose three fields declare 64 KiB each: a 12.9 GB header.
    "65,535 EDKs of maximal fields": lambda: Flood(
        forged_header_start() + EDK_COUNT, _field_flood(MAX_FIELD), FED
    ),
    # 65,535 junk EDKs of 233 bytes: 15 MB, every field small.
    "65,535 small junk EDKs": lambda: Flood(
        forged_header_start() + EDK_COUNT,
        b"\x00\x03raw" + _field_flood(16) + _field_flood(200),
        FED,
    ),
}


@pytest.mark.parametrize("case", HEADER_FLOODS)
def test_a_header_flood_fails_before_more_than_the_limit_is_read(case: str) -> None:
    source = HEADER_FLOODS[case]()
    tracemalloc.start()
    try:
        error = _decrypt_stream(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, LimitExceededError)
    assert error.code is ErrorCode.HEADER_TOO_LARGE
    assert f"max_header_size={HEADER_LIMIT} bytes" in error.message
    assert "--max-header-size" in error.message
    assert source.pulled <= HEADER_LIMIT
    assert peak < 5 * HEADER_LIMIT < FED  # a few copies of the header at most


def test_short_reads_still_stop_at_the_limit() -> None:
    class Dribble(Flood):
        def read(self, size: int = -1, /) -> bytes:
            return super().read(min(4096, size))

    source = Dribble(forged_header_start() + EDK_COUNT, _field_flood(MAX_FIELD), FED)
    assert _decrypt_stream(source).code is ErrorCode.HEADER_TOO_LARGE
    assert source.pulled <= HEADER_LIMIT


def _with_context(length: int) -> bytes:
    return forged_header_start(context_length=length) + b"\x00"


DECLARED: dict[str, bytes] = {
    "encryption context length": _with_context(MAX_FIELD),
    "EDK provider id length": forged_header_start() + EDK_COUNT + b"\xff\xff",
    "EDK provider info length": forged_header_start() + EDK_COUNT + b"\x00\x01A\xff\xff",
    "EDK ciphertext length": forged_header_start() + EDK_COUNT + b"\x00\x01A\x00\x00\xff\xff",
}


@pytest.mark.parametrize("field", DECLARED)
def test_a_declared_length_past_the_limit_fails_before_its_bytes_arrive(field: str) -> None:
    prefix = DECLARED[field]
    limit = 1024
    with pytest.raises(LimitExceededError) as caught:
        parse_header(prefix, max_header_size=limit)  # the announced bytes are absent
    assert caught.value.code is ErrorCode.HEADER_TOO_LARGE
    assert f"max_header_size={limit} bytes" in caught.value.message
    source = Flood(prefix, b"A", FED)
    error = _decrypt_stream(source, max_header_size=limit)
    assert error.code is ErrorCode.HEADER_TOO_LARGE
    assert source.pulled <= limit


def test_the_same_header_is_only_truncated_without_a_limit() -> None:
    with pytest.raises(MalformedMessageError) as caught:
        parse_header(DECLARED["EDK provider id length"])
    assert caught.value.code is ErrorCode.TRUNCATED


def test_the_one_shot_api_gives_the_same_verdict() -> None:
    source = Flood(forged_header_start() + EDK_COUNT, _field_flood(MAX_FIELD), 8 * MiB)
    message = b"".join(iter(lambda: source.read(MiB), b""))
    assert len(message) == 8 * MiB
    with pytest.raises(LimitExceededError) as caught:
        CLIENT.decrypt(source=message, keyring=KEYRING)
    assert caught.value.code is ErrorCode.HEADER_TOO_LARGE


class BulkyKeyring:
    """Adds ``count`` large EDKs that no keyring can open: a legitimate, large header."""

    def __init__(self, count: int) -> None:
        self.count = count

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        for n in range(self.count):
            edk = EncryptedDataKey("bulky", n.to_bytes(4, "big"), bytes(60_000))
            materials = materials.with_encrypted_data_key(edk)
        return materials

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        return materials


def test_raising_the_header_limit_decrypts_a_legitimately_large_header() -> None:
    keyring = MultiKeyring(generator=KEYRING, children=[BulkyKeyring(80)])
    message, _ = CLIENT.encrypt(source=b"many recipients", keyring=keyring)
    assert len(message) > HEADER_LIMIT
    with pytest.raises(LimitExceededError) as caught:
        CLIENT.decrypt(source=message, keyring=KEYRING)
    assert caught.value.code is ErrorCode.HEADER_TOO_LARGE
    raised = 8 * MiB
    plaintext, _ = CLIENT.decrypt(source=message, keyring=KEYRING, max_header_size=raised)
    assert plaintext == b"many recipients"
    with CLIENT.stream(mode="d", source=message, keyring=KEYRING, max_header_size=raised) as stream:
        assert stream.read() == b"many recipients"
    unlimited = CLIENT.decrypt(source=message, keyring=KEYRING, max_header_size=None)
    assert unlimited[0] == b"many recipients"


# -- frames and non-framed bodies ---------------------------------------------------------------


def _huge_frame() -> Flood:
    header = authenticated_header(frame_length=0xFFFFFFFF, content_type=sealbox.ContentType.FRAMED)
    return Flood(header + struct.pack(">I", 1) + bytes(IV_LENGTH), b"\x00", FED)


def _huge_non_framed() -> Flood:
    header = authenticated_header(frame_length=0, content_type=sealbox.ContentType.NON_FRAMED)
    body_start = bytes(IV_LENGTH) + struct.pack(">Q", 2**36 - 32)  # the format's maximum
    return Flood(header + body_start, b"\x00", FED)


BODY_FLOODS: dict[str, tuple[Callable[[], Flood], str]] = {
    "frame length 2^32-1": (_huge_frame, "frame length 4294967295"),
    "non-framed length 2^36-32": (_huge_non_framed, "non-framed content length 68719476704"),
}


@pytest.mark.parametrize("case", BODY_FLOODS)
def test_a_huge_body_fails_before_any_of_it_is_buffered(case: str) -> None:
    make, what = BODY_FLOODS[case]
    source = make()
    header_length = parse_header(source.prefix).length
    error = _decrypt_stream(source)
    assert isinstance(error, LimitExceededError)
    assert error.code is ErrorCode.BODY_TOO_LARGE
    assert error.message.startswith(f"the message's {what} is larger than ")
    assert f"max_body_length={BODY_LIMIT} bytes" in error.message
    assert "--max-length" in error.message
    assert source.pulled <= header_length + READ_ROOM


def test_a_non_framed_length_past_the_format_is_malformed() -> None:
    header = authenticated_header(frame_length=0, content_type=sealbox.ContentType.NON_FRAMED)
    source = Flood(header + bytes(IV_LENGTH) + struct.pack(">Q", 2**36), b"\x00", FED)
    error = _decrypt_stream(source, max_body_length=None)
    assert error.code is ErrorCode.HEADER_INVALID
    assert source.pulled <= len(header) + READ_ROOM


@pytest.mark.parametrize("frame_length", [BODY_LIMIT + 1, 0x7FFFFFFF])
def test_raising_the_body_limit_decrypts_a_legitimately_large_frame(frame_length: int) -> None:
    # The header declares the frame length, so the default refuses the message before
    # reading its (here tiny) body; a caller who trusts the sender raises the limit.
    message, _ = CLIENT.encrypt(source=b"big frames", keyring=KEYRING, frame_length=frame_length)
    with pytest.raises(LimitExceededError) as caught:
        CLIENT.decrypt(source=message, keyring=KEYRING)
    assert caught.value.code is ErrorCode.BODY_TOO_LARGE
    for limit in (frame_length, None):
        assert CLIENT.decrypt(source=message, keyring=KEYRING, max_body_length=limit)[0] == (
            b"big frames"
        )
        with CLIENT.stream(
            mode="d", source=message, keyring=KEYRING, max_body_length=limit
        ) as stream:
            assert stream.read() == b"big frames"


def test_the_default_limits_accept_the_largest_default_message() -> None:
    message, _ = CLIENT.encrypt(source=b"x" * 10, keyring=KEYRING, frame_length=BODY_LIMIT)
    assert CLIENT.decrypt(source=message, keyring=KEYRING)[0] == b"x" * 10


def test_limits_are_decrypt_only_and_positive() -> None:
    with pytest.raises(sealbox.errors.UsageError, match="max_header_size"):
        CLIENT.stream(mode="e", source=b"", keyring=KEYRING, max_header_size=10)
    for bad in (0, -1, True, 1.5):
        with pytest.raises(sealbox.errors.UsageError, match="max_header_size must be a positive"):
            CLIENT.decrypt(source=b"", keyring=KEYRING, max_header_size=bad)  # type: ignore[arg-type]
    # the defaults (and None) may still be spelt out on an encrypting stream
    CLIENT.stream(
        mode="e", source=b"", keyring=KEYRING, max_header_size=HEADER_LIMIT, max_body_length=None
    ).close()
