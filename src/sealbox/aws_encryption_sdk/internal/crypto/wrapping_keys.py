"""The key a raw master key wraps data keys with: AES-GCM, or RSA with a padding.

A :class:`WrappingKey` is what ``RawMasterKeyProvider._get_raw_key`` returns. Raw master
keys do their work through the Sealbox keyring :meth:`WrappingKey.keyring` builds, so
their encrypted data keys are the ones Sealbox's raw keyrings (and the reference) write;
:meth:`encrypt` and :meth:`decrypt` are the reference's direct calls.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sealbox.aws_encryption_sdk.exceptions import (
    IncorrectMasterKeyError,
    InvalidDataKeyError,
    InvalidTag,
)
from sealbox.aws_encryption_sdk.identifiers import (
    EncryptionKeyType,
    EncryptionType,
    WrappingAlgorithm,
)
from sealbox.aws_encryption_sdk.internal.structures import EncryptedData
from sealbox.crypto.aead import GCM
from sealbox.errors import AuthenticationError, ErrorCode
from sealbox.format.context import serialize_encryption_context
from sealbox.format.suites import IV_LENGTH, TAG_LENGTH
from sealbox.keyrings.raw_aes import RawAESKeyring
from sealbox.keyrings.raw_rsa import PaddingScheme, RawRSAKeyring

__all__ = ["WrappingKey"]

_PADDINGS = {
    WrappingAlgorithm.RSA_PKCS1: PaddingScheme.PKCS1,
    WrappingAlgorithm.RSA_OAEP_SHA1_MGF1: PaddingScheme.OAEP_SHA1_MGF1,
    WrappingAlgorithm.RSA_OAEP_SHA256_MGF1: PaddingScheme.OAEP_SHA256_MGF1,
    WrappingAlgorithm.RSA_OAEP_SHA384_MGF1: PaddingScheme.OAEP_SHA384_MGF1,
    WrappingAlgorithm.RSA_OAEP_SHA512_MGF1: PaddingScheme.OAEP_SHA512_MGF1,
}


class WrappingKey:
    """A raw wrapping key: AES key bytes, or a PEM RSA private or public key."""

    _aes: bytes | None
    _private: rsa.RSAPrivateKey | None
    _public: rsa.RSAPublicKey | None
    _gcm: GCM

    def __init__(
        self,
        wrapping_algorithm: WrappingAlgorithm,
        wrapping_key: bytes,
        wrapping_key_type: EncryptionKeyType,
        password: bytes | None = None,
    ) -> None:
        self.wrapping_algorithm = wrapping_algorithm
        self.wrapping_key_type = wrapping_key_type
        self._aes = self._private = self._public = None
        if wrapping_key_type is EncryptionKeyType.PRIVATE:
            private = serialization.load_pem_private_key(wrapping_key, password=password)
            if not isinstance(private, rsa.RSAPrivateKey):
                raise InvalidDataKeyError("wrapping_key is not an RSA private key")
            # As the reference does, a private key also encrypts, with its public half.
            self._private, self._public = private, private.public_key()
        elif wrapping_key_type is EncryptionKeyType.PUBLIC:
            public = serialization.load_pem_public_key(wrapping_key)
            if not isinstance(public, rsa.RSAPublicKey):
                raise InvalidDataKeyError("wrapping_key is not an RSA public key")
            self._public = public
        elif wrapping_key_type is EncryptionKeyType.SYMMETRIC:
            self._aes = bytes(wrapping_key)
            # The AES wrapping suites have no KDF: the key is used as given.
            self._gcm = GCM(self._aes)
        else:
            raise InvalidDataKeyError(f"Invalid wrapping_key_type: {wrapping_key_type}")
        symmetric = wrapping_algorithm.encryption_type is EncryptionType.SYMMETRIC
        if symmetric != (wrapping_key_type is EncryptionKeyType.SYMMETRIC):
            raise InvalidDataKeyError(
                f"{wrapping_algorithm.name} does not take a {wrapping_key_type.name} key"
            )

    def keyring(self, key_namespace: str, key_name: str | bytes) -> RawAESKeyring | RawRSAKeyring:
        """The Sealbox raw keyring for this key under (provider id, key id)."""
        if self._aes is not None:
            return RawAESKeyring(
                key_namespace=key_namespace, key_name=key_name, wrapping_key=self._aes
            )
        return RawRSAKeyring(
            key_namespace=key_namespace,
            key_name=key_name,
            padding_scheme=_PADDINGS[self.wrapping_algorithm],
            public_key=self._public,
            private_key=self._private,
        )

    def encrypt(
        self, plaintext_data_key: bytes, encryption_context: Mapping[str, str]
    ) -> EncryptedData:
        """Wrap ``plaintext_data_key``; AES-GCM binds it to ``encryption_context``."""
        if self._aes is None:
            assert self._public is not None
            padding = _PADDINGS[self.wrapping_algorithm].padding()
            return EncryptedData(None, self._public.encrypt(plaintext_data_key, padding), None)
        iv = os.urandom(IV_LENGTH)
        aad = serialize_encryption_context(encryption_context)
        sealed = self._gcm.encrypt(iv, plaintext_data_key, aad)
        return EncryptedData(iv, sealed[:-TAG_LENGTH], sealed[-TAG_LENGTH:])

    def decrypt(
        self, encrypted_wrapped_data_key: EncryptedData, encryption_context: Mapping[str, str]
    ) -> bytes:
        """Unwrap; IncorrectMasterKeyError for RSA failures, InvalidTag for AES-GCM ones."""
        if self.wrapping_key_type is EncryptionKeyType.PUBLIC:
            raise IncorrectMasterKeyError("Public key cannot decrypt")
        if self._private is not None:
            padding = _PADDINGS[self.wrapping_algorithm].padding()
            try:
                return self._private.decrypt(encrypted_wrapped_data_key.ciphertext, padding)
            except ValueError:
                raise IncorrectMasterKeyError(
                    "_wrapping_key cannot decrypt provided ciphertext"
                ) from None
        data = encrypted_wrapped_data_key
        if data.iv is None or data.tag is None:
            raise IncorrectMasterKeyError("an AES-GCM wrapped key needs its IV and tag")
        aad = serialize_encryption_context(encryption_context)
        try:
            return self._gcm.decrypt(
                data.iv, data.ciphertext + data.tag, aad, code=ErrorCode.KEYRING_FAILURE
            )
        except AuthenticationError as error:
            raise InvalidTag(str(error), code=error.code) from None
