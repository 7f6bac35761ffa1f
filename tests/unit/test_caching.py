"""The caching materials manager and its LRU cache, with a raw keyring that counts its calls."""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Sequence

import pytest

import sealbox
from sealbox import CachingCryptoMaterialsManager, LocalCryptoMaterialsCache
from sealbox.errors import PolicyError, UsageError
from sealbox.format.header import EncryptedDataKey
from sealbox.keyrings import RawAESKeyring
from sealbox.materials import DecryptionMaterials, EncryptionMaterials

Algorithm = sealbox.Algorithm
CommitmentPolicy = sealbox.CommitmentPolicy


class CountingKeyring(RawAESKeyring):
    """A real raw AES keyring that counts how often it is asked for a data key."""

    def __init__(self) -> None:
        super().__init__(key_namespace="test", key_name="counted", wrapping_key=bytes(range(32)))
        self.encrypts = 0
        self.decrypts = 0
        self._lock = threading.Lock()

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        with self._lock:
            self.encrypts += 1
        return super().on_encrypt(materials)

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        with self._lock:
            self.decrypts += 1
        return super().on_decrypt(materials, encrypted_data_keys)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


client = sealbox.EncryptionClient()


def caching(
    keyring: CountingKeyring,
    cache: LocalCryptoMaterialsCache | None = None,
    *,
    max_age: float = 60.0,
    max_messages_encrypted: int = 2**32,
    max_bytes_encrypted: int = 2**63 - 1,
    partition_name: str | None = None,
) -> CachingCryptoMaterialsManager:
    return CachingCryptoMaterialsManager(
        cache=cache if cache is not None else LocalCryptoMaterialsCache(10),
        keyring=keyring,
        max_age=max_age,
        max_messages_encrypted=max_messages_encrypted,
        max_bytes_encrypted=max_bytes_encrypted,
        partition_name=partition_name,
    )


def edk_of(message: bytes) -> bytes:
    return (
        client.decrypt(source=message, keyring=CountingKeyring())[1]
        .encrypted_data_keys[0]
        .ciphertext
    )


def test_a_cache_hit_asks_the_keyring_nothing_and_each_message_still_differs() -> None:
    keyring = CountingKeyring()
    cmm = caching(keyring)
    messages = [
        client.encrypt(source=b"same", materials_manager=cmm, encryption_context={"a": "1"})[0]
        for _ in range(5)
    ]
    assert keyring.encrypts == 1
    assert len(set(messages)) == 5  # a fresh message id (and so a fresh derived key) each time
    assert len({edk_of(m) for m in messages}) == 1  # one data key
    for message in messages:
        assert client.decrypt(source=message, materials_manager=cmm)[0] == b"same"
    assert keyring.decrypts == 1


def test_entries_are_per_encryption_context_and_suite() -> None:
    keyring = CountingKeyring()
    cmm = caching(keyring)
    for context in ({"a": "1"}, {"a": "2"}, {"a": "1"}):
        client.encrypt(source=b"x", materials_manager=cmm, encryption_context=context)
    assert keyring.encrypts == 2
    client.encrypt(
        source=b"x",
        materials_manager=cmm,
        encryption_context={"a": "1"},
        algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    )
    assert keyring.encrypts == 3


def test_max_messages_encrypted() -> None:
    keyring = CountingKeyring()
    cmm = caching(keyring, max_messages_encrypted=3)
    messages = [client.encrypt(source=b"m", materials_manager=cmm)[0] for _ in range(10)]
    assert keyring.encrypts == 4
    assert sorted(Counter(edk_of(m) for m in messages).values()) == [1, 3, 3, 3]


def test_max_bytes_encrypted() -> None:
    keyring = CountingKeyring()
    cmm = caching(keyring, max_bytes_encrypted=100)
    for _ in range(4):
        client.encrypt(source=bytes(40), materials_manager=cmm)
    assert keyring.encrypts == 2  # 40 + 40 fit, the third would make 120
    client.encrypt(source=bytes(101), materials_manager=cmm)  # larger than the limit: bypass
    assert keyring.encrypts == 3


def test_max_age_for_encryption_and_decryption() -> None:
    clock = Clock()
    keyring = CountingKeyring()
    cmm = caching(keyring, LocalCryptoMaterialsCache(10, clock=clock), max_age=30.0)
    message = client.encrypt(source=b"t", materials_manager=cmm)[0]
    client.decrypt(source=message, materials_manager=cmm)
    clock.now += 30
    client.encrypt(source=b"t", materials_manager=cmm)
    client.decrypt(source=message, materials_manager=cmm)
    assert (keyring.encrypts, keyring.decrypts) == (1, 1)
    clock.now += 0.5
    client.encrypt(source=b"t", materials_manager=cmm)
    client.decrypt(source=message, materials_manager=cmm)
    assert (keyring.encrypts, keyring.decrypts) == (2, 2)


def test_partitions_keep_managers_apart_on_a_shared_cache() -> None:
    cache = LocalCryptoMaterialsCache(10)
    first, second = CountingKeyring(), CountingKeyring()
    client.encrypt(source=b"p", materials_manager=caching(first, cache))
    client.encrypt(source=b"p", materials_manager=caching(second, cache))
    assert (first.encrypts, second.encrypts) == (1, 1)
    named = caching(first, cache, partition_name="shared")
    client.encrypt(source=b"p", materials_manager=named)
    client.encrypt(source=b"p", materials_manager=caching(second, cache, partition_name="shared"))
    assert (first.encrypts, second.encrypts) == (2, 1)


def test_lru_eviction_at_capacity() -> None:
    keyring = CountingKeyring()
    cmm = caching(keyring, LocalCryptoMaterialsCache(2))
    for context in ("a", "b", "a", "c", "a", "b"):
        client.encrypt(source=b"e", materials_manager=cmm, encryption_context={"k": context})
    # a, b, (a hit), c evicts b, (a hit), b again
    assert keyring.encrypts == 4
    assert len(cmm.cache) == 2


def test_what_is_never_cached() -> None:
    keyring = CountingKeyring()
    cmm = caching(keyring)
    for _ in range(2):  # unknown length: a stream without source_length
        with client.stream(mode="e", source=io.BytesIO(b"s"), materials_manager=cmm) as stream:
            stream.read()
    assert keyring.encrypts == 2
    with client.stream(
        mode="e", source=io.BytesIO(b"s"), materials_manager=cmm, source_length=1
    ) as stream:
        stream.read()
    assert keyring.encrypts == 3
    legacy = sealbox.EncryptionClient(
        commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )
    no_kdf = Algorithm.AES_256_GCM_IV12_TAG16
    for _ in range(2):  # a suite without a KDF would reuse one key for every message
        message = legacy.encrypt(source=b"n", materials_manager=cmm, algorithm=no_kdf)[0]
    assert keyring.encrypts == 5
    for _ in range(2):
        legacy.decrypt(source=message, materials_manager=cmm)
    assert keyring.decrypts == 2


def test_the_commitment_policy_is_checked_before_the_cache() -> None:
    keyring = CountingKeyring()
    cmm = caching(keyring)
    legacy = sealbox.EncryptionClient(
        commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )
    message = legacy.encrypt(source=b"old", materials_manager=cmm)[0]
    assert legacy.decrypt(source=message, materials_manager=cmm)[0] == b"old"
    with pytest.raises(PolicyError, match="forbids decrypting"):
        client.decrypt(source=message, materials_manager=cmm)


def test_concurrent_encryptions_never_exceed_the_message_limit() -> None:
    keyring = CountingKeyring()
    cmm = caching(keyring, max_messages_encrypted=10)
    messages: list[bytes] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(50):
            message = client.encrypt(source=b"c", materials_manager=cmm)[0]
            with lock:
                messages.append(message)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    uses = Counter(edk_of(m) for m in messages)
    assert sum(uses.values()) == 400
    assert max(uses.values()) <= 10
    assert keyring.encrypts == len(uses) >= 40


def test_bad_configuration() -> None:
    keyring = CountingKeyring()
    with pytest.raises(UsageError, match="capacity must be a positive int"):
        LocalCryptoMaterialsCache(0)
    with pytest.raises(UsageError, match="max_age must be a positive number"):
        caching(keyring, max_age=0)
    with pytest.raises(UsageError, match="max_messages_encrypted must be between 1 and"):
        caching(keyring, max_messages_encrypted=0)
    with pytest.raises(UsageError, match="exactly one of"):
        CachingCryptoMaterialsManager(cache=LocalCryptoMaterialsCache(1), max_age=1)


def test_a_manager_with_nothing_behind_it_names_the_parameters_it_takes() -> None:
    with pytest.raises(UsageError, match=r"backing_materials_manager= or keyring="):
        CachingCryptoMaterialsManager(cache=LocalCryptoMaterialsCache(1), max_age=1.0)
