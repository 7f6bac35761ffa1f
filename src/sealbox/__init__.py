"""Sealbox: envelope encryption you can run yourself.

The library reads and writes AWS Encryption SDK messages (both format
versions, all 11 algorithm suites)::

    import sealbox
    from sealbox.keyrings import RawAESKeyring

    keyring = RawAESKeyring(key_namespace="my-app", key_name="key-1", wrapping_key=key32)
    client = sealbox.EncryptionClient()
    ciphertext, header = client.encrypt(source=b"secret", keyring=keyring,
                                        encryption_context={"purpose": "demo"})
    plaintext, header = client.decrypt(source=ciphertext, keyring=keyring)

Names are imported on first use, so ``import sealbox`` (and ``sealbox --version``)
stays cheap.
"""

from __future__ import annotations

import importlib

from sealbox._version import __version__

TYPE_CHECKING = False  # (importing typing would cost start-up time)
if TYPE_CHECKING:  # explicit re-exports for type checkers; at run time see __getattr__
    from sealbox.api import EncryptionClient as EncryptionClient
    from sealbox.caching import CachingCryptoMaterialsManager as CachingCryptoMaterialsManager
    from sealbox.caching import LocalCryptoMaterialsCache as LocalCryptoMaterialsCache
    from sealbox.cmm import CryptoMaterialsManager as CryptoMaterialsManager
    from sealbox.cmm import DecryptionMaterialsRequest as DecryptionMaterialsRequest
    from sealbox.cmm import DefaultCryptoMaterialsManager as DefaultCryptoMaterialsManager
    from sealbox.cmm import EncryptionMaterialsRequest as EncryptionMaterialsRequest
    from sealbox.cmm import RequiredEncryptionContextCMM as RequiredEncryptionContextCMM
    from sealbox.errors import ErrorCode as ErrorCode
    from sealbox.errors import SealboxError as SealboxError
    from sealbox.format.body import DEFAULT_MAX_BODY_LENGTH as DEFAULT_MAX_BODY_LENGTH
    from sealbox.format.header import DEFAULT_MAX_HEADER_SIZE as DEFAULT_MAX_HEADER_SIZE
    from sealbox.format.header import EncryptedDataKey as EncryptedDataKey
    from sealbox.format.header import MessageHeader as MessageHeader
    from sealbox.format.suites import Algorithm as Algorithm
    from sealbox.format.suites import CommitmentPolicy as CommitmentPolicy
    from sealbox.format.suites import ContentType as ContentType
    from sealbox.materials import DecryptionMaterials as DecryptionMaterials
    from sealbox.materials import EncryptionMaterials as EncryptionMaterials
    from sealbox.streaming import StreamDecryptor as StreamDecryptor
    from sealbox.streaming import StreamEncryptor as StreamEncryptor

del TYPE_CHECKING

_HOMES = {
    "Algorithm": "sealbox.format.suites",
    "CachingCryptoMaterialsManager": "sealbox.caching",
    "LocalCryptoMaterialsCache": "sealbox.caching",
    "CommitmentPolicy": "sealbox.format.suites",
    "ContentType": "sealbox.format.suites",
    "CryptoMaterialsManager": "sealbox.cmm",
    "DEFAULT_MAX_BODY_LENGTH": "sealbox.format.body",
    "DEFAULT_MAX_HEADER_SIZE": "sealbox.format.header",
    "DecryptionMaterials": "sealbox.materials",
    "DecryptionMaterialsRequest": "sealbox.cmm",
    "DefaultCryptoMaterialsManager": "sealbox.cmm",
    "EncryptedDataKey": "sealbox.format.header",
    "EncryptionClient": "sealbox.api",
    "EncryptionMaterials": "sealbox.materials",
    "EncryptionMaterialsRequest": "sealbox.cmm",
    "ErrorCode": "sealbox.errors",
    "MessageHeader": "sealbox.format.header",
    "RequiredEncryptionContextCMM": "sealbox.cmm",
    "SealboxError": "sealbox.errors",
    "StreamDecryptor": "sealbox.streaming",
    "StreamEncryptor": "sealbox.streaming",
}

__all__ = [
    "DEFAULT_MAX_BODY_LENGTH",
    "DEFAULT_MAX_HEADER_SIZE",
    "Algorithm",
    "CachingCryptoMaterialsManager",
    "CommitmentPolicy",
    "ContentType",
    "CryptoMaterialsManager",
    "DecryptionMaterials",
    "DecryptionMaterialsRequest",
    "DefaultCryptoMaterialsManager",
    "EncryptedDataKey",
    "EncryptionClient",
    "EncryptionMaterials",
    "EncryptionMaterialsRequest",
    "ErrorCode",
    "LocalCryptoMaterialsCache",
    "MessageHeader",
    "RequiredEncryptionContextCMM",
    "SealboxError",
    "StreamDecryptor",
    "StreamEncryptor",
    "__version__",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        if name in ("caching", "keyrings", "errors", "testing"):
            return importlib.import_module(f"sealbox.{name}")
        raise AttributeError(f"module 'sealbox' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
