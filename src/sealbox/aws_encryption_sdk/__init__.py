"""Sealbox's drop-in for the AWS Encryption SDK's legacy (master key provider) Python API.

Change one import and keep the code::

    import sealbox.aws_encryption_sdk as aws_encryption_sdk

    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=aws_encryption_sdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    ciphertext, header = client.encrypt(source=data, key_provider=provider)

The module tree, names, arguments, defaults, return shapes and exception classes are
the reference package's; the messages are Sealbox's (byte-compatible with the reference)
and so is the speed. ``docs/migrating.md`` lists what differs. The KMS names load on
first use, so importing this package loads no boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sealbox.aws_encryption_sdk._client import EncryptionSDKClient, EncryptionSDKClientConfig
from sealbox.aws_encryption_sdk.caches.local import LocalCryptoMaterialsCache
from sealbox.aws_encryption_sdk.caches.null import NullCryptoMaterialsCache
from sealbox.aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError
from sealbox.aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy, __version__
from sealbox.aws_encryption_sdk.internal.utils.signature import SignaturePolicy
from sealbox.aws_encryption_sdk.materials_managers.caching import CachingCryptoMaterialsManager
from sealbox.aws_encryption_sdk.materials_managers.default import DefaultCryptoMaterialsManager
from sealbox.aws_encryption_sdk.streaming_client import (
    DecryptorConfig,
    EncryptorConfig,
    StreamDecryptor,
    StreamEncryptor,
)

if TYPE_CHECKING:
    from sealbox.aws_encryption_sdk.key_providers.kms import (
        DiscoveryAwsKmsMasterKeyProvider,
        KMSMasterKeyProviderConfig,
        StrictAwsKmsMasterKeyProvider,
    )

_KMS_NAMES = (
    "DiscoveryAwsKmsMasterKeyProvider",
    "KMSMasterKeyProviderConfig",
    "StrictAwsKmsMasterKeyProvider",
)

__all__ = [
    "AWSEncryptionSDKClientError",
    "Algorithm",
    "CachingCryptoMaterialsManager",
    "CommitmentPolicy",
    "DecryptorConfig",
    "DefaultCryptoMaterialsManager",
    "DiscoveryAwsKmsMasterKeyProvider",
    "EncryptionSDKClient",
    "EncryptionSDKClientConfig",
    "EncryptorConfig",
    "KMSMasterKeyProviderConfig",
    "LocalCryptoMaterialsCache",
    "NullCryptoMaterialsCache",
    "SignaturePolicy",
    "StreamDecryptor",
    "StreamEncryptor",
    "StrictAwsKmsMasterKeyProvider",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """The KMS providers, imported on first use (their module needs no boto3 until used)."""
    if name in _KMS_NAMES:
        from sealbox.aws_encryption_sdk.key_providers import kms

        value = getattr(kms, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_KMS_NAMES))
