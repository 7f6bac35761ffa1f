"""The interface of materials caches."""

from __future__ import annotations

import abc

from sealbox.aws_encryption_sdk.caches import (
    CryptoMaterialsCacheEntry,
    CryptoMaterialsCacheEntryHints,
)
from sealbox.aws_encryption_sdk.materials_managers import DecryptionMaterials, EncryptionMaterials

__all__ = ["CryptoMaterialsCache"]


class CryptoMaterialsCache(abc.ABC):
    """Stores materials under cache keys; ``get_*`` raise CacheKeyError on a miss."""

    @abc.abstractmethod
    def put_encryption_materials(
        self,
        cache_key: bytes,
        encryption_materials: EncryptionMaterials,
        plaintext_length: int,
        entry_hints: CryptoMaterialsCacheEntryHints | None = None,
    ) -> CryptoMaterialsCacheEntry:
        """Add encryption materials, counting their first message of ``plaintext_length`` bytes."""

    @abc.abstractmethod
    def put_decryption_materials(
        self, cache_key: bytes, decryption_materials: DecryptionMaterials
    ) -> CryptoMaterialsCacheEntry:
        """Add decryption materials."""

    @abc.abstractmethod
    def get_encryption_materials(
        self, cache_key: bytes, plaintext_length: int
    ) -> CryptoMaterialsCacheEntry:
        """The entry for ``cache_key``, with one more message of ``plaintext_length`` counted."""

    @abc.abstractmethod
    def get_decryption_materials(self, cache_key: bytes) -> CryptoMaterialsCacheEntry:
        """The entry for ``cache_key``."""
