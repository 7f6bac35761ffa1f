"""AWS KMS RSA keyring: data keys wrapped with a KMS RSA key pair.

spec: framework/aws-kms/aws-kms-rsa-keyring.md (as AWS's Material Providers
Library implements it). Encrypt needs only the key's public key and calls no
KMS; decrypt asks KMS to decrypt with the private key, which never leaves it.
EDK layout:

* provider id   = ``aws-kms-rsa``
* provider info = the configured key ARN (UTF-8)
* ciphertext    = RSA-OAEP(public key, SHA-384(context) ‖ data key)

KMS takes no encryption context with an asymmetric key, so the keyring binds
it itself: the SHA-384 digest of the canonical serialization of the
materials' encryption context is wrapped with the data key, and on decrypt
the digest KMS returns must equal that of the message's context.

Algorithm suites with a signature are refused both ways: anyone may hold the
public key, so a signature would prove nothing about who wrote the message
(the spec's Security Considerations).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sealbox.errors import ErrorCode, KeyringError, NoDecryptableKeyError, UsageError
from sealbox.format.context import serialize_encryption_context
from sealbox.format.header import EncryptedDataKey
from sealbox.format.suites import Algorithm
from sealbox.keyrings.aws_kms import _KmsKeyringBase
from sealbox.keyrings.base import no_match, readable_provider_info, unchanged_if_decrypted
from sealbox.keyrings.kms_clients import ClientSupplier, KmsArn, kms_call, parse_arn, parse_key_arn
from sealbox.keyrings.raw_rsa import PublicKeyInput, _load_public
from sealbox.materials import DecryptionMaterials, EncryptionMaterials

PROVIDER_ID = "aws-kms-rsa"
EncryptionAlgorithm = Literal["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RSAES_OAEP_SHA_1": hashes.SHA1,
    "RSAES_OAEP_SHA_256": hashes.SHA256,
}
# The digest is not truncated, so 1024-bit keys could not hold it: the spec's floor.
MIN_MODULUS_BITS = 2048
DIGEST_LENGTH = 48  # SHA-384


def encryption_context_digest(context: Mapping[str, str]) -> bytes:
    """SHA-384 of the context serialized as in the message header (empty: no bytes)."""
    return hashlib.sha384(serialize_encryption_context(context)).digest()


def _is_multi_region(arn: KmsArn) -> bool:
    return arn.resource_type == "key" and arn.resource_id.startswith("mrk-")


def mrk_match(configured: KmsArn, recorded: KmsArn) -> bool:
    """spec: aws-kms-mrk-match-for-decrypt.md: equal, or two ids of one multi-Region key."""
    if configured == recorded:
        return True
    if not (_is_multi_region(configured) and _is_multi_region(recorded)):
        return False
    return (configured.partition, configured.account, configured.resource_id) == (
        recorded.partition,
        recorded.account,
        recorded.resource_id,
    )


def _checked_key_arn(key_id: object) -> KmsArn:
    """The spec asks for a key identifier that is no alias; KMS Decrypt answers with the
    key ARN and the keyring must find its own identifier there, so only a key ARN works."""
    if not isinstance(key_id, str) or not key_id:
        raise UsageError("key_id must be a non-empty str: the KMS RSA key's ARN")
    arn = parse_key_arn(key_id)
    if arn is not None:
        return arn
    alias = key_id.startswith("alias/") or (
        (parsed := parse_arn(key_id)) is not None and parsed.resource_type == "alias"
    )
    raise UsageError(
        f"key_id {key_id!r} is {'an alias' if alias else 'not a key ARN'}; AwsKmsRsaKeyring "
        "needs the key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID): the message records it and "
        "KMS Decrypt answers with it",
        code=ErrorCode.INVALID_KEY,
    )


def _checked_public_key(public_key: PublicKeyInput) -> rsa.RSAPublicKey:
    loaded = _load_public(public_key)
    if loaded.key_size < MIN_MODULUS_BITS:
        raise UsageError(
            f"public_key has a {loaded.key_size}-bit modulus; the AWS KMS RSA keyring needs "
            f"at least {MIN_MODULUS_BITS} bits",
            code=ErrorCode.INVALID_KEY,
        )
    return loaded


def _refuse_signing(keyring: str, algorithm: Algorithm) -> str | None:
    if not algorithm.is_signing:
        return None
    return (
        f"{keyring} cannot be used with a signing algorithm suite ({algorithm.name}): its "
        "public key is public, so a signature proves nothing about who wrote the message; "
        "pass algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY"
    )


class AwsKmsRsaKeyring(_KmsKeyringBase):
    """Wrap data keys under a KMS RSA key (KeyUsage ENCRYPT_DECRYPT).

    ``public_key`` (PEM or DER, as GetPublicKey returns it, or a pyca key) is
    needed to encrypt, which then calls no KMS; the keyring does not check that
    it belongs to ``key_id``. Decrypt calls KMS Decrypt with ``key_id``, through
    ``kms_client`` or a client from ``client_supplier`` (default: boto3 with the
    usual environment, including ``AWS_ENDPOINT_URL_KMS``).

    Messages must use an algorithm suite without a signature, e.g.
    ``Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY``.
    """

    def __init__(
        self,
        *,
        key_id: str,
        encryption_algorithm: EncryptionAlgorithm,
        public_key: PublicKeyInput | None = None,
        kms_client: Any = None,
        client_supplier: ClientSupplier | None = None,
        grant_tokens: Iterable[str] = (),
    ) -> None:
        if kms_client is not None and client_supplier is not None:
            raise UsageError("pass kms_client or client_supplier, not both")
        if kms_client is not None:
            client_supplier = _only(kms_client)
        super().__init__(grant_tokens, client_supplier)
        self._arn = _checked_key_arn(key_id)
        if encryption_algorithm not in get_args(EncryptionAlgorithm):
            raise UsageError(
                f"encryption_algorithm must be one of {', '.join(get_args(EncryptionAlgorithm))}, "
                f"not {encryption_algorithm!r}"
            )
        self.key_id = key_id
        self.encryption_algorithm: EncryptionAlgorithm = encryption_algorithm
        self._public = _checked_public_key(public_key) if public_key is not None else None
        digest = _HASHES[encryption_algorithm]
        self._padding = padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)

    def __repr__(self) -> str:
        return (
            f"AwsKmsRsaKeyring(key_id={self.key_id!r}, "
            f"encryption_algorithm={self.encryption_algorithm!r})"
        )

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        if self._public is None:
            raise KeyringError(
                f"{self!r} has no public key, so it cannot encrypt; pass public_key= "
                "(KMS GetPublicKey returns it)",
                code=ErrorCode.NO_ENCRYPTION_KEY,
            )
        refusal = _refuse_signing(repr(self), materials.algorithm)
        if refusal is not None:
            raise UsageError(refusal)
        if materials.plaintext_data_key is None:
            materials = materials.with_data_key(os.urandom(materials.algorithm.key_length))
        assert materials.plaintext_data_key is not None
        digest = encryption_context_digest(materials.encryption_context)
        try:
            ciphertext = self._public.encrypt(digest + materials.plaintext_data_key, self._padding)
        except ValueError as error:
            raise KeyringError(f"{self!r} cannot encrypt the data key: {error}") from None
        return materials.with_encrypted_data_key(
            EncryptedDataKey(PROVIDER_ID, self.key_id.encode(), ciphertext)
        )

    @unchanged_if_decrypted
    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        refusal = _refuse_signing(repr(self), materials.algorithm)
        if refusal is not None:
            raise NoDecryptableKeyError(refusal)
        candidates = []
        for edk in encrypted_data_keys:
            if edk.provider_id != PROVIDER_ID:
                continue
            recorded = _recorded_arn(edk.provider_info)
            if recorded is None:  # spec: such an EDK fails OnDecrypt, not just itself
                raise NoDecryptableKeyError(
                    f"{self!r}: an {PROVIDER_ID!r} encrypted data key names "
                    f"{readable_provider_info(edk.provider_info)}, which is not a KMS key ARN"
                )
            if mrk_match(self._arn, recorded):
                candidates.append((edk, self.key_id, self._arn))
        if not candidates:
            raise no_match(repr(self), encrypted_data_keys)
        return self._try_each(materials, candidates)

    def _decrypt_one(
        self, materials: DecryptionMaterials, edk: EncryptedDataKey, key_id: str, region: str | None
    ) -> DecryptionMaterials:
        response = kms_call(
            self._clients(region),
            "decrypt",
            key_id,
            CiphertextBlob=edk.ciphertext,
            EncryptionAlgorithm=self.encryption_algorithm,
            **self._extra(),
        )
        if response.get("KeyId") != key_id:
            raise KeyringError(
                f"KMS Decrypt with {key_id} answered for key {response.get('KeyId')!r}",
                code=ErrorCode.KMS_ERROR,
            )
        plaintext = response.get("Plaintext")
        expected = encryption_context_digest(materials.encryption_context)
        # One answer for both checks, as for any unwrap failure: KMS opened the ciphertext,
        # but it is not this suite's data key bound to this message's encryption context.
        if (
            not isinstance(plaintext, bytes)
            or len(plaintext) != DIGEST_LENGTH + materials.algorithm.key_length
            or not hmac.compare_digest(plaintext[:DIGEST_LENGTH], expected)
        ):
            raise KeyringError(
                f"KMS Decrypt with {key_id} did not return a data key for this message's "
                "algorithm suite and encryption context"
            )
        return materials.with_data_key(plaintext[DIGEST_LENGTH:])


def _recorded_arn(provider_info: bytes) -> KmsArn | None:
    try:
        return parse_key_arn(provider_info.decode("utf-8"))
    except UnicodeDecodeError:
        return None


def _only(kms_client: Any) -> ClientSupplier:
    """A client supplier that answers every region with the one client given."""

    def supplier(region: str | None) -> Any:
        return kms_client

    return supplier
