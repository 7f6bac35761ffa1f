"""Data-key derivation and key commitment.

spec: framework/algorithm-suites.md (key derivation, key commitment).

* 0x00xx suites: the data key is the encryption key (identity KDF).
* 0x01xx-0x03xx: HKDF(hash, salt = none, info = u16(suite id) ‖ message id).
* 0x0478/0x0578: one HKDF-SHA512 extract with salt = message id, then expand
  with info = u16(suite id) ‖ "DERIVEKEY" (encryption key) and "COMMITKEY"
  (the commit key written in the header).
"""

from __future__ import annotations

import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from sealbox.errors import UsageError
from sealbox.format.suites import Algorithm

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

DERIVE_KEY_LABEL = b"DERIVEKEY"
COMMIT_KEY_LABEL = b"COMMITKEY"
COMMIT_KEY_LENGTH = 32


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    try:
        return _HASHES[name]()
    except KeyError:
        raise UsageError(f"unsupported hash {name!r}; expected one of {sorted(_HASHES)}") from None


def hkdf(hash_name: str, ikm: bytes, *, salt: bytes | None, info: bytes, length: int) -> bytes:
    """RFC 5869 HKDF (extract and expand)."""
    try:
        return HKDF(hash_algorithm(hash_name), length, salt, info).derive(ikm)
    except ValueError as error:  # e.g. length above 255 hash lengths
        raise UsageError(f"HKDF: {error}") from None


def derive_message_keys(
    algorithm: Algorithm, data_key: bytes, message_id: bytes
) -> tuple[bytes, bytes]:
    """Return ``(encryption key, commit key)``; the commit key is b"" for non-committing suites."""
    if len(data_key) != algorithm.key_length:
        raise UsageError(
            f"data key is {len(data_key)} bytes; suite 0x{algorithm.suite_id:04X} "
            f"needs {algorithm.key_length}"
        )
    if algorithm.kdf_hash is None:
        return data_key, b""
    if not algorithm.is_committing:
        info = struct.pack(">H", algorithm.suite_id) + message_id
        return hkdf(
            algorithm.kdf_hash, data_key, salt=None, info=info, length=algorithm.key_length
        ), b""
    digest = hash_algorithm(algorithm.kdf_hash)
    prk = HKDF.extract(digest, message_id, data_key)
    info = struct.pack(">H", algorithm.suite_id) + DERIVE_KEY_LABEL
    key = HKDFExpand(digest, algorithm.key_length, info).derive(prk)
    commit = HKDFExpand(digest, COMMIT_KEY_LENGTH, COMMIT_KEY_LABEL).derive(prk)
    return key, commit
