"""The default crypto materials manager: materials from a master key provider.

It is Sealbox's default CMM over a keyring adapter of the provider
(:mod:`sealbox.aws_encryption_sdk._bridge.keyring`): Sealbox picks the suite, makes the
signing key and checks the commitment policy; the provider's primary master key
generates the data key and its other master keys encrypt it. The client recognises this
class and runs the Sealbox CMM directly, without converting materials.
"""

from __future__ import annotations

from sealbox.aws_encryption_sdk._bridge.errors import translated
from sealbox.aws_encryption_sdk._bridge.keyring import ProviderMaterialsManager
from sealbox.aws_encryption_sdk._bridge.materials import (
    decryption_materials_to_legacy,
    decryption_request_to_sealbox,
    encryption_materials_to_legacy,
    encryption_request_to_sealbox,
)
from sealbox.aws_encryption_sdk.key_providers.base import MasterKeyProvider
from sealbox.aws_encryption_sdk.materials_managers import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
)
from sealbox.aws_encryption_sdk.materials_managers.base import CryptoMaterialsManager

__all__ = ["DefaultCryptoMaterialsManager"]


class DefaultCryptoMaterialsManager(CryptoMaterialsManager):
    """Materials from ``master_key_provider``, with a signing key for signed suites."""

    def __init__(self, master_key_provider: MasterKeyProvider) -> None:
        if not isinstance(master_key_provider, MasterKeyProvider):
            raise TypeError(
                f"master_key_provider must be a MasterKeyProvider, not {master_key_provider!r}"
            )
        self.master_key_provider = master_key_provider
        self._sealbox = ProviderMaterialsManager(master_key_provider)

    @property
    def sealbox_materials_manager(self) -> ProviderMaterialsManager:
        """This manager as a Sealbox CMM (what the client runs)."""
        return self._sealbox

    def __repr__(self) -> str:
        return f"DefaultCryptoMaterialsManager(master_key_provider={self.master_key_provider!r})"

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        with translated():
            materials, data_key = self._sealbox.encryption_call(
                encryption_request_to_sealbox(request)
            )
        assert data_key is not None
        return encryption_materials_to_legacy(materials, data_key)

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        with translated():
            materials, data_key = self._sealbox.decryption_call(
                decryption_request_to_sealbox(request)
            )
        assert data_key is not None
        return decryption_materials_to_legacy(materials, data_key)
