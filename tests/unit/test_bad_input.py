"""The bad-input table of security-test-plan.md section 5, row by row.

Every row asserts the exact code, that the one-shot API releases nothing, that a
stream releases exactly the plaintext of frames whose tags verified (never a
signed message's final frame before its signature verified), and that every read
after the error raises again.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

import sealbox
from sealbox.api import StreamMode
from sealbox.errors import ErrorCode, SealboxError
from sealbox.format.context import PUBLIC_KEY_FIELD
from sealbox.format.header import (
    EncryptedDataKey,
    MessageHeader,
    parse_header,
    serialize_header_auth,
    serialize_header_body,
)
from sealbox.keyrings import PaddingScheme, RawAESKeyring, RawRSAKeyring
from sealbox.keyrings.base import Keyring
from sealbox.materials import DecryptionMaterials, EncryptionMaterials
from tests.interop.reference import (
    clients_for,
    reference_algorithm,
    reference_provider,
    rsa_private_pem,
    rsa_public_pem,
)
from tests.interop.reference import ours as interop_keyring

FRAME = 128
PLAINTEXT = bytes(range(256)) * 2 + bytes(range(64))  # 4 full frames + a final frame of 64
SIGNED = sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
UNSIGNED = sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
AES = RawAESKeyring(key_namespace="bad-input", key_name="k", wrapping_key=bytes(32))
RSA = RawRSAKeyring(
    key_namespace="bad-input",
    key_name="r",
    padding_scheme=PaddingScheme.OAEP_SHA256_MGF1,
    public_key=rsa_public_pem(),
    private_key=rsa_private_pem(),
)


def encrypt(algorithm: sealbox.Algorithm = SIGNED, keyring: Keyring = AES) -> bytes:
    policy = (
        sealbox.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
        if algorithm.is_committing
        else sealbox.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )
    client = sealbox.EncryptionClient(commitment_policy=policy)
    message, _ = client.encrypt(
        source=PLAINTEXT,
        keyring=keyring,
        algorithm=algorithm,
        frame_length=FRAME,
        encryption_context={"purpose": "bad-input"},
    )
    return message


SIGNED_MESSAGE = encrypt()
UNSIGNED_MESSAGE = encrypt(UNSIGNED)
# RSA wrapping does not bind the encryption context: a message whose context is changed
# still unwraps, so the checks made after the data key (the public key's) are reached.
SIGNED_RSA_MESSAGE = encrypt(SIGNED, RSA)
UNSIGNED_RSA_MESSAGE = encrypt(UNSIGNED, RSA)


def header_length(message: bytes) -> int:
    return parse_header(message).length


def frame_at(message: bytes, number: int) -> int:
    """Offset of regular frame ``number`` (1-based); number 5 is the final frame."""
    return header_length(message) + (number - 1) * (FRAME + 32)


def footer_at(message: bytes) -> int:
    return frame_at(message, 5) + 40 + 64


def flip(message: bytes, offset: int) -> bytes:
    mutated = bytearray(message)
    mutated[offset] ^= 0x01
    return bytes(mutated)


def replace(message: bytes, offset: int, new: bytes) -> bytes:
    return message[:offset] + new + message[offset + len(new) :]


def rebuild_header(message: bytes, **changes: object) -> bytes:
    """Re-serialize the header with changes, keeping the old tag (so only pre-tag checks pass)."""
    parsed = parse_header(message)
    fields: dict[str, Any] = {
        f: getattr(parsed.header, f)
        for f in (
            "algorithm",
            "message_id",
            "encryption_context",
            "encrypted_data_keys",
            "frame_length",
            "content_type",
            "commitment",
        )
    }
    fields.update(changes)
    header = MessageHeader(**fields)
    return (
        serialize_header_body(header)
        + serialize_header_auth(header.version, parsed.auth_iv, parsed.auth_tag)
        + message[parsed.length :]
    )


def v1_message() -> bytes:
    return encrypt(sealbox.Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384)


def reference_non_framed() -> bytes:
    """A non-framed message: only the reference still writes them."""
    clients = clients_for(UNSIGNED)
    message, _ = clients.reference.encrypt(
        source=PLAINTEXT,
        key_provider=reference_provider("aes"),
        algorithm=reference_algorithm(UNSIGNED),
        frame_length=0,
    )
    return bytes(message)


REGULAR = 4 * FRAME  # plaintext of the four regular frames


@dataclass(frozen=True)
class Row:
    number: int
    name: str
    message: Callable[[], bytes]
    code: ErrorCode
    released: int = 0  # bytes a stream may release before failing
    keyring: Keyring = AES
    policy: sealbox.CommitmentPolicy = sealbox.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    mode: StreamMode = "decrypt"
    max_encrypted_data_keys: int | None = None
    max_body_length: int | None = None
    encryption_context: dict[str, str] | None = None


def _cut(n: int) -> Callable[[], bytes]:
    return lambda: SIGNED_MESSAGE[:n]


def _edk_count_offset(message: bytes) -> int:
    """v2 layout: version(1) suite(2) message id(32) AAD length(2) AAD, then the EDK count."""
    (aad_length,) = struct.unpack_from(">H", message, 35)
    return 37 + int(aad_length)


def _v1_field(message: bytes, from_end: int) -> int:
    """Offset of a fixed v1 header field counted back from the header body's end."""
    return parse_header(message).length - 28 - from_end


ALLOW = sealbox.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
ROWS = [
    Row(1, "empty input", lambda: b"", ErrorCode.TRUNCATED),
    Row(1, "truncated header", _cut(20), ErrorCode.TRUNCATED),
    Row(
        1,
        "cut inside the EDK list",
        lambda: SIGNED_MESSAGE[: _edk_count_offset(SIGNED_MESSAGE) + 5],
        ErrorCode.TRUNCATED,
    ),
    Row(2, "version 3", lambda: b"\x03" + SIGNED_MESSAGE[1:], ErrorCode.UNSUPPORTED_VERSION),
    Row(
        2,
        "v1 type not 0x80",
        lambda: replace(v1_message(), 1, b"\x81"),
        ErrorCode.UNSUPPORTED_VERSION,
        policy=ALLOW,
    ),
    Row(
        3,
        "base64 of a v2 message",
        lambda: base64.b64encode(SIGNED_MESSAGE),
        ErrorCode.BASE64_INPUT,
    ),
    Row(
        3,
        "base64 of a v1 message",
        lambda: base64.b64encode(v1_message()),
        ErrorCode.BASE64_INPUT,
        policy=ALLOW,
    ),
    Row(
        4, "suite 0x0000", lambda: replace(SIGNED_MESSAGE, 1, b"\x00\x00"), ErrorCode.UNKNOWN_SUITE
    ),
    Row(
        4,
        "suite 0x0070 (S3 client suite)",
        lambda: replace(SIGNED_MESSAGE, 1, b"\x00\x70"),
        ErrorCode.UNKNOWN_SUITE,
    ),
    Row(
        4,
        "v2 header with a v1 suite",
        lambda: replace(SIGNED_MESSAGE, 1, b"\x03\x78"),
        ErrorCode.UNKNOWN_SUITE,
    ),
    Row(
        4,
        "v1 header with a v2 suite",
        lambda: replace(v1_message(), 2, b"\x05\x78"),
        ErrorCode.UNKNOWN_SUITE,
        policy=ALLOW,
    ),
    Row(5, "v1 message under REQUIRE_DECRYPT", v1_message, ErrorCode.POLICY_FORBIDS_SUITE),
    Row(
        6,
        "EDK count 0",
        lambda: replace(SIGNED_MESSAGE, _edk_count_offset(SIGNED_MESSAGE), b"\x00\x00"),
        ErrorCode.EDK_COUNT_ZERO,
    ),
    Row(
        7,
        "more EDKs than allowed",
        lambda: encrypt(keyring=sealbox.keyrings.MultiKeyring(generator=AES, children=[RSA])),
        ErrorCode.EDK_LIMIT_EXCEEDED,
        max_encrypted_data_keys=1,
    ),
    Row(
        8,
        "v1 reserved bytes not zero",
        lambda: replace(v1_message(), _v1_field(v1_message(), 9), b"\x00\x00\x00\x01"),
        ErrorCode.HEADER_INVALID,
        policy=ALLOW,
    ),
    Row(
        8,
        "v1 IV length 16",
        lambda: replace(v1_message(), _v1_field(v1_message(), 5), b"\x10"),
        ErrorCode.HEADER_INVALID,
        policy=ALLOW,
    ),
    Row(
        8,
        "framed with frame length 0",
        lambda: rebuild_header(SIGNED_MESSAGE, frame_length=0),
        ErrorCode.HEADER_INVALID,
    ),
    Row(
        8,
        "non-framed with a frame length",
        lambda: rebuild_header(SIGNED_MESSAGE, content_type=sealbox.ContentType.NON_FRAMED),
        ErrorCode.HEADER_INVALID,
    ),
    Row(
        8,
        "content type 3",
        lambda: rebuild_header(SIGNED_MESSAGE, content_type=3),
        ErrorCode.HEADER_INVALID,
    ),
    Row(
        9,
        "wrong wrapping key",
        lambda: SIGNED_MESSAGE,
        ErrorCode.NO_DECRYPTABLE_KEY,
        keyring=RawAESKeyring(
            key_namespace="bad-input", key_name="k", wrapping_key=bytes(31) + b"\x01"
        ),
    ),
    Row(
        9, "no EDK for this key", lambda: SIGNED_MESSAGE, ErrorCode.NO_DECRYPTABLE_KEY, keyring=RSA
    ),
    Row(
        10,
        "encryption context altered",
        lambda: encrypt(keyring=RSA).replace(b"bad-input", b"bad-outpu", 1),
        ErrorCode.HEADER_AUTH_FAILED,
        keyring=RSA,
    ),
    Row(
        10,
        "header tag altered",
        lambda: flip(SIGNED_MESSAGE, header_length(SIGNED_MESSAGE) - 1),
        ErrorCode.HEADER_AUTH_FAILED,
    ),
    Row(
        11,
        "required context differs",
        lambda: SIGNED_MESSAGE,
        ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
        encryption_context={"purpose": "other"},
    ),
    Row(
        12,
        "commit key altered",
        lambda: flip(SIGNED_MESSAGE, parse_header(SIGNED_MESSAGE).length - 17),
        ErrorCode.COMMITMENT_MISMATCH,
    ),
    Row(
        13,
        "frame 3 ciphertext altered",
        lambda: flip(SIGNED_MESSAGE, frame_at(SIGNED_MESSAGE, 3) + 20),
        ErrorCode.FRAME_AUTH_FAILED,
        released=2 * FRAME,
    ),
    Row(
        13,
        "frame 1 tag altered",
        lambda: flip(SIGNED_MESSAGE, frame_at(SIGNED_MESSAGE, 2) - 1),
        ErrorCode.FRAME_AUTH_FAILED,
    ),
    Row(
        13,
        "final frame altered",
        lambda: flip(SIGNED_MESSAGE, footer_at(SIGNED_MESSAGE) - 1),
        ErrorCode.FRAME_AUTH_FAILED,
        released=REGULAR,
    ),
    Row(
        14,
        "frames 2 and 3 swapped",
        lambda: _swap(SIGNED_MESSAGE, 2, 3),
        ErrorCode.FRAME_SEQUENCE,
        released=FRAME,
    ),
    Row(
        14,
        "frame 2 duplicated",
        lambda: _duplicate(SIGNED_MESSAGE, 2),
        ErrorCode.FRAME_SEQUENCE,
        released=2 * FRAME,
    ),
    Row(
        14,
        "frame 2 dropped",
        lambda: _drop(SIGNED_MESSAGE, 2),
        ErrorCode.FRAME_SEQUENCE,
        released=FRAME,
    ),
    Row(
        14,
        "final frame numbered wrong",
        lambda: replace(SIGNED_MESSAGE, frame_at(SIGNED_MESSAGE, 5) + 4, b"\x00\x00\x00\x09"),
        ErrorCode.FRAME_SEQUENCE,
        released=REGULAR,
    ),
    Row(
        15,
        "final frame length 129",
        lambda: replace(SIGNED_MESSAGE, frame_at(SIGNED_MESSAGE, 5) + 20, b"\x00\x00\x00\x81"),
        ErrorCode.FINAL_FRAME_TOO_LONG,
        released=REGULAR,
    ),
    Row(
        16,
        "final frame missing",
        lambda: SIGNED_MESSAGE[: frame_at(SIGNED_MESSAGE, 5)],
        ErrorCode.TRUNCATED,
        released=REGULAR,
    ),
    Row(
        16,
        "ends mid-frame",
        lambda: SIGNED_MESSAGE[: frame_at(SIGNED_MESSAGE, 3) + 50],
        ErrorCode.TRUNCATED,
        released=2 * FRAME,
    ),
    Row(
        16,
        "unsigned, ends mid final frame",
        lambda: UNSIGNED_MESSAGE[:-3],
        ErrorCode.TRUNCATED,
        released=REGULAR,
    ),
    Row(
        17,
        "signature altered",
        lambda: flip(SIGNED_MESSAGE, len(SIGNED_MESSAGE) - 5),
        ErrorCode.SIGNATURE_INVALID,
        released=REGULAR,
    ),
    Row(
        17,
        "signature of another message",
        lambda: (
            SIGNED_MESSAGE[: footer_at(SIGNED_MESSAGE)] + encrypt()[footer_at(SIGNED_MESSAGE) :]
        ),
        ErrorCode.SIGNATURE_INVALID,
        released=REGULAR,
    ),
    Row(
        18,
        "footer missing",
        lambda: SIGNED_MESSAGE[: footer_at(SIGNED_MESSAGE)],
        ErrorCode.SIGNATURE_MISSING,
        released=REGULAR,
    ),
    Row(16, "footer cut short", lambda: SIGNED_MESSAGE[:-1], ErrorCode.TRUNCATED, released=REGULAR),
    Row(
        19,
        "bytes after the footer",
        lambda: SIGNED_MESSAGE + b"\x00",
        ErrorCode.TRAILING_DATA,
        released=len(PLAINTEXT),
    ),
    Row(
        19,
        "bytes after the final frame",
        lambda: UNSIGNED_MESSAGE + b"junk",
        ErrorCode.TRAILING_DATA,
        released=len(PLAINTEXT),
    ),
    Row(
        20,
        "signed message, unsigned-only mode",
        lambda: SIGNED_MESSAGE,
        ErrorCode.SIGNED_MESSAGE_FORBIDDEN,
        mode="decrypt-unsigned",
    ),
    Row(
        21,
        "non-framed body above the limit",
        reference_non_framed,
        ErrorCode.BODY_TOO_LARGE,
        keyring=interop_keyring("aes"),
        max_body_length=100,
    ),
    Row(
        21,
        "frame length above the limit",
        lambda: SIGNED_MESSAGE,
        ErrorCode.BODY_TOO_LARGE,
        max_body_length=100,
    ),
    Row(
        22,
        "public key missing (signed)",
        lambda: rebuild_header(
            SIGNED_RSA_MESSAGE,
            encryption_context={"purpose": "bad-input", "aws-crypto-public-kez": "x"},
        ),
        ErrorCode.HEADER_INVALID,
        keyring=RSA,
    ),
    Row(
        22,
        "public key present (unsigned)",
        lambda: rebuild_header(
            UNSIGNED_RSA_MESSAGE,
            encryption_context={
                "purpose": "bad-input",
                PUBLIC_KEY_FIELD: parse_header(SIGNED_MESSAGE).header.encryption_context[
                    PUBLIC_KEY_FIELD
                ],
            },
        ),
        ErrorCode.HEADER_INVALID,
        keyring=RSA,
    ),
    Row(
        22,
        "public key not a compressed point",
        lambda: rebuild_header(
            SIGNED_RSA_MESSAGE,
            encryption_context={
                "purpose": "bad-input",
                PUBLIC_KEY_FIELD: base64.b64encode(b"\x04" + bytes(48)).decode(),
            },
        ),
        ErrorCode.HEADER_INVALID,
        keyring=RSA,
    ),
    Row(
        22,
        "public key not on the curve",
        lambda: rebuild_header(
            SIGNED_RSA_MESSAGE,
            encryption_context={
                "purpose": "bad-input",
                PUBLIC_KEY_FIELD: base64.b64encode(b"\x02" + bytes(47) + b"\x05").decode(),
            },
        ),
        ErrorCode.HEADER_INVALID,
        keyring=RSA,
    ),
]


def _frames(message: bytes) -> tuple[bytes, list[bytes], bytes]:
    start = header_length(message)
    size = FRAME + 32
    frames = [message[start + i * size : start + (i + 1) * size] for i in range(4)]
    return message[:start], frames, message[start + 4 * size :]


def _swap(message: bytes, a: int, b: int) -> bytes:
    head, frames, rest = _frames(message)
    frames[a - 1], frames[b - 1] = frames[b - 1], frames[a - 1]
    return head + b"".join(frames) + rest


def _duplicate(message: bytes, n: int) -> bytes:
    head, frames, rest = _frames(message)
    return head + b"".join(frames[:n] + frames[n - 1 :]) + rest


def _drop(message: bytes, n: int) -> bytes:
    head, frames, rest = _frames(message)
    return head + b"".join(frames[: n - 1] + frames[n:]) + rest


def _client(row: Row) -> sealbox.EncryptionClient:
    return sealbox.EncryptionClient(
        commitment_policy=row.policy, max_encrypted_data_keys=row.max_encrypted_data_keys
    )


# unsigned-only decryption is a streaming mode, so row 20 is checked by the streaming test
@pytest.mark.parametrize(
    "row", [r for r in ROWS if r.mode == "decrypt"], ids=lambda r: f"{r.number:02}-{r.name}"
)
def test_one_shot_releases_nothing(row: Row) -> None:
    message = row.message()
    with pytest.raises(SealboxError) as caught:
        _client(row).decrypt(
            source=message,
            keyring=row.keyring,
            encryption_context=row.encryption_context,
            max_body_length=row.max_body_length,
        )
    assert caught.value.code is row.code, caught.value


def drain(stream: sealbox.StreamDecryptor, read_size: int) -> tuple[bytes, SealboxError]:
    released = bytearray()
    while True:
        try:
            chunk = stream.read(read_size)
        except SealboxError as error:
            return bytes(released), error
        if not chunk:
            raise AssertionError(f"stream ended without an error after {len(released)} bytes")
        released += chunk


@pytest.mark.parametrize("read_size", [1, 100, 1 << 20])
@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.number:02}-{r.name}")
def test_stream_releases_exactly_what_verified(row: Row, read_size: int) -> None:
    message = row.message()
    stream = _client(row).stream(
        mode=row.mode,
        source=message,
        keyring=row.keyring,
        encryption_context=row.encryption_context,
        max_body_length=row.max_body_length,
    )
    assert isinstance(stream, sealbox.StreamDecryptor)
    released, error = drain(stream, read_size)
    assert error.code is row.code, error
    assert released == PLAINTEXT[: row.released]
    for _ in range(2):  # sticky
        with pytest.raises(SealboxError) as again:
            stream.read(1)
        assert again.value.code is row.code


def test_edk_limit_is_checked_before_any_keyring_call() -> None:
    calls: list[int] = []

    class Counting:
        def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
            raise AssertionError

        def on_decrypt(
            self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]
        ) -> DecryptionMaterials:
            calls.append(len(edks))
            return AES.on_decrypt(materials, edks)

    message = encrypt(keyring=sealbox.keyrings.MultiKeyring(generator=AES, children=[AES, AES]))
    client = sealbox.EncryptionClient(max_encrypted_data_keys=2)
    with pytest.raises(SealboxError) as caught:
        client.decrypt(source=message, keyring=Counting())
    assert caught.value.code is ErrorCode.EDK_LIMIT_EXCEEDED
    assert "3 encrypted data keys" in str(caught.value)
    assert calls == []
    allowed = sealbox.EncryptionClient(max_encrypted_data_keys=3)
    assert allowed.decrypt(source=message, keyring=Counting())[0] == PLAINTEXT
    assert calls == [3]


def test_no_decryptable_key_lists_every_cause() -> None:
    wrong = RawAESKeyring(key_namespace="bad-input", key_name="k", wrapping_key=b"\x07" * 32)
    other = RawAESKeyring(key_namespace="elsewhere", key_name="z", wrapping_key=bytes(32))
    multi = sealbox.keyrings.MultiKeyring(generator=wrong, children=[other])
    with pytest.raises(SealboxError) as caught:
        sealbox.EncryptionClient().decrypt(source=SIGNED_MESSAGE, keyring=multi)
    text = str(caught.value)
    assert caught.value.code is ErrorCode.NO_DECRYPTABLE_KEY
    assert (
        "did not decrypt" in text
        and "none of the message's encrypted data keys is for this key" in text
    )
    assert "'bad-input'" in text  # names the keys the message can be opened with
