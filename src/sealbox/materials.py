"""Cryptographic materials: what keyrings and materials managers pass around.

spec: framework/structures.md#encryption-materials, #decryption-materials.
Materials are immutable; keyrings return updated copies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sealbox.crypto.signing import SigningKey, VerificationKey
from sealbox.errors import ErrorCode, KeyringError
from sealbox.format.header import EncryptedDataKey
from sealbox.format.suites import Algorithm


def _readonly(context: Mapping[str, str]) -> Mapping[str, str]:
    return context if isinstance(context, MappingProxyType) else MappingProxyType(dict(context))


@dataclass(frozen=True)
class EncryptionMaterials:
    """Everything needed to write one message."""

    algorithm: Algorithm
    encryption_context: Mapping[str, str]
    encrypted_data_keys: tuple[EncryptedDataKey, ...] = ()
    plaintext_data_key: bytes | None = field(default=None, repr=False)
    signing_key: SigningKey | None = field(default=None, repr=False)
    #: keys of ``encryption_context`` that are authenticated but not stored in the message
    required_encryption_context_keys: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "encryption_context", _readonly(self.encryption_context))

    def with_data_key(self, data_key: bytes) -> EncryptionMaterials:
        """Set the plaintext data key; only once, and only of the suite's length."""
        if self.plaintext_data_key is not None:
            raise KeyringError("the materials already have a plaintext data key")
        _check_length(self.algorithm, data_key)
        return dataclasses.replace(self, plaintext_data_key=data_key)

    def with_encrypted_data_key(self, edk: EncryptedDataKey) -> EncryptionMaterials:
        return dataclasses.replace(self, encrypted_data_keys=(*self.encrypted_data_keys, edk))


@dataclass(frozen=True)
class DecryptionMaterials:
    """Everything needed to read one message."""

    algorithm: Algorithm
    encryption_context: Mapping[str, str]
    plaintext_data_key: bytes | None = field(default=None, repr=False)
    verification_key: VerificationKey | None = field(default=None, repr=False)
    required_encryption_context_keys: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "encryption_context", _readonly(self.encryption_context))

    def with_data_key(self, data_key: bytes) -> DecryptionMaterials:
        if self.plaintext_data_key is not None:
            raise KeyringError("the materials already have a plaintext data key")
        _check_length(self.algorithm, data_key)
        return dataclasses.replace(self, plaintext_data_key=data_key)


def _check_length(algorithm: Algorithm, data_key: bytes) -> None:
    if len(data_key) != algorithm.key_length:
        raise KeyringError(
            f"a data key of {len(data_key)} bytes does not fit suite 0x{algorithm.suite_id:04X} "
            f"({algorithm.key_length} bytes)",
            code=ErrorCode.KEYRING_FAILURE,
        )
