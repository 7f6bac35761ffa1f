"""S3 encryption client objects built by hand from the format's published description
(HKDF-SHA512 written out with hmac, AES-GCM and RSA-OAEP from pyca/cryptography, KMS
called directly) — never with sealbox.s3ec's own helpers — for the known-answer,
failure and range tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as block_padding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealbox.format.suites import CommitmentPolicy
from tests.s3ec.conftest import World

V2_CIPHER = "AES/GCM/NoPadding"
V3_CIPHER = "115"
SUITE_V3 = b"\x00\x73"
V3_IV = b"\x01" * 12
RELAXED = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
V2_WRITER = CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
V3_WRAP_CODES = {"aes": "02", "kms": "12", "rsa": "22"}
V2_WRAP_NAMES = {"aes": "AES/GCM", "kms": "kms+context", "rsa": "RSA-OAEP-SHA1"}
V3_REQUIRED = {"x-amz-c", "x-amz-3", "x-amz-w", "x-amz-d", "x-amz-i"}
V2_REQUIRED = {
    "x-amz-key-v2",
    "x-amz-iv",
    "x-amz-cek-alg",
    "x-amz-wrap-alg",
    "x-amz-tag-len",
    "x-amz-matdesc",
}
OAEP_SHA1 = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)


# The format's primitives, written out from RFC 5869 and the facts file.


def hkdf_sha512_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha512).digest()


def hkdf_sha512_expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha512).digest()
        out += block
        counter += 1
    return out[:length]


def v3_commitment_and_key(data_key: bytes, message_id: bytes) -> tuple[bytes, bytes]:
    prk = hkdf_sha512_extract(message_id, data_key)
    commitment = hkdf_sha512_expand(prk, SUITE_V3 + b"COMMITKEY", 28)
    content_key = hkdf_sha512_expand(prk, SUITE_V3 + b"DERIVEKEY", 32)
    return commitment, content_key


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def s3_double_encoded(text: str) -> str:
    """What S3 answers for a non-ASCII metadata value: UTF-8 read as Latin-1, UTF-8
    again, as an RFC 2047 B-encoded word."""
    doubled = text.encode("utf-8").decode("latin-1").encode("utf-8")
    return f"=?UTF-8?B?{b64(doubled)}?="


@dataclass(frozen=True)
class HandKey:
    data_key: bytes
    wrapped: bytes
    #: the KMS context stored with the object (None for raw keys)
    stored_context: dict[str, str] | None


def _hand_key(world: World, kind: str, cipher_name: str, context: dict[str, str]) -> HandKey:
    if kind == "kms":
        stored = {**context, "aws:x-amz-cek-alg": cipher_name}
        answer = world.kms_client().generate_data_key(
            KeyId=world.key_arn, KeySpec="AES_256", EncryptionContext=stored
        )
        return HandKey(answer["Plaintext"], answer["CiphertextBlob"], stored)
    data_key = os.urandom(32)
    if kind == "aes":
        iv = os.urandom(12)
        wrapped = iv + AESGCM(world.aes_key).encrypt(iv, data_key, cipher_name.encode())
        return HandKey(data_key, wrapped, None)
    pseudo = bytes([32]) + data_key + cipher_name.encode()
    return HandKey(data_key, world.rsa_private.public_key().encrypt(pseudo, OAEP_SHA1), None)


def hand_v3(
    world: World, kind: str, plaintext: bytes, context: dict[str, str] | None = None
) -> tuple[dict[str, str], bytes]:
    """A V3 object's metadata and body, computed from the format's description."""
    key = _hand_key(world, kind, V3_CIPHER, context or {})
    message_id = os.urandom(28)
    commitment, content_key = v3_commitment_and_key(key.data_key, message_id)
    meta = {
        "x-amz-c": "115",
        "x-amz-3": b64(key.wrapped),
        "x-amz-w": V3_WRAP_CODES[kind],
        "x-amz-d": b64(commitment),
        "x-amz-i": b64(message_id),
    }
    if key.stored_context is not None:
        meta["x-amz-t"] = json.dumps(key.stored_context)
    return meta, AESGCM(content_key).encrypt(V3_IV, plaintext, SUITE_V3)


def hand_v2(
    world: World, kind: str, plaintext: bytes, context: dict[str, str] | None = None
) -> tuple[dict[str, str], bytes]:
    """A V2 object's metadata and body, computed from the format's description."""
    key = _hand_key(world, kind, V2_CIPHER, context or {})
    iv = os.urandom(12)
    meta = {
        "x-amz-key-v2": b64(key.wrapped),
        "x-amz-iv": b64(iv),
        "x-amz-cek-alg": V2_CIPHER,
        "x-amz-wrap-alg": V2_WRAP_NAMES[kind],
        "x-amz-tag-len": "128",
        "x-amz-matdesc": json.dumps(key.stored_context or {}),
    }
    return meta, AESGCM(key.data_key).encrypt(iv, plaintext, None)


def hand_v1_cbc(
    world: World, plaintext: bytes, *, with_length: bool = True
) -> tuple[dict[str, str], bytes]:
    """A legacy V1 object as Ruby's V1 client writes it for a symmetric key: AES-256-CBC
    content (PKCS#7), the data key AES-ECB-encrypted (PKCS#7) under the master key,
    no x-amz-wrap-alg and no x-amz-cek-alg."""
    data_key, iv = os.urandom(32), os.urandom(16)
    padder = block_padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(data_key), modes.CBC(iv)).encryptor()
    body = encryptor.update(padded) + encryptor.finalize()
    key_padder = block_padding.PKCS7(128).padder()
    ecb = Cipher(algorithms.AES(world.aes_key), modes.ECB()).encryptor()
    wrapped = ecb.update(key_padder.update(data_key) + key_padder.finalize()) + ecb.finalize()
    assert len(wrapped) == 48
    meta = {"x-amz-key": b64(wrapped), "x-amz-iv": b64(iv), "x-amz-matdesc": "{}"}
    if with_length:
        meta["x-amz-unencrypted-content-length"] = str(len(plaintext))
    return meta, body
