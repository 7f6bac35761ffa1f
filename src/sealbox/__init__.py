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
"""

from sealbox._version import __version__
from sealbox.api import EncryptionClient
from sealbox.cmm import (
    CryptoMaterialsManager,
    DecryptionMaterialsRequest,
    DefaultCryptoMaterialsManager,
    EncryptionMaterialsRequest,
    RequiredEncryptionContextCMM,
)
from sealbox.errors import ErrorCode, SealboxError
from sealbox.format.header import EncryptedDataKey, MessageHeader
from sealbox.format.suites import Algorithm, CommitmentPolicy, ContentType
from sealbox.materials import DecryptionMaterials, EncryptionMaterials
from sealbox.streaming import StreamDecryptor, StreamEncryptor

__all__ = [
    "Algorithm",
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
    "MessageHeader",
    "RequiredEncryptionContextCMM",
    "SealboxError",
    "StreamDecryptor",
    "StreamEncryptor",
    "__version__",
]
