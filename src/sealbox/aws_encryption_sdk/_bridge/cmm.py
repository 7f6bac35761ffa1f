"""Any legacy-shaped crypto materials manager as a Sealbox CMM.

The client hands Sealbox's pipeline :func:`as_sealbox_cmm` of whatever the caller gave:
our own ``DefaultCryptoMaterialsManager`` runs as Sealbox's default CMM over the provider
(no conversions); any other manager (ours or the caller's own subclass of the legacy
base) is called with legacy requests and its legacy materials converted back.
"""

from __future__ import annotations

from sealbox.aws_encryption_sdk._bridge.convert import to_legacy_algorithm
from sealbox.aws_encryption_sdk._bridge.materials import (
    decryption_materials_to_sealbox,
    decryption_request_to_legacy,
    encryption_materials_to_sealbox,
    encryption_request_to_legacy,
)
from sealbox.aws_encryption_sdk.exceptions import ActionNotAllowedError
from sealbox.aws_encryption_sdk.materials_managers import DecryptionMaterials, EncryptionMaterials
from sealbox.aws_encryption_sdk.materials_managers.base import CryptoMaterialsManager
from sealbox.aws_encryption_sdk.materials_managers.default import DefaultCryptoMaterialsManager
from sealbox.cmm import CryptoMaterialsManager as SealboxCMM
from sealbox.cmm import DecryptionMaterialsRequest, EncryptionMaterialsRequest
from sealbox.materials import DecryptionMaterials as SealboxDecryptionMaterials
from sealbox.materials import EncryptionMaterials as SealboxEncryptionMaterials


class LegacyMaterialsManager:
    """A Sealbox CMM that asks a legacy manager, for one message of ``frame_length`` frames."""

    def __init__(self, materials_manager: CryptoMaterialsManager, *, frame_length: int) -> None:
        self.materials_manager = materials_manager
        self.frame_length = frame_length

    def __repr__(self) -> str:
        return f"LegacyMaterialsManager({self.materials_manager!r})"

    def get_encryption_materials(
        self, request: EncryptionMaterialsRequest
    ) -> SealboxEncryptionMaterials:
        materials = self.materials_manager.get_encryption_materials(
            encryption_request_to_legacy(request, frame_length=self.frame_length)
        )
        if not isinstance(materials, EncryptionMaterials):
            raise TypeError(f"get_encryption_materials returned {materials!r}")
        if request.algorithm is not None and materials.algorithm != to_legacy_algorithm(
            request.algorithm
        ):
            raise ActionNotAllowedError(
                "Cryptographic materials manager provided algorithm suite differs from "
                f"algorithm suite in request.\nRequired: {to_legacy_algorithm(request.algorithm)}"
                f"\nProvided: {materials.algorithm}"
            )
        return encryption_materials_to_sealbox(materials)

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> SealboxDecryptionMaterials:
        materials = self.materials_manager.decrypt_materials(decryption_request_to_legacy(request))
        if not isinstance(materials, DecryptionMaterials):
            raise TypeError(f"decrypt_materials returned {materials!r}")
        return decryption_materials_to_sealbox(materials, request)


def as_sealbox_cmm(materials_manager: CryptoMaterialsManager, *, frame_length: int) -> SealboxCMM:
    """The Sealbox CMM that serves ``materials_manager``'s materials."""
    if type(materials_manager) is DefaultCryptoMaterialsManager:
        return materials_manager.sealbox_materials_manager
    return LegacyMaterialsManager(materials_manager, frame_length=frame_length)
