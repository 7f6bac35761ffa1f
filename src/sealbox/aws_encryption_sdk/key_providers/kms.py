"""AWS KMS master keys and master key providers of the legacy API, on Sealbox's KMS keyring.

A :class:`KMSMasterKey` is one KMS key: each of its data-key operations runs Sealbox's
:class:`~sealbox.keyrings.AwsKmsKeyring` for that key alone, with the master key's own
client, so the KMS requests and the checks on KMS's answers are the keyring's. Providers
keep a client per region (from ``botocore_session``, else a default session), as the
reference does. Strict providers use exactly their ``key_ids``; discovery providers the
key each encrypted data key names, within an optional :class:`DiscoveryFilter`; the
``MRKAware`` ones treat related multi-Region keys as one key on decrypt.

boto3 and botocore are imported when a provider or master key is made, not with this module.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sealbox.aws_encryption_sdk._bridge.convert import to_sealbox_algorithm
from sealbox.aws_encryption_sdk.exceptions import (
    AWSEncryptionSDKClientError,
    ConfigMismatchError,
    DecryptKeyError,
    EncryptKeyError,
    GenerateKeyError,
    IncorrectMasterKeyError,
    MalformedArnError,
    MasterKeyProviderError,
)
from sealbox.aws_encryption_sdk.identifiers import AlgorithmSuite
from sealbox.aws_encryption_sdk.internal.arn import arn_from_str
from sealbox.aws_encryption_sdk.internal.str_ops import to_bytes, to_str
from sealbox.aws_encryption_sdk.key_providers import _kms_ids as ids
from sealbox.aws_encryption_sdk.key_providers.base import (
    KeyedData,
    MasterKey,
    MasterKeyConfig,
    MasterKeyProvider,
    MasterKeyProviderConfig,
)
from sealbox.aws_encryption_sdk.structures import (
    DataKey,
    EncryptedDataKey,
    MasterKeyInfo,
    RawDataKey,
)
from sealbox.errors import NoDecryptableKeyError, SealboxError
from sealbox.format import header as sealbox_header
from sealbox.keyrings.aws_kms import PROVIDER_ID, AwsKmsKeyring
from sealbox.keyrings.kms_clients import DefaultClientSupplier
from sealbox.materials import DecryptionMaterials, EncryptionMaterials

__all__ = [
    "BaseKMSMasterKeyProvider",
    "DiscoveryAwsKmsMasterKeyProvider",
    "DiscoveryFilter",
    "KMSMasterKey",
    "KMSMasterKeyConfig",
    "KMSMasterKeyProviderConfig",
    "MRKAwareDiscoveryAwsKmsMasterKeyProvider",
    "MRKAwareKMSMasterKey",
    "MRKAwareKMSMasterKeyConfig",
    "MRKAwareStrictAwsKmsMasterKeyProvider",
    "StrictAwsKmsMasterKeyProvider",
]


def _failure(
    cls: type[AWSEncryptionSDKClientError], what: str, error: SealboxError
) -> AWSEncryptionSDKClientError:
    """The reference's exception for a failed KMS call, with the keyring's reason."""
    causes = error.causes if isinstance(error, NoDecryptableKeyError) else ()
    return cls(f"Master Key {what} data key: {causes[0] if causes else error}", code=error.code)


# -- master keys -----------------------------------------------------------------------------


@dataclass(unsafe_hash=True)
class KMSMasterKeyConfig(MasterKeyConfig):
    """A KMS master key: its key id, a boto3 KMS client (default: one for the key's region)
    and the grant tokens sent with every request."""

    provider_id: ClassVar[str] = PROVIDER_ID
    _client_required: ClassVar[bool] = False
    client: Any = None
    grant_tokens: Sequence[str] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        self.grant_tokens = ids.as_tuple(self.grant_tokens, "grant_tokens")
        if self.client is None and not self._client_required:
            self.client = ids.default_client(to_str(self.key_id))
        ids.check_client(self.client)


@dataclass(unsafe_hash=True)
class MRKAwareKMSMasterKeyConfig(KMSMasterKeyConfig):
    """As :class:`KMSMasterKeyConfig`, but the client is required."""

    _client_required: ClassVar[bool] = True


class KMSMasterKey(MasterKey):
    """One KMS key. It decrypts only encrypted data keys that name exactly its key id."""

    provider_id = PROVIDER_ID
    _config_class: ClassVar[type[Any]] = KMSMasterKeyConfig
    config: KMSMasterKeyConfig

    def __init__(self, **kwargs: Any) -> None:
        self._key_id = to_str(self.key_id)  # what KMS is called with

    def _keyring(self, *, generate: bool) -> AwsKmsKeyring:
        """Sealbox's keyring for this key alone, calling KMS through this key's client."""
        client = self.config.client
        key = {"generator_key_id": self._key_id} if generate else {"key_ids": [self._key_id]}
        return AwsKmsKeyring(
            **key, grant_tokens=self.config.grant_tokens, client_supplier=lambda _region: client
        )

    def _generate_data_key(
        self, algorithm: AlgorithmSuite, encryption_context: Mapping[str, str] | None = None
    ) -> DataKey:
        materials = EncryptionMaterials(to_sealbox_algorithm(algorithm), encryption_context or {})
        try:
            done = self._keyring(generate=True).on_encrypt(materials)
        except SealboxError as error:
            raise _failure(GenerateKeyError, f"{self._key_id} unable to generate", error) from error
        edk = done.encrypted_data_keys[0]
        assert done.plaintext_data_key is not None  # the keyring's promise
        return DataKey(
            key_provider=MasterKeyInfo(self.provider_id, edk.provider_info),
            data_key=done.plaintext_data_key,
            encrypted_data_key=edk.ciphertext,
        )

    def _encrypt_data_key(
        self,
        data_key: DataKey | RawDataKey,
        algorithm: AlgorithmSuite,
        encryption_context: Mapping[str, str] | None = None,
    ) -> EncryptedDataKey:
        try:
            materials = EncryptionMaterials(
                to_sealbox_algorithm(algorithm), encryption_context or {}
            ).with_data_key(data_key.data_key)
            done = self._keyring(generate=False).on_encrypt(materials)
        except SealboxError as error:
            raise _failure(EncryptKeyError, f"{self._key_id} unable to encrypt", error) from error
        edk = done.encrypted_data_keys[-1]
        return EncryptedDataKey(MasterKeyInfo(self.provider_id, edk.provider_info), edk.ciphertext)

    def _decrypt_data_key(
        self,
        encrypted_data_key: EncryptedDataKey,
        algorithm: AlgorithmSuite,
        encryption_context: Mapping[str, str] | None = None,
    ) -> DataKey:
        edk_key_id = to_str(encrypted_data_key.key_provider.key_info)
        if arn_from_str(edk_key_id).resource_type != "key":
            raise DecryptKeyError(f"AWS KMS Provider EDK contains unexpected key_id: {edk_key_id}")
        self._validate_allowed_to_decrypt(edk_key_id)
        # This key has accepted the EDK as its own (the same key, or a related MRK), so the
        # keyring is asked to decrypt it as this key: KMS is called with this key's id, and
        # its answer must name this key, as the reference requires.
        as_ours = sealbox_header.EncryptedDataKey(
            PROVIDER_ID, self._key_id.encode(), encrypted_data_key.encrypted_data_key
        )
        materials = DecryptionMaterials(to_sealbox_algorithm(algorithm), encryption_context or {})
        try:
            done = self._keyring(generate=False).on_decrypt(materials, [as_ours])
        except SealboxError as error:
            raise _failure(DecryptKeyError, f"{self._key_id} unable to decrypt", error) from error
        assert done.plaintext_data_key is not None  # the keyring's promise
        return DataKey(
            key_provider=self.key_provider,
            data_key=done.plaintext_data_key,
            encrypted_data_key=encrypted_data_key.encrypted_data_key,
        )

    def _validate_allowed_to_decrypt(self, edk_key_id: str) -> None:
        if not self._is_this_key(edk_key_id):
            raise DecryptKeyError(
                f"Cannot decrypt EDK wrapped by key_id={edk_key_id}, because it does not match "
                f"this provider's key_id={self._key_id}"
            )

    def _is_this_key(self, key_id: str) -> bool:
        return key_id == self._key_id


class MRKAwareKMSMasterKey(KMSMasterKey):
    """A KMS key that also decrypts what a related multi-Region key in another region wrapped."""

    _config_class: ClassVar[type[Any]] = MRKAwareKMSMasterKeyConfig
    config: MRKAwareKMSMasterKeyConfig

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validate_config()

    def validate_config(self) -> None:
        """A key id that looks like an ARN must be one (MalformedArnError)."""
        if self._key_id.startswith("arn:"):
            arn_from_str(self._key_id)

    def _is_this_key(self, key_id: str) -> bool:
        return ids.mrk_match(key_id, self._key_id)

    def owns_data_key(self, data_key: KeyedData) -> bool:
        info = data_key.key_provider
        return info.provider_id == self.provider_id and self._is_this_key(to_str(info.key_info))


# -- providers -------------------------------------------------------------------------------


@dataclass(unsafe_hash=True)
class DiscoveryFilter:
    """The accounts (in one partition) whose keys a discovery provider may decrypt with;
    checked by the provider it is given to, as the reference's."""

    account_ids: Sequence[str] = ()
    partition: str | None = None

    def __post_init__(self) -> None:
        self.account_ids = ids.as_tuple(self.account_ids, "account_ids")
        ids.check_type(self.partition, str | None, "partition")


@dataclass(unsafe_hash=True)
class KMSMasterKeyProviderConfig(MasterKeyProviderConfig):
    """A KMS master key provider's configuration, with the reference's fields and defaults
    (``botocore_session``: a new default botocore session)."""

    botocore_session: Any = None
    key_ids: Sequence[str] = ()
    region_names: Sequence[str] = ()
    grant_tokens: Sequence[str] = ()
    discovery_filter: DiscoveryFilter | None = None
    discovery_region: str | None = None

    def __post_init__(self) -> None:
        import botocore.session

        if self.botocore_session is None:
            self.botocore_session = botocore.session.Session()
        ids.check_type(self.botocore_session, botocore.session.Session, "botocore_session")
        self.key_ids = ids.as_tuple(self.key_ids, "key_ids")
        self.region_names = ids.as_tuple(self.region_names, "region_names")
        self.grant_tokens = ids.as_tuple(self.grant_tokens, "grant_tokens")
        ids.check_type(self.discovery_filter, DiscoveryFilter | None, "discovery_filter")
        ids.check_type(self.discovery_region, str | None, "discovery_region")


class BaseKMSMasterKeyProvider(MasterKeyProvider, abc.ABC):
    """What strict and discovery KMS providers share: a client per region and master keys
    made on demand. Use one of the subclasses."""

    provider_id = PROVIDER_ID
    _config_class: ClassVar[type[Any]] = KMSMasterKeyProviderConfig
    config: KMSMasterKeyProviderConfig
    default_region: str | None = None
    master_key_class: ClassVar[type[KMSMasterKey]] = KMSMasterKey
    master_key_config_class: ClassVar[type[Any]] = KMSMasterKeyConfig

    def __init__(self, **kwargs: Any) -> None:
        self._regional_clients: dict[str, Any] = {}
        self._process_config()

    @abc.abstractmethod
    def validate_config(self) -> None:
        """Refuse a configuration this kind of provider cannot work with."""

    def _process_config(self) -> None:
        import boto3

        session = boto3.session.Session(botocore_session=self.config.botocore_session)
        self._supplier = DefaultClientSupplier(session=session)
        if self.config.region_names:
            self.add_regional_clients_from_list(self.config.region_names)
            self.default_region = self.config.region_names[0]
        else:
            self.default_region = self.config.botocore_session.get_config_variable("region")
            if self.default_region is not None:
                self.add_regional_client(self.default_region)
        self.validate_config()
        if self.config.key_ids:
            self.add_master_keys_from_list(self.config.key_ids)

    def add_regional_client(self, region_name: str) -> None:
        """Make the client for ``region_name`` unless there is one."""
        if region_name not in self._regional_clients:
            self._regional_clients[region_name] = self._supplier(region_name)

    def add_regional_clients_from_list(self, region_names: Sequence[str]) -> None:
        for region_name in region_names:
            self.add_regional_client(region_name)

    def decrypt_data_key_from_list(
        self,
        encrypted_data_keys: Iterable[EncryptedDataKey],
        algorithm: AlgorithmSuite,
        encryption_context: Mapping[str, str],
    ) -> DataKey:
        """As the reference's, but an EDK this provider refuses (filtered out, or no ARN) does
        not end the search (in the reference, EDKs come in set order: that is chance); the
        first refusal is raised if no EDK decrypts."""
        refused: AWSEncryptionSDKClientError | None = None
        for encrypted_data_key in encrypted_data_keys:
            try:
                return self.decrypt_data_key(encrypted_data_key, algorithm, encryption_context)
            except (DecryptKeyError, IncorrectMasterKeyError):
                continue
            except (MasterKeyProviderError, MalformedArnError) as error:
                refused = refused or error
        if refused is not None:
            raise refused
        raise DecryptKeyError("Unable to decrypt any data key")

    def _client(self, key_id: str) -> Any:
        """The client for the key's region: its ARN's, else this provider's default region."""
        region_name = ids.region_from_key_id(key_id, self.default_region)
        self.add_regional_client(region_name)
        return self._regional_clients[region_name]

    def _new_master_key(self, key_id: bytes) -> KMSMasterKey:
        """A master key for ``key_id``; MasterKeyProviderError if the filter excludes it."""
        discovery_filter = self.config.discovery_filter
        if discovery_filter is not None:
            arn = arn_from_str(to_str(key_id))
            if (
                arn.partition != discovery_filter.partition
                or arn.account_id not in discovery_filter.account_ids
            ):
                raise MasterKeyProviderError(
                    f"Key {key_id!r} not allowed by this Master Key Provider"
                )
        return self._new_master_key_impl(key_id)

    def _new_master_key_impl(self, key_id: bytes) -> KMSMasterKey:
        config = self.master_key_config_class(
            key_id=key_id,
            client=self._client(to_str(key_id)),
            grant_tokens=self.config.grant_tokens,
        )
        return self.master_key_class(config=config)


class StrictAwsKmsMasterKeyProvider(BaseKMSMasterKeyProvider):
    """Encrypt with every key of ``key_ids`` (the first generates the data key); decrypt
    only with those keys, so name them by key ARN to decrypt."""

    vend_masterkey_on_decrypt = False

    def validate_config(self) -> None:
        if not self.config.key_ids:
            raise ConfigMismatchError("To enable strict mode you must provide key ids")
        if not all(self.config.key_ids):
            raise ConfigMismatchError("Key ids must be valid AWS KMS ARNs")
        if self.config.discovery_filter is not None:
            raise ConfigMismatchError(
                "To enable discovery mode, use a DiscoveryAwsKmsMasterKeyProvider"
            )
        if self.config.discovery_region:
            raise ConfigMismatchError(
                "To enable MRK-aware discovery mode, use a MRKAwareDiscoveryAwsKmsMasterKeyProvider"
            )


class MRKAwareStrictAwsKmsMasterKeyProvider(StrictAwsKmsMasterKeyProvider):
    """A strict provider whose keys also decrypt what their related multi-Region keys
    wrapped; two related multi-Region keys in ``key_ids`` are refused."""

    master_key_class: ClassVar[type[KMSMasterKey]] = MRKAwareKMSMasterKey
    master_key_config_class: ClassVar[type[Any]] = MRKAwareKMSMasterKeyConfig

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validate_unique_mrks()

    def validate_unique_mrks(self) -> None:
        """ConfigMismatchError naming every multi-Region key given more than once."""
        related = ids.related_mrks(self.config.key_ids)
        if related:
            raise ConfigMismatchError(
                f"Configured key ids must be unique. Found related MRKs: {', '.join(related)}"
            )


class DiscoveryAwsKmsMasterKeyProvider(BaseKMSMasterKeyProvider):
    """Decrypt with whichever KMS key each encrypted data key names (it cannot encrypt).

    Without a ``discovery_filter`` any key of any account is asked: give one with the
    accounts you trust, e.g. ``DiscoveryFilter(account_ids=["111122223333"], partition="aws")``.
    """

    vend_masterkey_on_decrypt = True

    def validate_config(self) -> None:
        if self.config.key_ids:
            raise ConfigMismatchError(
                "To explicitly identify which keys should be used, use a "
                "StrictAwsKmsMasterKeyProvider."
            )
        discovery_filter = self.config.discovery_filter
        if discovery_filter is not None:
            if not discovery_filter.account_ids or not discovery_filter.partition:
                raise ConfigMismatchError(
                    "When specifying a discovery filter you must include both account ids and "
                    "partition"
                )
            if not all(discovery_filter.account_ids):
                raise ConfigMismatchError(
                    "When specifying a discovery filter, account ids must be non-empty strings"
                )
        if self.config.discovery_region:
            raise ConfigMismatchError(
                "To enable MRK-aware discovery mode, use a MRKAwareDiscoveryAwsKmsMasterKeyProvider."
            )


class MRKAwareDiscoveryAwsKmsMasterKeyProvider(DiscoveryAwsKmsMasterKeyProvider):
    """A discovery provider that asks for a multi-Region key in ``discovery_region`` (by
    default the session's region), whichever region's replica wrapped the data key."""

    def validate_config(self) -> None:
        # As the reference: neither key_ids nor an incomplete filter (it admits no key) is refused.
        if not self.config.discovery_region:
            if not self.default_region:
                raise ConfigMismatchError(
                    "Failed to determine default discovery region; please provide an explicit "
                    "discovery_region"
                )
            self.config.discovery_region = self.default_region

    def _new_master_key_impl(self, key_id: bytes) -> KMSMasterKey:
        key = to_str(key_id)
        arn = arn_from_str(key)
        if arn.indicates_multi_region_key():  # ask the replica in the discovery region
            assert self.config.discovery_region is not None  # set by validate_config
            arn.region = self.config.discovery_region
            key = arn.to_string()
        config = MRKAwareKMSMasterKeyConfig(
            key_id=to_bytes(key), client=self._client(key), grant_tokens=self.config.grant_tokens
        )
        return MRKAwareKMSMasterKey(config=config)
