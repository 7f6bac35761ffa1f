"""Data-key caching: reuse materials so that most messages make no KMS call.

spec: framework/caching-cmm.md, local-cryptographic-materials-cache.md.

:class:`CachingCryptoMaterialsManager` sits in front of a keyring (or another
CMM) and keeps the materials it gets in a :class:`LocalCryptoMaterialsCache`,
a thread-safe LRU. An encryption entry is reused until it is older than
``max_age`` seconds or has protected ``max_messages_encrypted`` messages or
``max_bytes_encrypted`` bytes; a decryption entry until it is older than
``max_age``. Only suites with a key derivation function are cached (each
message then derives its own key from the cached data key and its message
id); encryptions of unknown length are never cached (pass ``source_length=``
when streaming). Entries are keyed by partition, so managers sharing one
cache never share each other's data keys unless given the same
``partition_name``.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from sealbox.cmm import (
    CryptoMaterialsManager,
    DecryptionMaterialsRequest,
    EncryptionMaterialsRequest,
    as_materials_manager,
    check_decrypt_policy,
)
from sealbox.errors import UsageError
from sealbox.format.context import serialize_encryption_context
from sealbox.format.header import serialize_edk
from sealbox.format.suites import Algorithm
from sealbox.keyrings.base import Keyring
from sealbox.materials import DecryptionMaterials, EncryptionMaterials

MAX_MESSAGES_ENCRYPTED = 2**32
MAX_BYTES_ENCRYPTED = 2**63 - 1


@dataclass
class CacheEntry:
    materials: EncryptionMaterials | DecryptionMaterials
    created: float
    messages_encrypted: int = 0
    bytes_encrypted: int = 0
    valid: bool = field(default=True)

    def age(self, now: float) -> float:
        return now - self.created


class LocalCryptoMaterialsCache:
    """An in-memory LRU of materials, safe to share between threads and managers."""

    def __init__(self, capacity: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not isinstance(capacity, int) or capacity < 1:
            raise UsageError("cache capacity must be a positive int")
        self.capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[bytes, CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def now(self) -> float:
        return self._clock()

    def put(self, cache_key: bytes, entry: CacheEntry) -> None:
        with self._lock:
            self._entries[cache_key] = entry
            self._entries.move_to_end(cache_key)
            while len(self._entries) > self.capacity:
                _, evicted = self._entries.popitem(last=False)
                evicted.valid = False

    def get(self, cache_key: bytes) -> CacheEntry | None:
        with self._lock:
            entry = self._entries.get(cache_key)
            if entry is not None:
                self._entries.move_to_end(cache_key)
            return entry

    def take_for_encryption(self, cache_key: bytes, plaintext_length: int) -> CacheEntry | None:
        """The entry for ``cache_key`` with one more message of ``plaintext_length``
        bytes counted against it — atomically, so concurrent encryptions never
        exceed the limits together."""
        with self._lock:
            entry = self._entries.get(cache_key)
            if entry is None:
                return None
            self._entries.move_to_end(cache_key)
            entry.messages_encrypted += 1
            entry.bytes_encrypted += plaintext_length
            return entry

    def remove(self, cache_key: bytes, entry: CacheEntry) -> None:
        with self._lock:
            entry.valid = False
            if self._entries.get(cache_key) is entry:
                del self._entries[cache_key]

    def clear(self) -> None:
        with self._lock:
            for entry in self._entries.values():
                entry.valid = False
            self._entries.clear()


def _sha512(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


def _cacheable(algorithm: Algorithm) -> bool:
    return algorithm.kdf_hash is not None


class CachingCryptoMaterialsManager:
    """Serve materials from ``cache``; ask the backing manager on a miss."""

    def __init__(
        self,
        *,
        cache: LocalCryptoMaterialsCache,
        max_age: float,
        max_messages_encrypted: int = MAX_MESSAGES_ENCRYPTED,
        max_bytes_encrypted: int = MAX_BYTES_ENCRYPTED,
        partition_name: str | None = None,
        keyring: Keyring | None = None,
        backing_materials_manager: CryptoMaterialsManager | None = None,
    ) -> None:
        if not isinstance(cache, LocalCryptoMaterialsCache):
            raise UsageError("cache must be a LocalCryptoMaterialsCache")
        if not isinstance(max_age, int | float) or not max_age > 0:
            raise UsageError("max_age must be a positive number of seconds")
        if not 1 <= max_messages_encrypted <= MAX_MESSAGES_ENCRYPTED:
            raise UsageError(
                f"max_messages_encrypted must be between 1 and {MAX_MESSAGES_ENCRYPTED}"
            )
        if not 0 <= max_bytes_encrypted <= MAX_BYTES_ENCRYPTED:
            raise UsageError(f"max_bytes_encrypted must be between 0 and {MAX_BYTES_ENCRYPTED}")
        self.cache = cache
        self.max_age = float(max_age)
        self.max_messages_encrypted = max_messages_encrypted
        self.max_bytes_encrypted = max_bytes_encrypted
        self.partition_name = partition_name if partition_name is not None else str(uuid.uuid4())
        self.backing_materials_manager = as_materials_manager(
            materials_manager=backing_materials_manager,
            keyring=keyring,
            parameters="backing_materials_manager= or keyring=",
        )
        self._partition = _sha512(self.partition_name.encode("utf-8"))

    # -- encryption -------------------------------------------------------------------------

    def _encryption_key(self, request: EncryptionMaterialsRequest) -> bytes:
        suite = (
            b"\x01" + struct.pack(">H", request.algorithm.suite_id)
            if request.algorithm is not None
            else b"\x00"
        )
        return _sha512(
            self._partition
            + suite
            + _sha512(request.commitment_policy.value.encode())
            + _sha512(serialize_encryption_context(request.encryption_context))
            + _sha512(",".join(sorted(request.required_encryption_context_keys)).encode())
        )

    def _exhausted(self, entry: CacheEntry) -> bool:
        return (
            entry.age(self.cache.now()) > self.max_age
            or entry.messages_encrypted > self.max_messages_encrypted
            or entry.bytes_encrypted > self.max_bytes_encrypted
        )

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        length = request.plaintext_length
        if (
            length is None
            or length > self.max_bytes_encrypted
            or (request.algorithm is not None and not _cacheable(request.algorithm))
        ):
            return self.backing_materials_manager.get_encryption_materials(request)
        cache_key = self._encryption_key(request)
        entry = self.cache.take_for_encryption(cache_key, length)
        if entry is not None:
            if entry.valid and not self._exhausted(entry):
                assert isinstance(entry.materials, EncryptionMaterials)
                return entry.materials
            self.cache.remove(cache_key, entry)
        materials = self.backing_materials_manager.get_encryption_materials(request)
        if _cacheable(materials.algorithm):
            self.cache.put(
                cache_key,
                CacheEntry(
                    materials, self.cache.now(), messages_encrypted=1, bytes_encrypted=length
                ),
            )
        return materials

    # -- decryption -------------------------------------------------------------------------

    def _decryption_key(self, request: DecryptionMaterialsRequest) -> bytes:
        edks = sorted(_sha512(serialize_edk(edk)) for edk in request.encrypted_data_keys)
        return _sha512(
            self._partition
            + struct.pack(">H", request.algorithm.suite_id)
            + _sha512(request.commitment_policy.value.encode())
            + b"".join(edks)
            + bytes(64)
            + _sha512(serialize_encryption_context(request.encryption_context))
            + _sha512(serialize_encryption_context(request.reproduced_encryption_context))
        )

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        check_decrypt_policy(request.commitment_policy, request.algorithm)
        if not _cacheable(request.algorithm):
            return self.backing_materials_manager.decrypt_materials(request)
        cache_key = self._decryption_key(request)
        entry = self.cache.get(cache_key)
        if entry is not None:
            if entry.valid and entry.age(self.cache.now()) <= self.max_age:
                assert isinstance(entry.materials, DecryptionMaterials)
                return entry.materials
            self.cache.remove(cache_key, entry)
        materials = self.backing_materials_manager.decrypt_materials(request)
        self.cache.put(cache_key, CacheEntry(materials, self.cache.now()))
        return materials
