"""Users' own master keys, providers and materials managers, written against our base classes."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import pytest

from sealbox.aws_encryption_sdk import (
    CommitmentPolicy,
    DefaultCryptoMaterialsManager,
    EncryptionSDKClient,
)
from sealbox.aws_encryption_sdk.exceptions import (
    ActionNotAllowedError,
    DecryptKeyError,
    GenerateKeyError,
    InvalidKeyIdError,
)
from sealbox.aws_encryption_sdk.identifiers import Algorithm
from sealbox.aws_encryption_sdk.key_providers.base import (
    MasterKey,
    MasterKeyConfig,
    MasterKeyProvider,
    MasterKeyProviderConfig,
)
from sealbox.aws_encryption_sdk.materials_managers import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
)
from sealbox.aws_encryption_sdk.materials_managers.base import CryptoMaterialsManager
from sealbox.aws_encryption_sdk.structures import DataKey, EncryptedDataKey, RawDataKey
from sealbox.errors import SealboxError
from tests.unit.aws_sdk.helpers import SEALBOX, raw_provider

SECRETS = {b"alpha": os.urandom(32), b"beta": os.urandom(32)}


def _pad(key_id: bytes, context: Mapping[str, str], length: int) -> bytes:
    """A toy wrapping (XOR with an HMAC stream): enough to see the hooks run, not crypto."""
    material = b"".join(f"{k}={v};".encode() for k, v in sorted(context.items()))
    return hmac.new(SECRETS[key_id], material, hashlib.sha512).digest()[:length]


@dataclass
class ToyMasterKeyConfig(MasterKeyConfig):
    provider_id = "toy"


class ToyMasterKey(MasterKey):
    """A master key implementing only the reference's underscore hooks."""

    provider_id = "toy"
    _config_class = ToyMasterKeyConfig
    calls: list[str]

    def __init__(self, **kwargs: Any) -> None:
        self.calls = []

    def _wrap(self, data: bytes, context: Mapping[str, str]) -> bytes:
        return bytes(
            a ^ b for a, b in zip(data, _pad(self.key_id, context, len(data)), strict=True)
        )

    def _generate_data_key(self, algorithm: Any, encryption_context: Mapping[str, str]) -> DataKey:
        self.calls.append("generate")
        if encryption_context.get("refuse") == "yes":
            raise GenerateKeyError("this toy refuses")
        data_key = os.urandom(algorithm.kdf_input_len)
        return DataKey(self.key_provider, data_key, self._wrap(data_key, encryption_context))

    def _encrypt_data_key(
        self, data_key: DataKey | RawDataKey, algorithm: Any, encryption_context: Mapping[str, str]
    ) -> EncryptedDataKey:
        self.calls.append("encrypt")
        return EncryptedDataKey(
            self.key_provider, self._wrap(data_key.data_key, encryption_context)
        )

    def _decrypt_data_key(
        self,
        encrypted_data_key: EncryptedDataKey,
        algorithm: Any,
        encryption_context: Mapping[str, str],
    ) -> DataKey:
        self.calls.append("decrypt")
        wrapped = encrypted_data_key.encrypted_data_key
        return DataKey(self.key_provider, self._wrap(wrapped, encryption_context), wrapped)


class ToyProvider(MasterKeyProvider):
    """A provider that vends toy master keys by id, as users write them."""

    provider_id = "toy"
    _config_class = MasterKeyProviderConfig

    def _new_master_key(self, key_id: bytes) -> ToyMasterKey:
        if key_id not in SECRETS:
            raise InvalidKeyIdError(f"no toy key {key_id!r}")
        return ToyMasterKey(key_id=key_id)


def test_a_users_master_key_provider_runs_every_hook() -> None:
    provider = ToyProvider()
    provider.add_master_keys_from_list(["alpha", "beta"])
    client = EncryptionSDKClient()
    ciphertext, header = client.encrypt(
        source=b"toy data", key_provider=provider, encryption_context={"k": "v"}
    )
    alpha, beta = (cast(ToyMasterKey, provider.master_key(k)) for k in (b"alpha", b"beta"))
    assert (alpha.calls, beta.calls) == (["generate"], ["encrypt"])
    assert {edk.key_provider.key_info for edk in header.encrypted_data_keys} == {b"alpha", b"beta"}

    # A fresh provider with no keys added vends them on decrypt (vend_masterkey_on_decrypt).
    fresh = ToyProvider()
    plaintext, _ = client.decrypt(source=ciphertext, key_provider=fresh)
    assert plaintext == b"toy data"
    assert cast(ToyMasterKey, fresh.master_key_for_decrypt(b"alpha")).calls == ["decrypt"]


def test_a_single_master_key_is_its_own_provider() -> None:
    key = ToyMasterKey(key_id="beta")
    assert key.key_id == b"beta" and key.provider_id == "toy"
    ciphertext, _ = EncryptionSDKClient().encrypt(source=b"one key", key_provider=key)
    assert EncryptionSDKClient().decrypt(source=ciphertext, key_provider=key)[0] == b"one key"
    with pytest.raises(InvalidKeyIdError):
        key.master_key_for_encrypt(b"alpha")


def test_errors_from_a_users_master_key_come_out_unchanged() -> None:
    provider = ToyProvider()
    provider.add_master_key("alpha")
    with pytest.raises(GenerateKeyError, match="this toy refuses") as caught:
        EncryptionSDKClient().encrypt(
            source=b"x", key_provider=provider, encryption_context={"refuse": "yes"}
        )
    assert isinstance(caught.value, SealboxError)
    ciphertext, _ = EncryptionSDKClient().encrypt(source=b"x", key_provider=provider)
    stranger = raw_provider(SEALBOX, {b"k": ("aes", os.urandom(32))})
    with pytest.raises(DecryptKeyError, match="Unable to decrypt any data key") as caught_decrypt:
        EncryptionSDKClient().decrypt(source=ciphertext, key_provider=stranger)
    assert caught_decrypt.value.__cause__ is None  # raised as the provider raised it


class CountingContextManager(CryptoMaterialsManager):
    """A user's manager: adds a context pair, counts calls, delegates to the default one."""

    def __init__(self, backing: CryptoMaterialsManager) -> None:
        self.backing = backing
        self.requests: list[Any] = []

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        self.requests.append(request)
        request.encryption_context["added-by"] = "my-cmm"
        return self.backing.get_encryption_materials(request)

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        self.requests.append(request)
        if request.encryption_context.get("added-by") != "my-cmm":
            raise ActionNotAllowedError("not one of mine")
        return self.backing.decrypt_materials(request)


@pytest.mark.parametrize("algorithm", [None, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"])
def test_a_users_materials_manager_runs_in_the_pipeline(algorithm: str | None) -> None:
    provider = ToyProvider()
    provider.add_master_key("alpha")
    manager = CountingContextManager(DefaultCryptoMaterialsManager(provider))
    client = EncryptionSDKClient()
    extra = {} if algorithm is None else {"algorithm": getattr(Algorithm, algorithm)}
    ciphertext, header = client.encrypt(
        source=b"managed", materials_manager=manager, frame_length=1024, **extra
    )
    assert header.encryption_context["added-by"] == "my-cmm"
    request = manager.requests[0]
    assert isinstance(request, EncryptionMaterialsRequest)
    assert (request.frame_length, request.plaintext_length) == (1024, 7)
    assert request.commitment_policy is CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT

    plaintext, _ = client.decrypt(source=ciphertext, materials_manager=manager)
    assert plaintext == b"managed"
    decrypt_request = manager.requests[1]
    assert isinstance(decrypt_request, DecryptionMaterialsRequest)
    assert {edk.key_provider.key_info for edk in decrypt_request.encrypted_data_keys} == {b"alpha"}

    plain, _ = client.encrypt(source=b"not managed", key_provider=provider)
    with pytest.raises(ActionNotAllowedError, match="not one of mine"):
        client.decrypt(source=plain, materials_manager=manager)


class WrongSuiteManager(CryptoMaterialsManager):
    """Returns materials for a suite other than the one requested."""

    def __init__(self, backing: CryptoMaterialsManager) -> None:
        self.backing = backing

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        request.algorithm = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
        return self.backing.get_encryption_materials(request)

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        return self.backing.decrypt_materials(request)


def test_a_manager_that_changes_the_suite_is_refused_as_by_the_reference() -> None:
    provider = ToyProvider()
    provider.add_master_key("beta")
    with pytest.raises(ActionNotAllowedError, match="differs from algorithm suite in request"):
        EncryptionSDKClient().encrypt(
            source=b"x",
            materials_manager=WrongSuiteManager(DefaultCryptoMaterialsManager(provider)),
            algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
        )


def test_the_default_manager_speaks_legacy_materials() -> None:
    """Called directly (as a user's wrapper does), the default manager returns legacy shapes."""
    provider = ToyProvider()
    provider.add_master_key("alpha")
    manager = DefaultCryptoMaterialsManager(provider)
    materials = manager.get_encryption_materials(
        EncryptionMaterialsRequest(
            encryption_context={"a": "b"},
            frame_length=4096,
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
        )
    )
    assert materials.algorithm is Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    assert set(materials.encryption_context) == {"a", "aws-crypto-public-key"}
    assert isinstance(materials.signing_key, bytes) and materials.signing_key.startswith(b"0")
    (edk,) = materials.encrypted_data_keys
    assert edk.key_provider == materials.data_encryption_key.key_provider
    decrypted = manager.decrypt_materials(
        DecryptionMaterialsRequest(
            algorithm=materials.algorithm,
            encrypted_data_keys={edk},
            encryption_context=materials.encryption_context,
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
        )
    )
    assert decrypted.data_key.data_key == materials.data_encryption_key.data_key
    assert isinstance(decrypted.verification_key, bytes)
    with pytest.raises(ActionNotAllowedError):
        manager.get_encryption_materials(
            EncryptionMaterialsRequest(
                encryption_context={},
                frame_length=4096,
                algorithm=Algorithm.AES_256_GCM_IV12_TAG16,
                commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
            )
        )


class LengthRecordingProvider(ToyProvider):
    """Records the plaintext length each encryption announced to the provider."""

    seen: list[int | None]

    def __init__(self, **kwargs: Any) -> None:
        self.seen = []

    def master_keys_for_encryption(
        self,
        encryption_context: Mapping[str, str],
        plaintext_rostream: Any,
        plaintext_length: int | None = None,
    ) -> tuple[MasterKey, list[MasterKey]]:
        self.seen.append(plaintext_length)
        assert plaintext_rostream is None  # Sealbox reads the source itself
        return super().master_keys_for_encryption(
            encryption_context, plaintext_rostream, plaintext_length
        )


def test_one_provider_serves_many_threads_with_their_own_lengths() -> None:
    provider = LengthRecordingProvider()
    provider.add_master_key("alpha")
    client = EncryptionSDKClient()

    def work(length: int) -> bool:
        data = os.urandom(length)
        ciphertext, _ = client.encrypt(source=data, key_provider=provider)
        return bool(client.decrypt(source=ciphertext, key_provider=provider)[0] == data)

    lengths = [n * 7 for n in range(40)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(work, lengths))
    assert sorted(n for n in provider.seen if n is not None) == lengths
