"""The caching materials manager and its caches, as the reference's behave."""

from __future__ import annotations

import io
import os
import time
from types import ModuleType
from typing import Any

import pytest

from tests.unit.aws_sdk.helpers import SDKS, SEALBOX, raw_provider, sub

KEYS = {b"cache-key": ("aes", os.urandom(32))}
UNSIGNED = "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"


@pytest.fixture(params=list(SDKS))
def sdk(request: pytest.FixtureRequest) -> ModuleType:
    module: ModuleType = SDKS[request.param]
    return module


class Counting:
    """Counts the data keys a provider's master key generates and decrypts."""

    def __init__(self, sdk: ModuleType) -> None:
        self.provider = raw_provider(sdk, KEYS)
        self.key = self.provider.master_key(b"cache-key")
        self.generated = self.decrypted = 0
        generate, decrypt = self.key.generate_data_key, self.key.decrypt_data_key

        def counted_generate(*args: Any, **kwargs: Any) -> Any:
            self.generated += 1
            return generate(*args, **kwargs)

        def counted_decrypt(*args: Any, **kwargs: Any) -> Any:
            self.decrypted += 1
            return decrypt(*args, **kwargs)

        self.key.generate_data_key = counted_generate
        self.key.decrypt_data_key = counted_decrypt


def caching(sdk: ModuleType, counting: Counting, **options: Any) -> Any:
    options.setdefault("cache", sdk.LocalCryptoMaterialsCache(capacity=10))
    options.setdefault("max_age", 60.0)
    return sdk.CachingCryptoMaterialsManager(master_key_provider=counting.provider, **options)


@pytest.mark.parametrize("algorithm", [None, UNSIGNED])
def test_one_data_key_serves_many_messages(sdk: ModuleType, algorithm: str | None) -> None:
    counting = Counting(sdk)
    manager = caching(sdk, counting)
    client = sdk.EncryptionSDKClient()
    extra = {} if algorithm is None else {"algorithm": sdk.Algorithm[algorithm]}
    messages = [
        client.encrypt(source=b"message %d" % i, materials_manager=manager, **extra)[0]
        for i in range(5)
    ]
    assert counting.generated == 1
    for i, message in enumerate(messages):
        assert client.decrypt(source=message, materials_manager=manager)[0] == b"message %d" % i
    assert counting.decrypted == 1  # one data key, one decryption entry


def test_limits_retire_entries(sdk: ModuleType) -> None:
    counting = Counting(sdk)
    manager = caching(sdk, counting, max_messages_encrypted=2, max_bytes_encrypted=100)
    client = sdk.EncryptionSDKClient()
    for _ in range(4):
        client.encrypt(source=b"x" * 10, materials_manager=manager)
    assert counting.generated == 2  # two messages per data key
    client.encrypt(source=b"x" * 100, materials_manager=manager)  # as large as the limit
    client.encrypt(source=b"x" * 100, materials_manager=manager)
    assert counting.generated == 4  # such messages are never cached


def test_age_retires_entries(sdk: ModuleType) -> None:
    counting = Counting(sdk)
    manager = caching(sdk, counting, max_age=0.05)
    client = sdk.EncryptionSDKClient()
    client.encrypt(source=b"x", materials_manager=manager)
    client.encrypt(source=b"x", materials_manager=manager)
    time.sleep(0.1)
    client.encrypt(source=b"x", materials_manager=manager)
    assert counting.generated == 2


def test_what_is_not_cached(sdk: ModuleType) -> None:
    counting = Counting(sdk)
    manager = caching(sdk, counting)
    client = sdk.EncryptionSDKClient(
        commitment_policy=sdk.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )
    for _ in range(2):  # a suite without a KDF
        client.encrypt(
            source=b"x", materials_manager=manager, algorithm=sdk.Algorithm.AES_256_GCM_IV12_TAG16
        )
    assert counting.generated == 2

    class Unseekable(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            return 0

    for _ in range(2):  # a stream of unknown length
        with client.stream(mode="e", source=Unseekable(), materials_manager=manager) as stream:
            stream.read()
    assert counting.generated == 4


def test_partitions_and_the_null_cache(sdk: ModuleType) -> None:
    counting = Counting(sdk)
    shared = sdk.LocalCryptoMaterialsCache(capacity=10)
    first = caching(sdk, counting, cache=shared, partition_name="p")
    same_partition = caching(sdk, counting, cache=shared, partition_name=b"p")
    other_partition = caching(sdk, counting, cache=shared)
    client = sdk.EncryptionSDKClient()
    for manager in (first, same_partition, other_partition):
        client.encrypt(source=b"x", materials_manager=manager)
    assert counting.generated == 2

    nothing = caching(sdk, counting, cache=sdk.NullCryptoMaterialsCache())
    client.encrypt(source=b"x", materials_manager=nothing)
    client.encrypt(source=b"x", materials_manager=nothing)
    assert counting.generated == 4


def test_the_local_cache_evicts_least_recently_used() -> None:
    materials_managers = sub(SEALBOX, "materials_managers")
    structures = SEALBOX.structures
    info = structures.MasterKeyInfo("p", b"k")
    materials = materials_managers.DecryptionMaterials(
        data_key=structures.DataKey(info, b"d" * 32, b"e")
    )
    cache = SEALBOX.LocalCryptoMaterialsCache(capacity=2)
    first = cache.put_decryption_materials(b"1", materials)
    cache.put_decryption_materials(b"2", materials)
    cache.get_decryption_materials(b"1")
    cache.put_decryption_materials(b"3", materials)
    assert cache.get_decryption_materials(b"1") is first
    with pytest.raises(SEALBOX.exceptions.CacheKeyError):
        cache.get_decryption_materials(b"2")
    cache.remove(first)
    assert not first.valid
    with pytest.raises(SEALBOX.exceptions.CacheKeyError):
        cache.remove(first)
    with pytest.raises(SEALBOX.exceptions.NotSupportedError):
        cache.capacity = 5
    with pytest.raises(SEALBOX.exceptions.NotSupportedError):
        first.valid = True


def test_cache_keys_are_the_references() -> None:
    """The same partition and request give the same key in both packages."""
    caches = {name: sub(sdk, "caches") for name, sdk in SDKS.items()}
    requests = {}
    for name, sdk in SDKS.items():
        mm = sub(sdk, "materials_managers")
        info = sdk.structures.MasterKeyInfo(provider_id="p", key_info=b"info")
        edk = sdk.structures.EncryptedDataKey(key_provider=info, encrypted_data_key=b"wrapped")
        requests[name] = (
            mm.EncryptionMaterialsRequest(
                encryption_context={"a": "b"},
                frame_length=4096,
                algorithm=sdk.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
            ),
            mm.DecryptionMaterialsRequest(
                algorithm=sdk.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
                encrypted_data_keys={edk},
                encryption_context={"a": "b"},
            ),
        )
    keys = {
        name: (
            caches[name].build_encryption_materials_cache_key(b"part", requests[name][0]),
            caches[name].build_decryption_materials_cache_key(b"part", requests[name][1]),
        )
        for name in SDKS
    }
    assert keys["sealbox"] == keys["reference"]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"max_age": 60}, TypeError),
        ({"max_age": 0.0}, ValueError),
        ({"max_messages_encrypted": 0}, ValueError),
        ({"max_bytes_encrypted": -1}, ValueError),
        ({"max_messages_encrypted": 2**32 + 1}, ValueError),
    ],
)
def test_bad_arguments_fail_as_in_the_reference(
    sdk: ModuleType, options: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        caching(sdk, Counting(sdk), **options)
    with pytest.raises(TypeError):
        sdk.CachingCryptoMaterialsManager(cache=sdk.LocalCryptoMaterialsCache(1), max_age=1.0)
