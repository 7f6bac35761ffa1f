"""Master key providers and master keys: the legacy API's key abstraction.

A :class:`MasterKeyProvider` holds members (master keys or other providers); on
encrypt its primary master key generates the data key and every other one encrypts
it; on decrypt it finds a member for each encrypted data key and asks it to decrypt.
A :class:`MasterKey` is a provider of itself. Subclasses written for the reference
work unchanged: set-up happens in ``__new__`` (so a subclass's ``__init__`` need not
call ``super``), the configuration comes from ``config=`` or keyword arguments, and
the hooks are the reference's (``_new_master_key``, ``_generate_data_key``,
``_encrypt_data_key``, ``_decrypt_data_key``, ``owns_data_key``,
``vend_masterkey_on_decrypt``). Sealbox runs a provider through a keyring adapter
(:mod:`sealbox.aws_encryption_sdk._bridge.keyring`).
"""

from __future__ import annotations

import abc
import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sealbox.aws_encryption_sdk.exceptions import (
    ConfigMismatchError,
    DecryptKeyError,
    IncorrectMasterKeyError,
    InvalidKeyIdError,
    MasterKeyProviderError,
)
from sealbox.aws_encryption_sdk.identifiers import AlgorithmSuite
from sealbox.aws_encryption_sdk.internal.str_ops import to_bytes
from sealbox.aws_encryption_sdk.internal.utils import source_data_key_length_check
from sealbox.aws_encryption_sdk.structures import (
    DataKey,
    EncryptedDataKey,
    MasterKeyInfo,
    RawDataKey,
)

__all__ = ["MasterKey", "MasterKeyConfig", "MasterKeyProvider", "MasterKeyProviderConfig"]

_LOGGER = logging.getLogger(__name__)
_P = TypeVar("_P", bound="MasterKeyProvider")
_M = TypeVar("_M", bound="MasterKey")
#: what a master key is asked to own or check: anything with a ``key_provider``
KeyedData = DataKey | RawDataKey | EncryptedDataKey


@dataclass
class MasterKeyProviderConfig:
    """The common ancestor of provider configurations (it has no fields)."""


def _config_items(config: object) -> list[tuple[str, object]]:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return sorted((f.name, getattr(config, f.name)) for f in dataclasses.fields(config))
    fields = getattr(type(config), "__attrs_attrs__", None)  # a user's attrs config
    if fields is not None:
        return sorted((f.name, getattr(config, f.name)) for f in fields)
    return sorted(vars(config).items()) if hasattr(config, "__dict__") else []


class MasterKeyProvider(abc.ABC):
    """A set of master keys (and other providers) that encrypt and decrypt data keys.

    Subclasses define ``provider_id`` (a str), ``_config_class`` and ``_new_master_key``.
    """

    #: whether decrypt may make a new master key for an encrypted data key's key info
    vend_masterkey_on_decrypt: bool = True

    config: Any
    _encrypt_key_index: dict[bytes, MasterKey]
    _decrypt_key_index: dict[bytes, MasterKey]
    _members: list[MasterKeyProvider]

    @property
    @abc.abstractmethod
    def provider_id(self) -> str:
        """The provider id written into encrypted data keys."""

    @property
    @abc.abstractmethod
    def _config_class(self) -> type[Any]:
        """The configuration class ``__new__`` builds from keyword arguments."""

    def __new__(cls: type[_P], **kwargs: Any) -> _P:
        instance = super().__new__(cls)
        config = kwargs.pop("config", None)
        if not isinstance(config, instance._config_class):
            config = instance._config_class(**kwargs)
        instance.config = config
        instance._encrypt_key_index = {}
        instance._members = []
        instance._decrypt_key_index = {}
        return instance

    def __init__(self, **kwargs: Any) -> None:  # noqa: B027 (a no-op on purpose)
        """Everything is set up in ``__new__``; subclasses may define their own ``__init__``."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value}" for key, value in _config_items(self.config))
        return f"{type(self).__name__}({fields})"

    # -- members --------------------------------------------------------------------------

    @abc.abstractmethod
    def _new_master_key(self, key_id: bytes) -> MasterKey:
        """A master key for ``key_id``; raise InvalidKeyIdError if there is none."""

    def add_master_key(self, key_id: str | bytes) -> None:
        key = to_bytes(key_id)
        if key not in self._encrypt_key_index:
            master_key = self._new_master_key(key)
            self._members.append(master_key)
            self._encrypt_key_index[key] = master_key

    def add_master_keys_from_list(self, key_ids: Iterable[str | bytes]) -> None:
        for key_id in key_ids:
            self.add_master_key(key_id)

    def add_master_key_provider(self, key_provider: MasterKeyProvider) -> None:
        self._members.append(key_provider)

    def add_master_key_providers_from_list(
        self, key_providers: Iterable[MasterKeyProvider]
    ) -> None:
        for key_provider in key_providers:
            self.add_master_key_provider(key_provider)

    def master_key_for_encrypt(self, key_id: str | bytes) -> MasterKey:
        """The member master key for ``key_id``, added first if need be."""
        key = to_bytes(key_id)
        self.add_master_key(key)
        return self._encrypt_key_index[key]

    master_key = master_key_for_encrypt

    def master_key_for_decrypt(self, key_info: str | bytes) -> MasterKey:
        """A master key for an encrypted data key's key info, kept for decryption only."""
        info = to_bytes(key_info)
        found = self._encrypt_key_index.get(info)
        if found is None:
            found = self._decrypt_key_index.get(info)
        if found is None:
            found = self._decrypt_key_index[info] = self._new_master_key(info)
        return found

    # -- encrypt --------------------------------------------------------------------------

    def master_keys_for_encryption(
        self,
        encryption_context: Mapping[str, str],
        plaintext_rostream: Any,
        plaintext_length: int | None = None,
    ) -> tuple[MasterKey, list[MasterKey]]:
        """The primary master key (the first member's primary) and every member's master keys."""
        primary: MasterKey | None = None
        master_keys: list[MasterKey] = []
        for member in self._members:
            member_primary, member_keys = member.master_keys_for_encryption(
                encryption_context, plaintext_rostream, plaintext_length
            )
            if primary is None:
                primary = member_primary
            master_keys.extend(member_keys)
        if primary is None or not master_keys:
            raise MasterKeyProviderError("No Master Keys available from Master Key Provider")
        return primary, master_keys

    # -- decrypt --------------------------------------------------------------------------

    def _decrypting_member(
        self, member: MasterKeyProvider, encrypted_data_key: EncryptedDataKey
    ) -> MasterKey | None:
        """The master key of ``member`` to try on ``encrypted_data_key``, if any."""
        if member.provider_id != encrypted_data_key.key_provider.provider_id:
            return None
        if isinstance(member, MasterKey):
            return member
        if not self.vend_masterkey_on_decrypt:
            return None
        try:
            return member.master_key_for_decrypt(encrypted_data_key.key_provider.key_info)
        except InvalidKeyIdError:
            _LOGGER.debug("no master key for %s", encrypted_data_key.key_provider)
            return None

    def decrypt_data_key(
        self,
        encrypted_data_key: EncryptedDataKey,
        algorithm: AlgorithmSuite,
        encryption_context: Mapping[str, str],
    ) -> DataKey:
        """Decrypt one encrypted data key with the first member that can; DecryptKeyError if none."""
        candidates: list[MasterKeyProvider] = [self, *self._members]
        for member in candidates:
            master_key = self._decrypting_member(member, encrypted_data_key)
            if master_key is None:
                continue
            try:
                return master_key.decrypt_data_key(
                    encrypted_data_key, algorithm, encryption_context
                )
            except (IncorrectMasterKeyError, DecryptKeyError) as error:
                _LOGGER.debug("%r from %s", error, master_key.key_provider)
        raise DecryptKeyError("Unable to decrypt data key")

    def decrypt_data_key_from_list(
        self,
        encrypted_data_keys: Iterable[EncryptedDataKey],
        algorithm: AlgorithmSuite,
        encryption_context: Mapping[str, str],
    ) -> DataKey:
        """The first of ``encrypted_data_keys`` this provider decrypts; DecryptKeyError if none."""
        for encrypted_data_key in encrypted_data_keys:
            try:
                return self.decrypt_data_key(encrypted_data_key, algorithm, encryption_context)
            except (DecryptKeyError, IncorrectMasterKeyError):
                continue
        raise DecryptKeyError("Unable to decrypt any data key")


@dataclass
class MasterKeyConfig:
    """Configuration of a master key: its key id (str or bytes, kept as bytes).

    Subclasses add ``provider_id`` (a field, or a class attribute).
    """

    key_id: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.key_id, str | bytes):
            raise TypeError("key_id must be str or bytes")
        self.key_id = to_bytes(self.key_id)
        if not hasattr(self, "provider_id"):
            raise TypeError(
                'Instances of MasterKeyConfig must have a "provider_id" attribute defined.'
            )


class MasterKey(MasterKeyProvider):
    """One key that generates, encrypts and decrypts data keys.

    Subclasses implement ``_generate_data_key``, ``_encrypt_data_key`` and
    ``_decrypt_data_key``; the public methods add the reference's checks around them.
    """

    key_id: bytes

    def __new__(cls: type[_M], **kwargs: Any) -> _M:
        instance = super().__new__(cls, **kwargs)
        config_provider = getattr(instance.config, "provider_id", _MISSING)
        if config_provider is _MISSING:
            raise TypeError('MasterKey config classes must have a "provider_id" attribute defined.')
        if config_provider is not None:
            class_provider = cast("str | None", instance.provider_id)
            if class_provider is None:  # the class leaves it to the config
                instance.provider_id = config_provider  # type: ignore[misc,assignment]
            elif class_provider != config_provider:
                raise ConfigMismatchError(
                    "Config provider_id does not match MasterKey provider_id: "
                    f"{config_provider} != {instance.provider_id}"
                )
        instance.key_id = instance.config.key_id
        instance._encrypt_key_index = {instance.key_id: instance}
        instance._decrypt_key_index = {}
        instance._members = [instance]
        return instance

    @property
    def key_provider(self) -> MasterKeyInfo:
        """This master key's (provider id, key id)."""
        return MasterKeyInfo(self.provider_id, self.key_id)

    def owns_data_key(self, data_key: KeyedData) -> bool:
        return data_key.key_provider == self.key_provider

    def master_keys_for_encryption(
        self,
        encryption_context: Mapping[str, str],
        plaintext_rostream: Any,
        plaintext_length: int | None = None,
    ) -> tuple[MasterKey, list[MasterKey]]:
        return self, [self]

    def _new_master_key(self, key_id: bytes) -> MasterKey:
        if key_id != self.key_id:
            raise InvalidKeyIdError(
                "MasterKeys can only provide themselves.  Requested "
                f"{key_id!r} but only {self.key_id!r} is available"
            )
        return self

    def _key_check(self, data_key: KeyedData) -> None:
        if not self.owns_data_key(data_key):
            raise IncorrectMasterKeyError(
                f"Provided data key provider {data_key.key_provider} does not match "
                f"Master Key provider {self.key_provider}"
            )

    def generate_data_key(
        self, algorithm: AlgorithmSuite, encryption_context: Mapping[str, str]
    ) -> DataKey:
        """A new data key for ``algorithm``, in plaintext and encrypted under this key."""
        data_key = self._generate_data_key(
            algorithm=algorithm, encryption_context=encryption_context
        )
        source_data_key_length_check(source_data_key=data_key, algorithm=algorithm)
        return data_key

    @abc.abstractmethod
    def _generate_data_key(
        self, algorithm: AlgorithmSuite, encryption_context: Mapping[str, str]
    ) -> DataKey:
        """Generate a data key (raise GenerateKeyError on failure)."""

    def encrypt_data_key(
        self,
        data_key: DataKey | RawDataKey,
        algorithm: AlgorithmSuite,
        encryption_context: Mapping[str, str],
    ) -> EncryptedDataKey:
        """``data_key`` encrypted under this key."""
        return self._encrypt_data_key(
            data_key=data_key, algorithm=algorithm, encryption_context=encryption_context
        )

    @abc.abstractmethod
    def _encrypt_data_key(
        self,
        data_key: DataKey | RawDataKey,
        algorithm: AlgorithmSuite,
        encryption_context: Mapping[str, str],
    ) -> EncryptedDataKey:
        """Encrypt a data key (raise EncryptKeyError on failure)."""

    def decrypt_data_key(
        self,
        encrypted_data_key: EncryptedDataKey,
        algorithm: AlgorithmSuite,
        encryption_context: Mapping[str, str],
    ) -> DataKey:
        """The data key in ``encrypted_data_key``; IncorrectMasterKeyError if it is not ours."""
        self._key_check(encrypted_data_key)
        data_key = self._decrypt_data_key(
            encrypted_data_key=encrypted_data_key,
            algorithm=algorithm,
            encryption_context=encryption_context,
        )
        source_data_key_length_check(source_data_key=data_key, algorithm=algorithm)
        return data_key

    @abc.abstractmethod
    def _decrypt_data_key(
        self,
        encrypted_data_key: EncryptedDataKey,
        algorithm: AlgorithmSuite,
        encryption_context: Mapping[str, str],
    ) -> DataKey:
        """Decrypt a data key (raise DecryptKeyError on failure)."""


_MISSING = object()
