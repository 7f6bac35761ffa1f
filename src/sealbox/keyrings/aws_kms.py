"""AWS KMS keyrings: data keys wrapped by a KMS — Sealbox's service or AWS's.

spec: framework/aws-kms/aws-kms-keyring.md, aws-kms-discovery-keyring.md.
EDK layout, as every AWS Encryption SDK writes it:

* provider id   = ``aws-kms``
* provider info = the key ARN KMS reported (UTF-8)
* ciphertext    = KMS's ``CiphertextBlob``

The message's encryption context is passed to KMS with every call, so KMS
binds the wrapped data key to it (and key policies can condition on it).

*Strict* keyrings (:class:`AwsKmsKeyring`) decrypt only EDKs of the keys they
are configured with, which must then be key ARNs: a message records key ARNs,
never aliases. *Discovery* keyrings (:class:`AwsKmsDiscoveryKeyring`) decrypt
with whatever key an EDK names, limited by a :class:`DiscoveryFilter`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sealbox.errors import ErrorCode, KeyringError, NoDecryptableKeyError, SealboxError, UsageError
from sealbox.format.header import EncryptedDataKey
from sealbox.keyrings.base import describe_edk, unchanged_if_decrypted
from sealbox.keyrings.kms_clients import (
    ClientSupplier,
    DefaultClientSupplier,
    KmsArn,
    check_key_identifier,
    kms_call,
    parse_key_arn,
    region_of,
)
from sealbox.materials import DecryptionMaterials, EncryptionMaterials

PROVIDER_ID = "aws-kms"


def _grant_tokens(tokens: Iterable[str]) -> list[str]:
    tokens = list(tokens)
    if not all(isinstance(t, str) and t for t in tokens):
        raise UsageError("grant_tokens must be non-empty str values")
    if len(tokens) > 10:
        raise UsageError("KMS accepts at most 10 grant tokens per request")
    return tokens


def _reported_key_arn(response: dict[str, Any], operation: str) -> str:
    key_id = response.get("KeyId")
    if not isinstance(key_id, str) or parse_key_arn(key_id) is None:
        raise KeyringError(
            f"KMS {operation} answered with KeyId {key_id!r}, which is not a key ARN",
            code=ErrorCode.KMS_ERROR,
        )
    return key_id


class _KmsKeyringBase:
    def __init__(self, grant_tokens: Iterable[str], client_supplier: ClientSupplier | None) -> None:
        self.grant_tokens = _grant_tokens(grant_tokens)
        self._clients: ClientSupplier = client_supplier or DefaultClientSupplier()

    def _extra(self) -> dict[str, Any]:
        return {"GrantTokens": self.grant_tokens} if self.grant_tokens else {}

    def kms_client(self, region: str | None) -> Any:
        """The boto3 KMS client this keyring uses for ``region`` (None: the default)."""
        return self._clients(region)

    def _decrypt_one(
        self, materials: DecryptionMaterials, edk: EncryptedDataKey, key_id: str, region: str | None
    ) -> DecryptionMaterials:
        response = kms_call(
            self._clients(region),
            "decrypt",
            key_id,
            CiphertextBlob=edk.ciphertext,
            EncryptionContext=dict(materials.encryption_context),
            **self._extra(),
        )
        if response.get("KeyId") != key_id:
            raise KeyringError(
                f"KMS Decrypt with {key_id} answered for key {response.get('KeyId')!r}",
                code=ErrorCode.KMS_ERROR,
            )
        plaintext = response.get("Plaintext")
        if not isinstance(plaintext, bytes) or len(plaintext) != materials.algorithm.key_length:
            raise KeyringError(
                f"KMS Decrypt with {key_id} returned a data key of the wrong length",
                code=ErrorCode.KMS_ERROR,
            )
        return materials.with_data_key(plaintext)

    def _try_each(
        self,
        materials: DecryptionMaterials,
        candidates: Sequence[tuple[EncryptedDataKey, str, KmsArn]],
    ) -> DecryptionMaterials:
        causes: list[str | SealboxError] = []
        for edk, key_id, arn in candidates:
            try:
                return self._decrypt_one(materials, edk, key_id, arn.region)
            except SealboxError as error:
                causes.append(f"{self!r} with {key_id}: {error.message}")
        raise NoDecryptableKeyError(
            f"{self!r}: KMS decrypted none of the message's {len(candidates)} "
            "encrypted data key(s) for its keys",
            causes=causes,
        )


def _kms_arn_of(edk: EncryptedDataKey) -> tuple[str, KmsArn] | None:
    """The key ARN an EDK was wrapped with, if it is a well-formed KMS EDK."""
    if edk.provider_id != PROVIDER_ID:
        return None
    try:
        key_id = edk.provider_info.decode("utf-8")
    except UnicodeDecodeError:
        return None
    arn = parse_key_arn(key_id)
    return (key_id, arn) if arn is not None else None


class AwsKmsKeyring(_KmsKeyringBase):
    """Wrap data keys with KMS keys: ``generator_key_id`` makes the data key
    (GenerateDataKey) and every key in ``key_ids`` wraps it too (Encrypt).

    On decrypt, only EDKs of these keys are tried, so they must be key ARNs;
    aliases and bare key ids work on encrypt only. Each key's region is taken
    from its ARN and a client per region comes from ``client_supplier``
    (default: boto3 with the usual environment, including
    ``AWS_ENDPOINT_URL_KMS``).
    """

    def __init__(
        self,
        *,
        generator_key_id: str | None = None,
        key_ids: Iterable[str] = (),
        grant_tokens: Iterable[str] = (),
        client_supplier: ClientSupplier | None = None,
    ) -> None:
        super().__init__(grant_tokens, client_supplier)
        if isinstance(key_ids, str):
            raise UsageError("key_ids must be a list of key identifiers, not one str")
        self.generator_key_id = (
            check_key_identifier(generator_key_id, "generator_key_id")
            if generator_key_id is not None
            else None
        )
        self.key_ids = tuple(check_key_identifier(k, "key_ids entry") for k in key_ids)
        if self.generator_key_id is None and not self.key_ids:
            raise UsageError("AwsKmsKeyring needs generator_key_id, key_ids, or both")

    def __repr__(self) -> str:
        return f"AwsKmsKeyring(generator_key_id={self.generator_key_id!r}, key_ids={list(self.key_ids)!r})"

    @property
    def _all_keys(self) -> tuple[str, ...]:
        return (self.generator_key_id, *self.key_ids) if self.generator_key_id else self.key_ids

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        context = dict(materials.encryption_context)
        wrap_with = list(self._all_keys)
        if materials.plaintext_data_key is None:
            if self.generator_key_id is None:
                raise KeyringError(
                    f"{self!r} has no generator_key_id to make a data key with",
                    code=ErrorCode.NO_ENCRYPTION_KEY,
                )
            generator = wrap_with.pop(0)
            response = kms_call(
                self._clients(region_of(generator)),
                "generate_data_key",
                generator,
                NumberOfBytes=materials.algorithm.key_length,
                EncryptionContext=context,
                **self._extra(),
            )
            key_arn = _reported_key_arn(response, "GenerateDataKey")
            plaintext = response.get("Plaintext")
            if not isinstance(plaintext, bytes) or len(plaintext) != materials.algorithm.key_length:
                raise KeyringError(
                    f"KMS GenerateDataKey with {generator} returned a data key of the wrong length",
                    code=ErrorCode.KMS_ERROR,
                )
            materials = materials.with_data_key(plaintext).with_encrypted_data_key(
                EncryptedDataKey(PROVIDER_ID, key_arn.encode(), response["CiphertextBlob"])
            )
        data_key = materials.plaintext_data_key
        assert data_key is not None
        for key_id in wrap_with:
            response = kms_call(
                self._clients(region_of(key_id)),
                "encrypt",
                key_id,
                Plaintext=data_key,
                EncryptionContext=context,
                **self._extra(),
            )
            key_arn = _reported_key_arn(response, "Encrypt")
            materials = materials.with_encrypted_data_key(
                EncryptedDataKey(PROVIDER_ID, key_arn.encode(), response["CiphertextBlob"])
            )
        return materials

    @unchanged_if_decrypted
    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        mine = set(self._all_keys)
        candidates = [
            (edk, found[0], found[1])
            for edk in encrypted_data_keys
            if (found := _kms_arn_of(edk)) is not None and found[0] in mine
        ]
        if candidates:
            return self._try_each(materials, candidates)
        listed = ", ".join(describe_edk(edk) for edk in encrypted_data_keys[:8])
        not_arns = [k for k in self._all_keys if parse_key_arn(k) is None]
        hint = (
            f"; {', '.join(repr(k) for k in not_arns)} is not a key ARN — a message records the key "
            "ARN of each data key, so decrypt with key ARNs (arn:aws:kms:REGION:ACCOUNT:key/ID) "
            "or with AwsKmsDiscoveryKeyring"
            if not_arns
            else ""
        )
        raise NoDecryptableKeyError(
            f"{self!r}: none of the message's encrypted data keys is for this keyring's keys "
            f"(the message has keys for: {listed}){hint}"
        )


class DiscoveryFilter:
    """Limit discovery to keys of these accounts in this partition."""

    __slots__ = ("account_ids", "partition")

    def __init__(self, *, account_ids: Iterable[str], partition: str = "aws") -> None:
        if isinstance(account_ids, str):
            raise UsageError("account_ids must be a list of account ids, not one str")
        accounts = tuple(account_ids)
        if not accounts or not all(isinstance(a, str) and a for a in accounts):
            raise UsageError("DiscoveryFilter needs at least one account id")
        if not isinstance(partition, str) or not partition:
            raise UsageError("DiscoveryFilter needs a partition, e.g. 'aws'")
        self.account_ids: tuple[str, ...] = accounts
        self.partition = partition

    def __repr__(self) -> str:
        return (
            f"DiscoveryFilter(account_ids={list(self.account_ids)!r}, partition={self.partition!r})"
        )

    def admits(self, arn: KmsArn) -> bool:
        return arn.partition == self.partition and arn.account in self.account_ids


class AwsKmsDiscoveryKeyring(_KmsKeyringBase):
    """Decrypt with whichever KMS key each EDK names (encrypt is not possible).

    Without a ``discovery_filter`` any key anywhere is asked — pass one with
    the accounts you trust so a message cannot make you call their keys.
    """

    def __init__(
        self,
        *,
        discovery_filter: DiscoveryFilter | None = None,
        grant_tokens: Iterable[str] = (),
        client_supplier: ClientSupplier | None = None,
    ) -> None:
        super().__init__(grant_tokens, client_supplier)
        if discovery_filter is not None and not isinstance(discovery_filter, DiscoveryFilter):
            raise UsageError("discovery_filter must be a DiscoveryFilter")
        self.discovery_filter = discovery_filter

    def __repr__(self) -> str:
        return f"AwsKmsDiscoveryKeyring(discovery_filter={self.discovery_filter!r})"

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        raise KeyringError(
            "AwsKmsDiscoveryKeyring cannot encrypt: it names no key; use AwsKmsKeyring",
            code=ErrorCode.NO_ENCRYPTION_KEY,
        )

    @unchanged_if_decrypted
    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        candidates = []
        excluded = []
        for edk in encrypted_data_keys:
            found = _kms_arn_of(edk)
            if found is None:
                continue
            if self.discovery_filter is not None and not self.discovery_filter.admits(found[1]):
                excluded.append(found[0])
                continue
            candidates.append((edk, found[0], found[1]))
        if candidates:
            return self._try_each(materials, candidates)
        listed = ", ".join(describe_edk(edk) for edk in encrypted_data_keys[:8])
        why = (
            f"; the discovery filter excludes {', '.join(excluded)}"
            if excluded
            else " (it has no AWS KMS encrypted data key)"
        )
        raise NoDecryptableKeyError(
            f"{self!r}: no encrypted data key to try{why}; the message has keys for: {listed}"
        )
