"""Pure format rules that the vectors do not pin down on their own."""

from __future__ import annotations

import struct

import pytest

import sealbox
import sealbox.keyrings
from sealbox.errors import ErrorCode, MalformedMessageError
from sealbox.format.context import parse_encryption_context, serialize_encryption_context
from sealbox.format.header import (
    EncryptedDataKey,
    MessageHeader,
    parse_header,
    serialize_header_body,
)
from sealbox.format.suites import Algorithm


def pairs(*items: tuple[bytes, bytes]) -> bytes:
    out = struct.pack(">H", len(items))
    for key, value in items:
        out += struct.pack(">H", len(key)) + key + struct.pack(">H", len(value)) + value
    return out


def test_context_sorts_by_utf8_bytes() -> None:
    context = {"z": "1", "Z": "2", "é": "3", "Ａ": "4", "😀": "5", "aws": "6"}
    serialized = serialize_encryption_context(context)
    keys = list(parse_encryption_context(serialized))
    assert keys == sorted(keys, key=lambda k: k.encode())
    assert keys == ["Z", "aws", "z", "é", "Ａ", "😀"]


def test_context_parse_accepts_unsorted_and_rejects_bad_shapes() -> None:
    assert parse_encryption_context(pairs((b"b", b"1"), (b"a", b"2"))) == {"b": "1", "a": "2"}
    cases = {
        "duplicate": pairs((b"a", b"1"), (b"a", b"2")),
        "count zero": b"\x00\x00",
        "trailing": pairs((b"a", b"1")) + b"x",
        "length lies": b"\x00\x01\x00\x09ab",
        "not utf-8": pairs((b"\xff", b"1")),
    }
    for name, raw in cases.items():
        with pytest.raises(MalformedMessageError) as caught:
            parse_encryption_context(raw)
        assert caught.value.code is ErrorCode.HEADER_INVALID, name
    assert serialize_encryption_context({}) == b""
    assert parse_encryption_context(b"") == {}


def test_non_ascii_provider_id_length_counts_bytes() -> None:
    header = MessageHeader(
        algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
        message_id=bytes(32),
        encryption_context={},
        encrypted_data_keys=(EncryptedDataKey("ключ", b"info", b"ct"),),
        frame_length=4096,
        commitment=bytes(32),
    )
    body = serialize_header_body(header)
    assert b"\x00\x08" + "ключ".encode() in body
    assert parse_header(body + bytes(16)).header.encrypted_data_keys[0].provider_id == "ключ"


def test_unsorted_context_reserializes_as_received() -> None:
    raw = pairs((b"b", b"1"), (b"a", b"2"))
    header = MessageHeader(
        algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
        message_id=bytes(32),
        encryption_context={"b": "1", "a": "2"},
        encrypted_data_keys=(EncryptedDataKey("p", b"", b""),),
        frame_length=1,
        commitment=bytes(32),
    )
    sorted_body = serialize_header_body(header)
    unsorted_body = sorted_body.replace(serialize_encryption_context({"a": "2", "b": "1"}), raw)
    parsed = parse_header(unsorted_body + bytes(16))
    assert serialize_header_body(parsed.header) == unsorted_body
    assert parsed.body_bytes == unsorted_body


def test_suite_lookup() -> None:
    assert Algorithm.from_id(0x0578) is Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    assert Algorithm.from_name("0x0478") is Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
    assert Algorithm.from_name("aes_128_gcm_iv12_tag16") is Algorithm.AES_128_GCM_IV12_TAG16
    with pytest.raises(sealbox.SealboxError) as caught:
        Algorithm.from_name("AES_256")
    assert caught.value.code is ErrorCode.UNKNOWN_SUITE
    assert len(Algorithm) == 11
    assert sorted(a.suite_id for a in Algorithm) == [
        0x14,
        0x46,
        0x78,
        0x114,
        0x146,
        0x178,
        0x214,
        0x346,
        0x378,
        0x478,
        0x578,
    ]


def test_size_arithmetic_matches_the_reference_example() -> None:
    """esdk-message-format.md section 6: 0x0478, empty context, one raw-AES EDK,
    empty plaintext: 239 bytes."""
    keyring = sealbox.keyrings.RawAESKeyring(
        key_namespace="aws-raw-vectors-persistant", key_name="aes-256", wrapping_key=bytes(32)
    )
    message, _ = sealbox.EncryptionClient().encrypt(
        source=b"", keyring=keyring, algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
    )
    assert len(message) == 239
