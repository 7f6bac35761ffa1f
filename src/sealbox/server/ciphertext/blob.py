"""The KMS ciphertext blob: Sealbox's own layout, versioned, pure (no crypto here).

    offset  size  field
         0     1  version (1; 2 for a multi-Region key)
         1    16  key id (the key's UUID; a multi-Region key's 32 hex digits after "mrk-")
        17    32  key material id (which rotation of the key sealed it)
        49    16  salt (random; the per-blob key is HKDF(material, salt))
        65    12  nonce
        77     *  AES-256-GCM ciphertext ‖ tag (16)

The AEAD's associated data is the 77-byte header followed by the canonical
encryption context: ``count:u32`` then ``len:u32 ‖ key ‖ len:u32 ‖ value`` per
pair (UTF-8), sorted by key bytes. Lengths make the encoding unambiguous, so
``{"ab": "c"}`` can never stand in for ``{"a": "bc"}``. A 4096-byte plaintext
makes a 4189-byte blob, well under the API's 6144-byte limit. Every later
version of Sealbox keeps reading versions 1 and 2. The blob names the key, not its region,
so a multi-Region key's blob opens with any of its copies (they share their materials).
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sealbox.server.errors import InvalidCiphertextException

VERSION = 1
MULTI_REGION_VERSION = 2
MULTI_REGION_PREFIX = "mrk-"
KEY_ID_LENGTH = 16
MATERIAL_ID_LENGTH = 32
SALT_LENGTH = 16
NONCE_LENGTH = 12
TAG_LENGTH = 16
HEADER = struct.Struct(f">B{KEY_ID_LENGTH}s{MATERIAL_ID_LENGTH}s{SALT_LENGTH}s{NONCE_LENGTH}s")
_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class BlobHeader:
    key_id: str  # canonical UUID text, or mrk- and 32 hex digits
    material_id: str  # 64 lowercase hex characters
    salt: bytes
    nonce: bytes

    def pack(self) -> bytes:
        multi_region = self.key_id.startswith(MULTI_REGION_PREFIX)
        return HEADER.pack(
            MULTI_REGION_VERSION if multi_region else VERSION,
            bytes.fromhex(self.key_id.removeprefix(MULTI_REGION_PREFIX).replace("-", "")),
            bytes.fromhex(self.material_id),
            self.salt,
            self.nonce,
        )


def parse_blob(blob: bytes) -> tuple[BlobHeader, bytes, bytes]:
    """Split a blob into (header, header bytes, ciphertext ‖ tag)."""
    if len(blob) < HEADER.size + TAG_LENGTH or blob[0] not in (VERSION, MULTI_REGION_VERSION):
        raise InvalidCiphertextException(
            "The ciphertext is invalid or was not produced by this service."
        )
    version, key_id, material_id, salt, nonce = HEADER.unpack_from(blob)
    named = (
        MULTI_REGION_PREFIX + key_id.hex()
        if version == MULTI_REGION_VERSION
        else str(uuid.UUID(bytes=key_id))
    )
    header = BlobHeader(named, material_id.hex(), salt, nonce)
    return header, blob[: HEADER.size], blob[HEADER.size :]


def canonical_context(context: Mapping[str, str]) -> bytes:
    pairs = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in context.items())
    parts = [_U32.pack(len(pairs))]
    for key, value in pairs:
        parts += [_U32.pack(len(key)), key, _U32.pack(len(value)), value]
    return b"".join(parts)
