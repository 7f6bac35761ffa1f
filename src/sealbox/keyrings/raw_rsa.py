"""Raw RSA keyring: wraps data keys with a local RSA key pair.

spec: framework/raw-rsa-keyring.md. EDK: provider id = key namespace,
provider info = key name (text as UTF-8, or bytes as given), ciphertext = RSA
encryption of the data key.
The public key is never derived from the private key (spec MUST NOT): pass
``public_key`` to encrypt and ``private_key`` to decrypt.

Every unwrap failure looks the same to the caller (Bleichenbacher/Marvin).
With PKCS#1 v1.5, OpenSSL's implicit rejection turns a wrong ciphertext into
pseudo-random bytes; those are refused by length or, rarely, by the header tag.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import Enum

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sealbox.errors import ErrorCode, KeyringError, NoDecryptableKeyError, UsageError
from sealbox.format.header import EncryptedDataKey
from sealbox.keyrings.base import no_match, unchanged_if_decrypted
from sealbox.keyrings.raw_aes import checked_key_name
from sealbox.materials import DecryptionMaterials, EncryptionMaterials


class PaddingScheme(Enum):
    """RSA paddings; OAEP uses MGF1 with the same hash and an empty label."""

    PKCS1 = "pkcs1"
    OAEP_SHA1_MGF1 = "sha1"
    OAEP_SHA256_MGF1 = "sha256"
    OAEP_SHA384_MGF1 = "sha384"
    OAEP_SHA512_MGF1 = "sha512"

    def padding(self) -> padding.AsymmetricPadding:
        if self is PaddingScheme.PKCS1:
            return padding.PKCS1v15()
        digest = _OAEP_HASHES[self.value]
        return padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)


_OAEP_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


PublicKeyInput = bytes | rsa.RSAPublicKey
PrivateKeyInput = bytes | rsa.RSAPrivateKey


def _load_public(key: PublicKeyInput) -> rsa.RSAPublicKey:
    if isinstance(key, rsa.RSAPublicKey):
        return key
    try:
        loaded = (
            serialization.load_pem_public_key(key)
            if key.lstrip().startswith(b"-----")
            else serialization.load_der_public_key(key)
        )
    except (ValueError, TypeError):
        raise UsageError(
            "public_key is not a PEM or DER RSA public key", code=ErrorCode.INVALID_KEY
        ) from None
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise UsageError("public_key is not an RSA key", code=ErrorCode.INVALID_KEY)
    return loaded


def _load_private(key: PrivateKeyInput) -> rsa.RSAPrivateKey:
    if isinstance(key, rsa.RSAPrivateKey):
        return key
    try:
        loaded = (
            serialization.load_pem_private_key(key, password=None)
            if key.lstrip().startswith(b"-----")
            else serialization.load_der_private_key(key, password=None)
        )
    except (ValueError, TypeError):
        raise UsageError(
            "private_key is not an unencrypted PEM or DER RSA private key",
            code=ErrorCode.INVALID_KEY,
        ) from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise UsageError("private_key is not an RSA key", code=ErrorCode.INVALID_KEY)
    return loaded


class RawRSAKeyring:
    """Wraps data keys under an RSA public key; unwraps with the private key."""

    def __init__(
        self,
        *,
        key_namespace: str,
        key_name: str | bytes,
        padding_scheme: PaddingScheme,
        public_key: PublicKeyInput | None = None,
        private_key: PrivateKeyInput | None = None,
    ) -> None:
        name = checked_key_name(key_namespace, key_name)
        if not isinstance(padding_scheme, PaddingScheme):
            raise UsageError("padding_scheme must be a sealbox.keyrings.PaddingScheme")
        if public_key is None and private_key is None:
            raise UsageError(
                "RawRSAKeyring needs public_key (to encrypt), private_key (to decrypt), or both"
            )
        self.key_namespace = key_namespace
        self.key_name = key_name
        self.padding_scheme = padding_scheme
        self._name = name
        self._public = _load_public(public_key) if public_key is not None else None
        self._private = _load_private(private_key) if private_key is not None else None
        self._padding = padding_scheme.padding()

    def __repr__(self) -> str:
        return (
            f"RawRSAKeyring(key_namespace={self.key_namespace!r}, key_name={self.key_name!r}, "
            f"padding_scheme={self.padding_scheme.name})"
        )

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        if self._public is None:
            raise KeyringError(
                f"{self!r} has no public key, so it cannot encrypt; pass public_key=",
                code=ErrorCode.NO_ENCRYPTION_KEY,
            )
        if materials.plaintext_data_key is None:
            materials = materials.with_data_key(os.urandom(materials.algorithm.key_length))
        assert materials.plaintext_data_key is not None
        try:
            ciphertext = self._public.encrypt(materials.plaintext_data_key, self._padding)
        except ValueError as error:
            raise KeyringError(f"{self!r} cannot encrypt the data key: {error}") from None
        return materials.with_encrypted_data_key(
            EncryptedDataKey(self.key_namespace, self._name, ciphertext)
        )

    @unchanged_if_decrypted
    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        candidates = [
            edk
            for edk in encrypted_data_keys
            if edk.provider_id == self.key_namespace and edk.provider_info == self._name
        ]
        if not candidates:
            raise no_match(repr(self), encrypted_data_keys)
        if self._private is None:
            raise NoDecryptableKeyError(
                f"{self!r} has no private key, so it cannot decrypt; pass private_key="
            )
        for edk in candidates:
            try:
                data_key = self._private.decrypt(edk.ciphertext, self._padding)
            except ValueError:
                continue  # one uniform outcome for every unwrap failure
            if len(data_key) == materials.algorithm.key_length:
                return materials.with_data_key(data_key)
        raise NoDecryptableKeyError(
            f"{self!r}: {len(candidates)} encrypted data key(s) for this key did not decrypt "
            "(a different RSA key with the same name, another padding scheme, or an altered message)"
        )


def key_pair_of(keyring: RawRSAKeyring) -> tuple[rsa.RSAPublicKey | None, rsa.RSAPrivateKey | None]:
    """The keyring's keys, for formats that wrap with the same key pair in their own
    way (the S3 encryption client's ``RSA-OAEP-SHA1``)."""
    return keyring._public, keyring._private
