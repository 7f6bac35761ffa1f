"""Raw master keys: data keys wrapped under keys you hold (AES-GCM or RSA).

Subclass :class:`RawMasterKeyProvider`, set ``provider_id`` and implement
``_get_raw_key(key_id)`` returning a :class:`WrappingKey`, exactly as with the
reference. Each :class:`RawMasterKey` wraps data keys through Sealbox's ``RawAESKeyring``
or ``RawRSAKeyring`` (namespace = provider id, name = key id: any bytes, as in the
reference), so its encrypted data keys are byte-for-byte the ones both implementations
read. It unwraps one encrypted data key with its :class:`WrappingKey`, as the reference
does, so the master key's checks decide as the reference's do: a key that unwraps to the
wrong length for the suite is InvalidDataKeyError (which stops decryption), not a key
the provider may pass over.
"""

from __future__ import annotations

import abc
import logging
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sealbox.aws_encryption_sdk._bridge.convert import edk_to_legacy
from sealbox.aws_encryption_sdk.identifiers import AlgorithmSuite, EncryptionType
from sealbox.aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from sealbox.aws_encryption_sdk.internal.str_ops import to_str
from sealbox.aws_encryption_sdk.internal.structures import EncryptedData
from sealbox.aws_encryption_sdk.key_providers.base import (
    KeyedData,
    MasterKey,
    MasterKeyConfig,
    MasterKeyProvider,
    MasterKeyProviderConfig,
)
from sealbox.aws_encryption_sdk.structures import DataKey, EncryptedDataKey, RawDataKey
from sealbox.format.suites import IV_LENGTH, TAG_LENGTH
from sealbox.keyrings.raw_aes import RawAESKeyring
from sealbox.keyrings.raw_rsa import RawRSAKeyring
from sealbox.materials import EncryptionMaterials

__all__ = ["RawMasterKey", "RawMasterKeyConfig", "RawMasterKeyProvider"]

_LOGGER = logging.getLogger(__name__)


@dataclass
class RawMasterKeyConfig(MasterKeyConfig):
    """A raw master key's key id, provider id and wrapping key."""

    provider_id: str
    wrapping_key: WrappingKey

    def __post_init__(self) -> None:
        if not isinstance(self.provider_id, str | bytes):
            raise TypeError("provider_id must be str or bytes")
        self.provider_id = to_str(self.provider_id)
        if not isinstance(self.wrapping_key, WrappingKey):
            raise TypeError("wrapping_key must be a WrappingKey")
        super().__post_init__()


class RawMasterKey(MasterKey):
    """One raw wrapping key, named (provider id, key id)."""

    provider_id: str = None  # type: ignore[assignment]  # taken from the config, as the reference does
    _config_class = RawMasterKeyConfig
    config: RawMasterKeyConfig
    _keyring: RawAESKeyring | RawRSAKeyring
    _symmetric: bool
    _key_info_prefix: bytes

    def __new__(cls, **kwargs: Any) -> RawMasterKey:
        instance = super().__new__(cls, **kwargs)
        wrapping_key = instance.config.wrapping_key
        instance._keyring = wrapping_key.keyring(instance.provider_id, _key_name(instance.key_id))
        instance._symmetric = (
            wrapping_key.wrapping_algorithm.encryption_type is EncryptionType.SYMMETRIC
        )
        instance._key_info_prefix = (
            instance.key_id + struct.pack(">II", TAG_LENGTH * 8, IV_LENGTH)
            if instance._symmetric
            else instance.key_id
        )
        return instance

    def owns_data_key(self, data_key: KeyedData) -> bool:
        """An AES key owns key infos of its prefix plus an IV; an RSA key its exact key id."""
        info = data_key.key_provider
        if not self._symmetric:
            return info == self.key_provider
        return (
            info.provider_id == self.provider_id
            and len(info.key_info) == len(self._key_info_prefix) + IV_LENGTH
            and info.key_info.startswith(self._key_info_prefix)
        )

    def _generate_data_key(
        self, algorithm: AlgorithmSuite, encryption_context: Mapping[str, str]
    ) -> DataKey:
        materials = self._keyring.on_encrypt(
            EncryptionMaterials(algorithm=algorithm.sealbox, encryption_context=encryption_context)
        )
        assert materials.plaintext_data_key is not None
        edk = edk_to_legacy(materials.encrypted_data_keys[-1])
        return DataKey(edk.key_provider, materials.plaintext_data_key, edk.encrypted_data_key)

    def _encrypt_data_key(
        self,
        data_key: DataKey | RawDataKey,
        algorithm: AlgorithmSuite,
        encryption_context: Mapping[str, str],
    ) -> EncryptedDataKey:
        materials = self._keyring.on_encrypt(
            EncryptionMaterials(
                algorithm=algorithm.sealbox,
                encryption_context=encryption_context,
                plaintext_data_key=data_key.data_key,
            )
        )
        return edk_to_legacy(materials.encrypted_data_keys[-1])

    def _decrypt_data_key(
        self,
        encrypted_data_key: EncryptedDataKey,
        algorithm: AlgorithmSuite,
        encryption_context: Mapping[str, str],
    ) -> DataKey:
        """Unwrap one encrypted data key this master key owns (``decrypt_data_key`` checked
        that, and checks the length after): as the reference, an RSA failure is
        IncorrectMasterKeyError (the provider tries the next key), an AES-GCM tag failure
        InvalidTag (decryption stops)."""
        wrapped = encrypted_data_key.encrypted_data_key
        if self._symmetric:
            iv = encrypted_data_key.key_provider.key_info[len(self._key_info_prefix) :]
            sealed = EncryptedData(iv, wrapped[:-TAG_LENGTH], wrapped[-TAG_LENGTH:])
        else:
            sealed = EncryptedData(None, wrapped, None)
        return DataKey(
            encrypted_data_key.key_provider,
            self.config.wrapping_key.decrypt(sealed, encryption_context),
            wrapped,
        )


def _key_name(key_id: bytes) -> str | bytes:
    """The keyring's key name for ``key_id``: text when it is UTF-8 (so messages show it
    as text), else the bytes; provider info holds the same bytes either way."""
    try:
        return key_id.decode("utf-8")
    except UnicodeDecodeError:
        return key_id


class RawMasterKeyProvider(MasterKeyProvider):
    """Raw master keys by key id: subclass it and implement ``_get_raw_key``."""

    #: the master key class ``_new_master_key`` makes
    _master_key_class: type[RawMasterKey] = RawMasterKey
    _config_class = MasterKeyProviderConfig
    vend_masterkey_on_decrypt = False

    @abc.abstractmethod
    def _get_raw_key(self, key_id: bytes) -> WrappingKey:
        """The wrapping key for ``key_id``."""

    def _new_master_key(self, key_id: bytes) -> RawMasterKey:
        _LOGGER.debug("Retrieving wrapping key with id: %s", key_id)
        return self._master_key_class(
            config=RawMasterKeyConfig(
                key_id=key_id, provider_id=self.provider_id, wrapping_key=self._get_raw_key(key_id)
            )
        )
