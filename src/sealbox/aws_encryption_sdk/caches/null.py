"""A cache that keeps nothing (every lookup misses)."""

from __future__ import annotations

from sealbox.aws_encryption_sdk.caches import (
    CryptoMaterialsCacheEntry,
    CryptoMaterialsCacheEntryHints,
)
from sealbox.aws_encryption_sdk.caches.base import CryptoMaterialsCache
from sealbox.aws_encryption_sdk.exceptions import CacheKeyError
from sealbox.aws_encryption_sdk.materials_managers import DecryptionMaterials, EncryptionMaterials

__all__ = ["NullCryptoMaterialsCache"]


class NullCryptoMaterialsCache(CryptoMaterialsCache):
    """Stores nothing: the caching manager then asks its backing manager every time."""

    def put_encryption_materials(
        self,
        cache_key: bytes,
        encryption_materials: EncryptionMaterials,
        plaintext_length: int,
        entry_hints: CryptoMaterialsCacheEntryHints | None = None,
    ) -> CryptoMaterialsCacheEntry:
        return CryptoMaterialsCacheEntry(cache_key=cache_key, value=encryption_materials)

    def put_decryption_materials(
        self, cache_key: bytes, decryption_materials: DecryptionMaterials
    ) -> CryptoMaterialsCacheEntry:
        return CryptoMaterialsCacheEntry(cache_key=cache_key, value=decryption_materials)

    def get_encryption_materials(
        self, cache_key: bytes, plaintext_length: int
    ) -> CryptoMaterialsCacheEntry:
        raise CacheKeyError("Key not found in cache")

    def get_decryption_materials(self, cache_key: bytes) -> CryptoMaterialsCacheEntry:
        raise CacheKeyError("Key not found in cache")
