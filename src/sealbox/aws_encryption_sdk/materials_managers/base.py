"""The interface of legacy crypto materials managers."""

from __future__ import annotations

import abc

from sealbox.aws_encryption_sdk.materials_managers import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
)

__all__ = ["CryptoMaterialsManager"]


class CryptoMaterialsManager(abc.ABC):
    """Provides the materials for each message. Subclass it for your own manager: Sealbox's
    client runs any subclass through its pipeline."""

    @abc.abstractmethod
    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        """The materials to encrypt one message with."""

    @abc.abstractmethod
    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        """The materials to decrypt one message with."""
