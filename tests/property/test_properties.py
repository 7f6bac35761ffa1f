"""Property tests: format round trips, mutation safety, streaming == one-shot."""

from __future__ import annotations

import io
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sealbox
from sealbox.errors import MessageError
from sealbox.format.context import parse_encryption_context, serialize_encryption_context
from sealbox.format.header import (
    EncryptedDataKey,
    MessageHeader,
    parse_header,
    serialize_header_body,
)
from sealbox.format.suites import ContentType
from sealbox.keyrings import RawAESKeyring

KEYRING = RawAESKeyring(key_namespace="props", key_name="k", wrapping_key=bytes(range(32)))
CLIENT = sealbox.EncryptionClient(
    commitment_policy=sealbox.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
)
FORBID = sealbox.EncryptionClient(
    commitment_policy=sealbox.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
)

contexts = st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=6)
edks = st.builds(
    EncryptedDataKey,
    provider_id=st.text(max_size=10),
    provider_info=st.binary(max_size=30),
    ciphertext=st.binary(max_size=60),
)


@st.composite
def headers(draw: st.DrawFn) -> MessageHeader:
    algorithm = draw(st.sampled_from(list(sealbox.Algorithm)))
    framed = draw(st.booleans())
    return MessageHeader(
        algorithm=algorithm,
        message_id=draw(
            st.binary(min_size=algorithm.message_id_length, max_size=algorithm.message_id_length)
        ),
        encryption_context=draw(contexts),
        encrypted_data_keys=tuple(draw(st.lists(edks, min_size=1, max_size=4))),
        frame_length=draw(st.integers(1, 2**32 - 1)) if framed else 0,
        content_type=ContentType.FRAMED if framed else ContentType.NON_FRAMED,
        commitment=draw(st.binary(min_size=32, max_size=32)) if algorithm.is_committing else b"",
    )


@given(headers(), st.binary(min_size=12, max_size=12), st.binary(min_size=16, max_size=16))
def test_header_parse_serialize_roundtrip(header: MessageHeader, iv: bytes, tag: bytes) -> None:
    body = serialize_header_body(header)
    auth = (iv if header.version == 1 else b"") + tag
    parsed = parse_header(body + auth + b"body")
    assert parsed.header == header
    assert parsed.body_bytes == body
    assert parsed.length == len(body) + len(auth)
    assert serialize_header_body(parsed.header) == body


@given(contexts)
def test_context_roundtrip(context: dict[str, str]) -> None:
    assert parse_encryption_context(serialize_encryption_context(context)) == context


@given(st.binary(max_size=200))
def test_context_parser_only_raises_message_errors(data: bytes) -> None:
    try:
        parse_encryption_context(data)
    except MessageError:
        pass


@given(st.binary(max_size=300))
def test_header_parser_only_raises_message_errors(data: bytes) -> None:
    try:
        parse_header(data)
    except MessageError:
        pass


MESSAGES = {
    algorithm: (FORBID if not algorithm.is_committing else CLIENT).encrypt(
        source=os.urandom(700),
        keyring=KEYRING,
        algorithm=algorithm,
        frame_length=128,
        encryption_context={"a": "b"},
    )[0]
    for algorithm in sealbox.Algorithm
}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(sealbox.Algorithm)), st.data())
def test_any_bit_flip_is_caught(algorithm: sealbox.Algorithm, data: st.DataObject) -> None:
    message = bytearray(MESSAGES[algorithm])
    bit = data.draw(st.integers(0, len(message) * 8 - 1))
    message[bit // 8] ^= 1 << (bit % 8)
    try:
        CLIENT.decrypt(source=bytes(message), keyring=KEYRING)
    except MessageError:
        return
    raise AssertionError(f"a flip of bit {bit} was not detected")


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(sealbox.Algorithm)), st.data())
def test_any_truncation_is_caught(algorithm: sealbox.Algorithm, data: st.DataObject) -> None:
    message = MESSAGES[algorithm]
    cut = data.draw(st.integers(0, len(message) - 1))
    try:
        CLIENT.decrypt(source=message[:cut], keyring=KEYRING)
    except MessageError:
        return
    raise AssertionError(f"a message cut to {cut} bytes decrypted")


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 5000),
    st.integers(1, 700),
    st.integers(1, 9000),
    st.sampled_from(
        [
            sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
            sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
        ]
    ),
)
def test_streaming_equals_one_shot(
    length: int, frame: int, read_size: int, algorithm: sealbox.Algorithm
) -> None:
    plaintext = os.urandom(length)
    encrypting = CLIENT.stream(
        mode="e",
        source=io.BytesIO(plaintext),
        keyring=KEYRING,
        algorithm=algorithm,
        frame_length=frame,
    )
    pieces = []
    while chunk := encrypting.read(read_size):
        pieces.append(chunk)
    message = b"".join(pieces)
    one_shot, _ = CLIENT.decrypt(source=message, keyring=KEYRING)
    assert one_shot == plaintext
    decrypting = CLIENT.stream(mode="d", source=_Trickle(message, read_size), keyring=KEYRING)
    out = []
    while chunk := decrypting.read(read_size):
        out.append(chunk)
    assert b"".join(out) == plaintext


class _Trickle(io.RawIOBase):
    """A source that returns at most ``step`` bytes per read, like a pipe."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        size = self._step if size < 0 else min(size, self._step)
        chunk, self._data = bytes(self._data[:size]), self._data[size:]
        return chunk
