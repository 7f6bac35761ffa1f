"""Official AWS Encryption SDK vectors (shared/vectors, copied under tests/vectors/data)."""

from __future__ import annotations

import hashlib
import zipfile
from typing import Any

import pytest

import sealbox
from sealbox.crypto.kdf import derive_message_keys
from sealbox.crypto.signing import decode_verification_key, verify_digest
from sealbox.errors import ErrorCode, MessageError
from sealbox.format.context import PUBLIC_KEY_FIELD
from sealbox.format.header import parse_header, serialize_header_auth, serialize_header_body
from sealbox.format.layout import message_layout
from tests.helpers import VECTORS, StaticKeyring, b64, load_json, permissive_client

ORACLE = load_json("esdk/decrypt_oracle_vectors.json")
COMMITMENT = load_json("esdk/commitment-test-vectors.json")["tests"]


def _oracle_data_key(vector: dict[str, Any]) -> bytes:
    length = sealbox.Algorithm.from_id(int(vector["algorithm-suite"], 16)).key_length
    if vector["key-type"] == "null":
        return bytes(length)
    return bytes(range(1, length + 1))


def test_decrypt_oracle_counts() -> None:
    assert len(ORACLE) == 27
    assert sum(v["key-type"] != "aws-kms" for v in ORACLE) == 18


@pytest.mark.parametrize("vector", ORACLE, ids=lambda v: f"{v['key-type']}-{v['algorithm-suite']}")
def test_decrypt_oracle(vector: dict[str, Any]) -> None:
    ciphertext = b64(vector["ciphertext"])
    parsed = parse_header(ciphertext)
    assert parsed.header.algorithm.suite_id == int(vector["algorithm-suite"], 16)
    if vector["key-type"] == "aws-kms":
        return  # needs the real AWS account; header parsing is all we can check
    plaintext, header = permissive_client().decrypt(
        source=ciphertext, keyring=StaticKeyring(_oracle_data_key(vector))
    )
    assert plaintext == b64(vector["plaintext"])
    assert {k: v for k, v in header.encryption_context.items() if k != PUBLIC_KEY_FIELD} == {
        "key1": "val1",
        "key2": "val2",
    }


def test_commitment_vector_counts() -> None:
    assert len(COMMITMENT) == 46
    assert sum(bool(t["status"]) for t in COMMITMENT) == 41


@pytest.mark.parametrize("vector", COMMITMENT, ids=lambda v: v["comment"][:60])
def test_commitment_vectors(vector: dict[str, Any]) -> None:
    ciphertext = b64(vector["ciphertext"])
    keyring = StaticKeyring(b64(vector["decrypted-dek"]))
    parsed = parse_header(ciphertext)
    assert parsed.header.message_id == b64(vector["message-id"])
    _, commitment = derive_message_keys(
        parsed.header.algorithm, b64(vector["decrypted-dek"]), parsed.header.message_id
    )
    if vector["status"]:
        assert commitment == parsed.header.commitment == b64(vector["commitment"])
        plaintext, header = permissive_client().decrypt(source=ciphertext, keyring=keyring)
        assert plaintext == "".join(vector["plaintext-frames"]).encode("utf-8")
        assert dict(header.encryption_context) == vector["encryption-context"]
        # the streaming path releases the same bytes
        stream = permissive_client().stream(mode="d", source=ciphertext, keyring=keyring)
        assert stream.read() == plaintext
        return
    assert vector["exception"] == "EXCEPTION: Invalid commitment"
    with pytest.raises(MessageError) as caught:
        permissive_client().decrypt(source=ciphertext, keyring=keyring)
    assert caught.value.code is ErrorCode.COMMITMENT_MISMATCH
    stream = permissive_client().stream(mode="d", source=ciphertext, keyring=keyring)
    released = b""
    with pytest.raises(MessageError) as caught:
        for chunk in stream:
            released += chunk
    assert caught.value.code is ErrorCode.COMMITMENT_MISMATCH
    assert released == b""


def _python_135_messages() -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(VECTORS / "awses-decrypt" / "python-1.3.5.zip") as archive:
        return [
            (name, archive.read(name))
            for name in sorted(archive.namelist())
            if name.startswith("ciphertexts/") and not name.endswith("/")
        ]


PY135 = _python_135_messages()


def test_python_135_counts() -> None:
    assert len(PY135) == 360
    signed = [m for _, m in PY135 if parse_header(m).header.algorithm.is_signing]
    assert len(signed) == 120


@pytest.mark.parametrize("message", [m for _, m in PY135], ids=[n[12:20] for n, _ in PY135])
def test_python_135_header_roundtrip_and_signature(message: bytes) -> None:
    parsed = parse_header(message)
    header = parsed.header
    again = serialize_header_body(header) + serialize_header_auth(
        header.version, parsed.auth_iv, parsed.auth_tag
    )
    assert again == message[: parsed.length]
    layout = message_layout(message, parsed)
    curve = header.algorithm.signature
    if curve is None:
        assert layout.signature == b""
        return
    key = decode_verification_key(curve, header.encryption_context[PUBLIC_KEY_FIELD])
    verify_digest(
        key,
        curve,
        hashlib.new(curve.hash_name, message[: layout.body_end]).digest(),
        layout.signature,
    )
    flipped = bytearray(message)
    flipped[layout.body_end - 20] ^= 0x01  # inside the final frame's tag
    digest = hashlib.new(curve.hash_name, bytes(flipped[: layout.body_end])).digest()
    with pytest.raises(MessageError) as caught:
        verify_digest(key, curve, digest, layout.signature)
    assert caught.value.code is ErrorCode.SIGNATURE_INVALID
