"""The package mirrors the reference's public module tree, names and identifiers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sealbox.format.suites import Algorithm as SealboxAlgorithm
from sealbox.format.suites import CommitmentPolicy as SealboxCommitmentPolicy
from tests.unit.aws_sdk.helpers import REFERENCE, SEALBOX, sub

#: what a user of the legacy API imports, module by module
PUBLIC_NAMES = {
    "": [
        "EncryptionSDKClient",
        "EncryptionSDKClientConfig",
        "StrictAwsKmsMasterKeyProvider",
        "DiscoveryAwsKmsMasterKeyProvider",
        "KMSMasterKeyProviderConfig",
        "CachingCryptoMaterialsManager",
        "DefaultCryptoMaterialsManager",
        "LocalCryptoMaterialsCache",
        "NullCryptoMaterialsCache",
        "CommitmentPolicy",
        "Algorithm",
        "StreamEncryptor",
        "StreamDecryptor",
        "EncryptorConfig",
        "DecryptorConfig",
        "AWSEncryptionSDKClientError",
        "SignaturePolicy",
        "__version__",
    ],
    "identifiers": [
        "Algorithm",
        "AlgorithmSuite",
        "CommitmentPolicy",
        "EncryptionKeyType",
        "EncryptionType",
        "WrappingAlgorithm",
        "ContentType",
        "SerializationVersion",
        "ObjectType",
        "SequenceIdentifier",
        "ContentAADString",
        "EncryptionSuite",
        "KDFSuite",
        "AuthenticationSuite",
        "USER_AGENT_SUFFIX",
    ],
    "structures": ["MessageHeader", "MasterKeyInfo", "RawDataKey", "DataKey", "EncryptedDataKey"],
    "key_providers.base": [
        "MasterKeyProvider",
        "MasterKey",
        "MasterKeyProviderConfig",
        "MasterKeyConfig",
    ],
    "key_providers.raw": ["RawMasterKeyConfig", "RawMasterKey", "RawMasterKeyProvider"],
    "internal.crypto.wrapping_keys": ["WrappingKey"],
    "internal.utils.signature": ["SignaturePolicy"],
    "internal.defaults": ["LINE_LENGTH", "FRAME_LENGTH", "MAX_FRAME_SIZE", "ALGORITHM"],
    "materials_managers": [
        "EncryptionMaterialsRequest",
        "EncryptionMaterials",
        "DecryptionMaterialsRequest",
        "DecryptionMaterials",
    ],
    "materials_managers.base": ["CryptoMaterialsManager"],
    "materials_managers.default": ["DefaultCryptoMaterialsManager"],
    "materials_managers.caching": ["CachingCryptoMaterialsManager"],
    "caches": [
        "CryptoMaterialsCacheEntry",
        "CryptoMaterialsCacheEntryHints",
        "build_encryption_materials_cache_key",
        "build_decryption_materials_cache_key",
    ],
    "caches.base": ["CryptoMaterialsCache"],
    "caches.local": ["LocalCryptoMaterialsCache"],
    "caches.null": ["NullCryptoMaterialsCache"],
    "streaming_client": [
        "StreamEncryptor",
        "StreamDecryptor",
        "EncryptorConfig",
        "DecryptorConfig",
    ],
}


@pytest.mark.parametrize("path", list(PUBLIC_NAMES))
def test_every_public_name_is_where_the_reference_has_it(path: str) -> None:
    ours = SEALBOX if not path else sub(SEALBOX, path)
    theirs = REFERENCE if not path else sub(REFERENCE, path)
    for name in PUBLIC_NAMES[path]:
        assert hasattr(theirs, name), f"the reference has no {path}.{name}"
        assert hasattr(ours, name), f"sealbox.aws_encryption_sdk.{path} lacks {name}"


def test_the_exception_names_are_the_references() -> None:
    theirs = {
        name
        for name, value in vars(REFERENCE.exceptions).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }
    assert theirs <= set(vars(SEALBOX.exceptions))


@pytest.mark.parametrize("suite", [suite.name for suite in REFERENCE.Algorithm])
def test_suites_carry_the_references_attributes(suite: str) -> None:
    ours, theirs = SEALBOX.Algorithm[suite], REFERENCE.Algorithm[suite]
    for attribute in (
        "algorithm_id",
        "message_format_version",
        "data_key_len",
        "kdf_input_len",
        "iv_len",
        "tag_len",
        "auth_len",
        "signature_len",
        "header_auth_iv",
        "encryption_algorithm",
        "encryption_mode",
        "kdf_type",
        "kdf_hash_type",
        "signing_algorithm_info",
        "signing_hash_type",
    ):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    for method in (
        "is_committing",
        "is_signing",
        "safe_to_cache",
        "message_id_length",
        "algorithm_suite_data_length",
    ):
        assert getattr(ours, method)() == getattr(theirs, method)(), method
    assert bytes(ours.id_as_bytes()) == bytes(theirs.id_as_bytes())
    assert SEALBOX.Algorithm.get_by_id(theirs.algorithm_id) is ours
    assert ours.sealbox is SealboxAlgorithm[suite]
    assert SEALBOX.Algorithm.from_sealbox(SealboxAlgorithm[suite]) is ours


def test_enums_have_the_references_members() -> None:
    for name in (
        "EncryptionType",
        "EncryptionKeyType",
        "WrappingAlgorithm",
        "ContentType",
        "SerializationVersion",
        "ObjectType",
        "SequenceIdentifier",
        "ContentAADString",
        "CommitmentPolicy",
    ):
        ours = getattr(SEALBOX.identifiers, name)
        theirs = getattr(REFERENCE.identifiers, name)
        assert [m.name for m in ours] == [m.name for m in theirs], name
    assert SEALBOX.CommitmentPolicy is SealboxCommitmentPolicy  # one enum for both APIs
    for member in REFERENCE.identifiers.WrappingAlgorithm:
        ours = SEALBOX.identifiers.WrappingAlgorithm[member.name]
        assert type(ours.padding) is type(member.padding)
        assert ours.encryption_type.name == member.encryption_type.name


def test_importing_the_package_loads_no_boto3_and_kms_names_load_on_use() -> None:
    code = (
        "import json, sys\n"
        "import sealbox.aws_encryption_sdk as sdk\n"
        "heavy = ('boto3', 'botocore', 'sealbox.server', 'sealbox.cli')\n"
        "before = sorted(m for m in sys.modules if m.startswith(heavy))\n"
        "kms_loaded = 'sealbox.aws_encryption_sdk.key_providers.kms' in sys.modules\n"
        "provider = sdk.StrictAwsKmsMasterKeyProvider\n"
        "print(json.dumps([before, kms_loaded, provider.__module__]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    before, kms_loaded, module = json.loads(result.stdout)
    assert before == [] and not kms_loaded
    assert module.startswith("sealbox.aws_encryption_sdk.key_providers")
    with pytest.raises(AttributeError):
        _ = SEALBOX.NoSuchName


def test_client_configuration_as_in_the_reference() -> None:
    config = SEALBOX.EncryptionSDKClientConfig()
    assert config.commitment_policy is SEALBOX.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    assert config.max_encrypted_data_keys is None
    client = SEALBOX.EncryptionSDKClient(
        config=SEALBOX.EncryptionSDKClientConfig(max_encrypted_data_keys=3)
    )
    assert client.config.max_encrypted_data_keys == 3


def test_passing_the_policy_to_a_call_warns_and_the_clients_wins() -> None:
    from tests.unit.aws_sdk.helpers import raw_provider

    provider = raw_provider(SEALBOX, {b"k": ("aes", bytes(32))})
    client = SEALBOX.EncryptionSDKClient()
    with pytest.warns(UserWarning, match="commitment_policy"):
        _, header = client.encrypt(
            source=b"x",
            key_provider=provider,
            commitment_policy=SEALBOX.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
        )
    assert header.algorithm.is_committing()


def test_structures_normalise_like_the_references() -> None:
    info = SEALBOX.structures.MasterKeyInfo(provider_id=b"p", key_info="k")
    assert (info.provider_id, info.key_info) == ("p", b"k")
    assert info == SEALBOX.structures.MasterKeyInfo("p", b"k")
    assert len({info, SEALBOX.structures.MasterKeyInfo("p", b"k")}) == 1
    key = SEALBOX.structures.DataKey(key_provider=info, data_key=b"secret", encrypted_data_key=b"e")
    assert "secret" not in repr(key)
    with pytest.raises(TypeError):
        SEALBOX.structures.EncryptedDataKey(key_provider="p", encrypted_data_key=b"e")
