"""Materials caches for the caching materials manager: entries, hints and cache keys.

Cache keys are SHA-512 digests computed as the reference computes them (partition,
suite, encryption context; for decryption also the encrypted data keys), from
Sealbox's serializations of contexts and encrypted data keys.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sealbox.aws_encryption_sdk._bridge.convert import edk_to_sealbox
from sealbox.aws_encryption_sdk.exceptions import NotSupportedError
from sealbox.aws_encryption_sdk.materials_managers import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
)
from sealbox.aws_encryption_sdk.structures import EncryptedDataKey
from sealbox.format.context import serialize_encryption_context
from sealbox.format.header import serialize_edk

__all__ = [
    "CryptoMaterialsCacheEntry",
    "CryptoMaterialsCacheEntryHints",
    "build_decryption_materials_cache_key",
    "build_encryption_materials_cache_key",
]


def _sha512(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


def build_encryption_materials_cache_key(
    partition: bytes, request: EncryptionMaterialsRequest
) -> bytes:
    suite = b"\x00" if request.algorithm is None else b"\x01" + request.algorithm.id_as_bytes()
    return _sha512(
        _sha512(partition)
        + suite
        + _sha512(serialize_encryption_context(request.encryption_context))
    )


def _edks_digest(encrypted_data_keys: Iterable[EncryptedDataKey]) -> bytes:
    return b"".join(sorted(_sha512(serialize_edk(edk_to_sealbox(e))) for e in encrypted_data_keys))


def build_decryption_materials_cache_key(
    partition: bytes, request: DecryptionMaterialsRequest
) -> bytes:
    return _sha512(
        _sha512(partition)
        + request.algorithm.id_as_bytes()
        + _edks_digest(request.encrypted_data_keys)
        + bytes(64)
        + _sha512(serialize_encryption_context(request.encryption_context))
    )


@dataclass
class CryptoMaterialsCacheEntryHints:
    """Metadata for an entry: its ``lifetime`` in seconds (None: no limit)."""

    lifetime: float | None = None


class CryptoMaterialsCacheEntry:
    """Cached materials and their use so far; read-only once made."""

    cache_key: bytes
    value: EncryptionMaterials | DecryptionMaterials
    hints: CryptoMaterialsCacheEntryHints
    creation_time: float
    bytes_encrypted: int
    messages_encrypted: int
    valid: bool
    _lock: threading.Lock

    def __init__(
        self,
        cache_key: bytes,
        value: EncryptionMaterials | DecryptionMaterials,
        hints: CryptoMaterialsCacheEntryHints | None = None,
    ) -> None:
        if not isinstance(cache_key, bytes):
            raise TypeError("cache_key must be bytes")
        if not isinstance(value, EncryptionMaterials | DecryptionMaterials):
            raise TypeError("value must be EncryptionMaterials or DecryptionMaterials")
        fields: dict[str, Any] = {
            "cache_key": cache_key,
            "value": value,
            "hints": hints if hints is not None else CryptoMaterialsCacheEntryHints(),
            "creation_time": time.time(),
            "bytes_encrypted": 0,
            "messages_encrypted": 0,
            "valid": True,
            "_lock": threading.Lock(),
        }
        for name, field_value in fields.items():
            object.__setattr__(self, name, field_value)

    def __setattr__(self, name: str, value: object) -> None:
        raise NotSupportedError("Attributes may not be set on CryptoMaterialsCacheEntry objects")

    def __repr__(self) -> str:
        return (
            f"CryptoMaterialsCacheEntry(cache_key={self.cache_key!r}, value={self.value!r}, "
            f"hints={self.hints!r})"
        )

    @property
    def age(self) -> float:
        return time.time() - self.creation_time

    def is_too_old(self) -> bool:
        lifetime = self.hints.lifetime
        return lifetime is not None and self.age > lifetime

    def _update_with_message_bytes_encrypted(self, bytes_encrypted: int) -> None:
        """Count one more message of ``bytes_encrypted`` bytes against this entry."""
        with self._lock:
            object.__setattr__(self, "messages_encrypted", self.messages_encrypted + 1)
            object.__setattr__(self, "bytes_encrypted", self.bytes_encrypted + bytes_encrypted)

    def invalidate(self) -> None:
        with self._lock:
            object.__setattr__(self, "valid", False)
