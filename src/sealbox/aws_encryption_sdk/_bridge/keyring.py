"""A legacy master key provider as a Sealbox keyring, and a Sealbox CMM over one.

On encrypt the provider's primary master key generates the data key and each of its
other master keys encrypts it (in the order the provider lists them, primary first);
on decrypt the provider's ``decrypt_data_key_from_list`` gets the message's encrypted
data keys in header order. Whatever the provider (or the user's subclass of it)
overrides is what runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from sealbox.aws_encryption_sdk._bridge.convert import (
    edk_to_legacy,
    edk_to_sealbox,
    to_legacy_algorithm,
)
from sealbox.aws_encryption_sdk.exceptions import (
    DecryptKeyError,
    IncorrectMasterKeyError,
    MasterKeyProviderError,
)
from sealbox.aws_encryption_sdk.key_providers.base import MasterKeyProvider
from sealbox.aws_encryption_sdk.structures import DataKey, RawDataKey
from sealbox.cmm import DecryptionMaterialsRequest, EncryptionMaterialsRequest
from sealbox.cmm import DefaultCryptoMaterialsManager as SealboxDefaultCMM
from sealbox.errors import NoDecryptableKeyError
from sealbox.format.header import EncryptedDataKey
from sealbox.keyrings.base import unchanged_if_decrypted
from sealbox.materials import DecryptionMaterials, EncryptionMaterials


@dataclass
class _Call:
    """One materials request: its plaintext length in, the legacy data key out."""

    plaintext_length: int | None = None
    data_key: DataKey | None = None


# The keyring is shared by every message of its provider (and thread): what belongs to
# one request travels in this context variable, set by ProviderMaterialsManager.
_CALL: ContextVar[_Call | None] = ContextVar("sealbox_legacy_materials_call", default=None)


class MasterKeyProviderKeyring:
    """A Sealbox keyring over ``provider``.

    Under :class:`ProviderMaterialsManager` it hands the provider the message's
    plaintext length when choosing master keys, as the reference does, and records the
    legacy :class:`DataKey` it generated or decrypted (the legacy default manager
    returns it in its materials).
    """

    def __init__(self, provider: MasterKeyProvider) -> None:
        self.provider = provider

    def __repr__(self) -> str:
        return f"MasterKeyProviderKeyring({self.provider!r})"

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        call = _CALL.get()
        algorithm = to_legacy_algorithm(materials.algorithm)
        context = dict(materials.encryption_context)
        primary, master_keys = self.provider.master_keys_for_encryption(
            encryption_context=context,
            plaintext_rostream=None,
            plaintext_length=None if call is None else call.plaintext_length,
        )
        if not master_keys:
            raise MasterKeyProviderError("No Master Keys available from Master Key Provider")
        if primary not in master_keys:
            raise MasterKeyProviderError("Primary Master Key not in provided Master Keys")
        to_wrap: DataKey | RawDataKey
        if materials.plaintext_data_key is None:
            generated = primary.generate_data_key(algorithm, context)
            materials = materials.with_data_key(generated.data_key)
            materials = materials.with_encrypted_data_key(
                EncryptedDataKey(
                    generated.key_provider.provider_id,
                    generated.key_provider.key_info,
                    generated.encrypted_data_key,
                )
            )
            others = [key for key in master_keys if key is not primary]
            to_wrap = generated
            if call is not None:
                call.data_key = generated
        else:  # another keyring generated it: every master key wraps it
            to_wrap = RawDataKey(primary.key_provider, materials.plaintext_data_key)
            others = list(master_keys)
        for master_key in others:
            encrypted = master_key.encrypt_data_key(
                data_key=to_wrap, algorithm=algorithm, encryption_context=context
            )
            materials = materials.with_encrypted_data_key(edk_to_sealbox(encrypted))
        return materials

    @unchanged_if_decrypted
    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        try:
            data_key = self.provider.decrypt_data_key_from_list(
                encrypted_data_keys=[edk_to_legacy(edk) for edk in encrypted_data_keys],
                algorithm=to_legacy_algorithm(materials.algorithm),
                encryption_context=dict(materials.encryption_context),
            )
        except (DecryptKeyError, IncorrectMasterKeyError) as error:
            # The client surfaces the provider's own error (see _bridge.errors).
            raise NoDecryptableKeyError(str(error), causes=[error]) from error
        call = _CALL.get()
        if call is not None:
            call.data_key = data_key
        return materials.with_data_key(data_key.data_key)


class ProviderMaterialsManager(SealboxDefaultCMM):
    """Sealbox's default CMM over a legacy provider's keyring.

    The legacy ``DefaultCryptoMaterialsManager`` runs as this inside the client. The
    ``*_call`` methods also return the legacy data key the provider produced."""

    def __init__(self, master_key_provider: MasterKeyProvider) -> None:
        # Not super().__init__: its check that the keyring is one (a runtime protocol
        # check, slow on Python 3.11) would run per message; this keyring is one.
        self.keyring = MasterKeyProviderKeyring(master_key_provider)
        self.master_key_provider = master_key_provider

    def encryption_call(
        self, request: EncryptionMaterialsRequest
    ) -> tuple[EncryptionMaterials, DataKey | None]:
        call = _Call(plaintext_length=request.plaintext_length)
        token = _CALL.set(call)
        try:
            return super().get_encryption_materials(request), call.data_key
        finally:
            _CALL.reset(token)

    def decryption_call(
        self, request: DecryptionMaterialsRequest
    ) -> tuple[DecryptionMaterials, DataKey | None]:
        call = _Call()
        token = _CALL.set(call)
        try:
            # Sealbox's default CMM asks the provider before it decodes the verification
            # key, as the reference does: the same bad message fails the same way.
            return super().decrypt_materials(request), call.data_key
        finally:
            _CALL.reset(token)

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        return self.encryption_call(request)[0]

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        return self.decryption_call(request)[0]
