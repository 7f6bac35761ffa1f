"""Adapters that give the reference package (aws-encryption-sdk) the same keys as our keyrings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import sealbox
from sealbox.keyrings import MultiKeyring, PaddingScheme, RawAESKeyring, RawRSAKeyring
from sealbox.keyrings.base import Keyring
from tests.helpers import quiet_reference

ref = quiet_reference()
from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm  # noqa: E402
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey  # noqa: E402
from aws_encryption_sdk.key_providers.raw import RawMasterKey, RawMasterKeyProvider  # noqa: E402

NAMESPACE = "sealbox-interop"
AES_KEY = bytes(range(32))


@cache
def rsa_private_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@cache
def rsa_public_pem() -> bytes:
    key = serialization.load_pem_private_key(rsa_private_pem(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


_REF_RSA = {
    PaddingScheme.OAEP_SHA256_MGF1: WrappingAlgorithm.RSA_OAEP_SHA256_MGF1,
    PaddingScheme.OAEP_SHA1_MGF1: WrappingAlgorithm.RSA_OAEP_SHA1_MGF1,
    PaddingScheme.PKCS1: WrappingAlgorithm.RSA_PKCS1,
}


def _reference_key(kind: str) -> WrappingKey:
    if kind == "aes":
        return WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=AES_KEY,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        )
    return WrappingKey(
        wrapping_algorithm=_REF_RSA[PaddingScheme[kind]],
        wrapping_key=rsa_private_pem(),
        wrapping_key_type=EncryptionKeyType.PRIVATE,
    )


def ours(kind: str) -> Keyring:
    """Our keyring for ``kind``: 'aes', a PaddingScheme name, or 'aes+rsa'."""
    if kind == "aes":
        return RawAESKeyring(key_namespace=NAMESPACE, key_name="aes", wrapping_key=AES_KEY)
    if kind == "aes+rsa":
        return MultiKeyring(generator=ours("aes"), children=[ours("OAEP_SHA256_MGF1")])
    return RawRSAKeyring(
        key_namespace=NAMESPACE,
        key_name=kind,
        padding_scheme=PaddingScheme[kind],
        public_key=rsa_public_pem(),
        private_key=rsa_private_pem(),
    )


class _Provider(RawMasterKeyProvider):  # type: ignore[misc]
    """A reference provider holding several of our key names (one EDK per key)."""

    provider_id = NAMESPACE

    def __init__(self, **kwargs: Any) -> None:  # the reference's pattern: no super().__init__
        self._kinds = {"aes": "aes", "OAEP_SHA256_MGF1": "OAEP_SHA256_MGF1"}

    def _get_raw_key(self, key_id: bytes) -> WrappingKey:
        return _reference_key(key_id.decode())


@cache
def reference_provider(kind: str) -> Any:
    if kind == "aes+rsa":
        provider = _Provider()
        provider.add_master_key(b"aes")
        provider.add_master_key(b"OAEP_SHA256_MGF1")
        return provider
    return RawMasterKey(
        provider_id=NAMESPACE, key_id=kind.encode(), wrapping_key=_reference_key(kind)
    )


@dataclass(frozen=True)
class Clients:
    ours: sealbox.EncryptionClient
    reference: Any


def clients_for(algorithm: sealbox.Algorithm) -> Clients:
    if algorithm.is_committing:
        return Clients(
            sealbox.EncryptionClient(),
            ref.EncryptionSDKClient(
                commitment_policy=ref.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
            ),
        )
    return Clients(
        sealbox.EncryptionClient(
            commitment_policy=sealbox.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
        ),
        ref.EncryptionSDKClient(
            commitment_policy=ref.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
        ),
    )


def reference_algorithm(algorithm: sealbox.Algorithm) -> Any:
    from aws_encryption_sdk.identifiers import Algorithm

    return Algorithm[algorithm.name]
