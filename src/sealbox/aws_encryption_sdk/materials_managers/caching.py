"""The caching crypto materials manager: reuse materials so most messages make no KMS call.

It serves materials from a cache (any :class:`CryptoMaterialsCache`: the local LRU, the
null cache, or your own) and asks its backing manager on a miss. An encryption entry is
reused until it is older than ``max_age`` seconds or has protected more than
``max_messages_encrypted`` messages or ``max_bytes_encrypted`` bytes; a decryption entry
until it is older than ``max_age``. Encryptions of unknown length (streams without
``source_length`` from an unseekable source) and suites without a key derivation
function are never cached. Cached materials come back as the same objects each time, and
Sealbox's client remembers their Sealbox form, so a hit costs no key decoding.
"""

from __future__ import annotations

import logging
import uuid

from sealbox.aws_encryption_sdk.caches import (
    CryptoMaterialsCacheEntry,
    CryptoMaterialsCacheEntryHints,
    build_decryption_materials_cache_key,
    build_encryption_materials_cache_key,
)
from sealbox.aws_encryption_sdk.caches.base import CryptoMaterialsCache
from sealbox.aws_encryption_sdk.exceptions import CacheKeyError
from sealbox.aws_encryption_sdk.internal.defaults import MAX_BYTES_PER_KEY, MAX_MESSAGES_PER_KEY
from sealbox.aws_encryption_sdk.internal.str_ops import to_bytes
from sealbox.aws_encryption_sdk.key_providers.base import MasterKeyProvider
from sealbox.aws_encryption_sdk.materials_managers import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
)
from sealbox.aws_encryption_sdk.materials_managers.base import CryptoMaterialsManager
from sealbox.aws_encryption_sdk.materials_managers.default import DefaultCryptoMaterialsManager

__all__ = ["CachingCryptoMaterialsManager"]

_LOGGER = logging.getLogger(__name__)


def _check_type(name: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"'{name}' must be {kind.__name__} (got {value!r})")


class CachingCryptoMaterialsManager(CryptoMaterialsManager):
    """Materials from ``cache``, else from ``backing_materials_manager`` (or a default
    manager over ``master_key_provider``). ``max_age`` is a float, as in the reference."""

    def __init__(
        self,
        cache: CryptoMaterialsCache,
        max_age: float,
        max_messages_encrypted: int = MAX_MESSAGES_PER_KEY,
        max_bytes_encrypted: int = MAX_BYTES_PER_KEY,
        partition_name: str | bytes | None = None,
        master_key_provider: MasterKeyProvider | None = None,
        backing_materials_manager: CryptoMaterialsManager | None = None,
    ) -> None:
        _check_type("cache", cache, CryptoMaterialsCache)
        _check_type("max_age", max_age, float)
        _check_type("max_messages_encrypted", max_messages_encrypted, int)
        _check_type("max_bytes_encrypted", max_bytes_encrypted, int)
        if master_key_provider is not None:
            _check_type("master_key_provider", master_key_provider, MasterKeyProvider)
        if backing_materials_manager is not None:
            _check_type(
                "backing_materials_manager", backing_materials_manager, CryptoMaterialsManager
            )
        if max_messages_encrypted < 1:
            raise ValueError("max_messages_encrypted cannot be less than 1")
        if max_bytes_encrypted < 0:
            raise ValueError("max_bytes_encrypted cannot be less than 0")
        if max_messages_encrypted > MAX_MESSAGES_PER_KEY:
            raise ValueError(f"max_messages_encrypted cannot exceed {MAX_MESSAGES_PER_KEY}")
        if max_bytes_encrypted > MAX_BYTES_PER_KEY:
            raise ValueError(f"max_bytes_encrypted cannot exceed {MAX_BYTES_PER_KEY}")
        if max_age <= 0.0:
            raise ValueError("max_age cannot be less than or equal to 0")
        if backing_materials_manager is None:
            if master_key_provider is None:
                raise TypeError(
                    "Either backing_materials_manager or master_key_provider must be defined"
                )
            backing_materials_manager = DefaultCryptoMaterialsManager(master_key_provider)
        self.cache = cache
        self.max_age = max_age
        self.max_messages_encrypted = max_messages_encrypted
        self.max_bytes_encrypted = max_bytes_encrypted
        self.partition_name = to_bytes(
            partition_name if partition_name is not None else str(uuid.uuid4())
        )
        self.master_key_provider = master_key_provider
        self.backing_materials_manager: CryptoMaterialsManager = backing_materials_manager

    def __repr__(self) -> str:
        return (
            f"CachingCryptoMaterialsManager(cache={self.cache!r}, max_age={self.max_age}, "
            f"backing_materials_manager={self.backing_materials_manager!r})"
        )

    def _too_old(self, entry: CryptoMaterialsCacheEntry) -> bool:
        return entry.age > self.max_age

    def _exhausted(self, entry: CryptoMaterialsCacheEntry) -> bool:
        return (
            self._too_old(entry)
            or entry.messages_encrypted > self.max_messages_encrypted
            or entry.bytes_encrypted > self.max_bytes_encrypted
        )

    def _remove(self, entry: CryptoMaterialsCacheEntry) -> None:
        remove = getattr(self.cache, "remove", None)  # the base interface has no remove
        if remove is not None:
            try:
                remove(entry)
            except CacheKeyError:
                pass

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        length = request.plaintext_length
        if length is None or (
            request.algorithm is not None and not request.algorithm.safe_to_cache()
        ):
            return self.backing_materials_manager.get_encryption_materials(request)
        # The materials may protect several plaintexts: ask without this one's length.
        inner = EncryptionMaterialsRequest(
            encryption_context=request.encryption_context,
            frame_length=request.frame_length,
            algorithm=request.algorithm,
            commitment_policy=request.commitment_policy,
        )
        cache_key = build_encryption_materials_cache_key(self.partition_name, inner)
        try:
            entry = self.cache.get_encryption_materials(cache_key, length)
        except CacheKeyError:
            pass
        else:
            if not self._exhausted(entry):
                assert isinstance(entry.value, EncryptionMaterials)
                return entry.value
            self._remove(entry)
        materials = self.backing_materials_manager.get_encryption_materials(inner)
        if materials.algorithm.safe_to_cache() and length < self.max_bytes_encrypted:
            self.cache.put_encryption_materials(
                cache_key,
                materials,
                length,
                CryptoMaterialsCacheEntryHints(lifetime=self.max_age),
            )
        return materials

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        cache_key = build_decryption_materials_cache_key(self.partition_name, request)
        try:
            entry = self.cache.get_decryption_materials(cache_key)
        except CacheKeyError:
            pass
        else:
            if not self._too_old(entry):
                assert isinstance(entry.value, DecryptionMaterials)
                return entry.value
            self._remove(entry)
        materials = self.backing_materials_manager.decrypt_materials(request)
        self.cache.put_decryption_materials(cache_key, materials)
        return materials
