"""An in-memory LRU cache of materials, safe to share between threads and managers."""

from __future__ import annotations

import threading
from collections import OrderedDict

from sealbox.aws_encryption_sdk.caches import (
    CryptoMaterialsCacheEntry,
    CryptoMaterialsCacheEntryHints,
)
from sealbox.aws_encryption_sdk.caches.base import CryptoMaterialsCache
from sealbox.aws_encryption_sdk.exceptions import CacheKeyError, NotSupportedError
from sealbox.aws_encryption_sdk.materials_managers import DecryptionMaterials, EncryptionMaterials

__all__ = ["LocalCryptoMaterialsCache"]

#: expired entries looked at (from the least recently used end) on each put
_EVICTION_ROUNDS = 10


class LocalCryptoMaterialsCache(CryptoMaterialsCache):
    """At most ``capacity`` entries; the least recently used goes first, and expired or
    invalidated entries are dropped when met."""

    def __init__(self, capacity: int) -> None:
        if not isinstance(capacity, int):
            raise TypeError(f"'capacity' must be an int, not {type(capacity).__name__}")
        if capacity < 1:
            raise ValueError("LocalCryptoMaterialsCache capacity cannot be less than 1")
        self._capacity = capacity
        self._lock = threading.RLock()
        self._cache: OrderedDict[bytes, CryptoMaterialsCacheEntry] = OrderedDict()

    @property
    def capacity(self) -> int:
        return self._capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        raise NotSupportedError(
            "capacity may not be modified on LocalCryptoMaterialsCache instances"
        )

    def __len__(self) -> int:
        return len(self._cache)

    def _evict_some(self) -> None:
        """Drop expired or invalidated entries among the least recently used few."""
        for key in list(self._cache)[:_EVICTION_ROUNDS]:
            entry = self._cache[key]
            if not entry.valid or entry.is_too_old():
                entry.invalidate()
                del self._cache[key]

    def _add(self, entry: CryptoMaterialsCacheEntry) -> CryptoMaterialsCacheEntry:
        with self._lock:
            self._evict_some()
            replaced = self._cache.pop(entry.cache_key, None)
            if replaced is not None:
                replaced.invalidate()
            self._cache[entry.cache_key] = entry
            while len(self._cache) > self._capacity:
                _, evicted = self._cache.popitem(last=False)
                evicted.invalidate()
        return entry

    def put_encryption_materials(
        self,
        cache_key: bytes,
        encryption_materials: EncryptionMaterials,
        plaintext_length: int,
        entry_hints: CryptoMaterialsCacheEntryHints | None = None,
    ) -> CryptoMaterialsCacheEntry:
        entry = CryptoMaterialsCacheEntry(
            cache_key=cache_key, value=encryption_materials, hints=entry_hints
        )
        entry._update_with_message_bytes_encrypted(plaintext_length)
        return self._add(entry)

    def put_decryption_materials(
        self, cache_key: bytes, decryption_materials: DecryptionMaterials
    ) -> CryptoMaterialsCacheEntry:
        return self._add(CryptoMaterialsCacheEntry(cache_key=cache_key, value=decryption_materials))

    def remove(self, value: CryptoMaterialsCacheEntry) -> None:
        """Invalidate ``value`` and drop it; CacheKeyError if it is not in the cache."""
        with self._lock:
            value.invalidate()
            if self._cache.get(value.cache_key) is not value:
                raise CacheKeyError("Key not found in cache")
            del self._cache[value.cache_key]

    def _get(self, cache_key: bytes) -> CryptoMaterialsCacheEntry:
        entry = self._cache.get(cache_key)
        if entry is None:
            raise CacheKeyError("Key not found in cache")
        if not entry.valid or entry.is_too_old():
            entry.invalidate()
            del self._cache[cache_key]
            raise CacheKeyError("Key not found in cache")
        self._cache.move_to_end(cache_key)
        return entry

    def get_encryption_materials(
        self, cache_key: bytes, plaintext_length: int
    ) -> CryptoMaterialsCacheEntry:
        with self._lock:
            entry = self._get(cache_key)
            entry._update_with_message_bytes_encrypted(plaintext_length)
            return entry

    def get_decryption_materials(self, cache_key: bytes) -> CryptoMaterialsCacheEntry:
        with self._lock:
            return self._get(cache_key)

    def clear(self) -> None:
        with self._lock:
            for entry in self._cache.values():
                entry.invalidate()
            self._cache.clear()
