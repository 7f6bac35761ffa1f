"""Sealing and opening ciphertext blobs under a key's material (layout: blob.py).

Each blob gets its own AES-256 key, HKDF-SHA256(material, salt = 16 random
bytes, info = a fixed label), so a key's material never encrypts two messages
directly and the 2^32 random-nonce limit of AES-GCM per key is never near.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealbox.crypto.kdf import hkdf
from sealbox.server.ciphertext.blob import (
    NONCE_LENGTH,
    SALT_LENGTH,
    BlobHeader,
    canonical_context,
    parse_blob,
)
from sealbox.server.errors import InvalidCiphertextException

_INFO = b"sealbox/kms/blob-key/v1"
INVALID = "The ciphertext is invalid, was altered, or does not match the encryption context."


def _blob_key(material: bytes, salt: bytes) -> AESGCM:
    return AESGCM(hkdf("sha256", material, salt=salt, info=_INFO, length=32))


def seal(
    key_id: str, material_id: str, material: bytes, plaintext: bytes, context: Mapping[str, str]
) -> bytes:
    header = BlobHeader(key_id, material_id, os.urandom(SALT_LENGTH), os.urandom(NONCE_LENGTH))
    packed = header.pack()
    sealed = _blob_key(material, header.salt).encrypt(
        header.nonce, plaintext, packed + canonical_context(context)
    )
    return packed + sealed


def open_blob(
    header: BlobHeader, packed: bytes, body: bytes, material: bytes, context: Mapping[str, str]
) -> bytes:
    try:
        return _blob_key(material, header.salt).decrypt(
            header.nonce, body, packed + canonical_context(context)
        )
    except InvalidTag:
        raise InvalidCiphertextException(INVALID) from None


__all__ = ["INVALID", "open_blob", "parse_blob", "seal"]
