"""Wrapping and unwrapping an object's data key, as AWS's S3 encryption clients do.

* ``kms+context``: KMS GenerateDataKey (AES_256) under the caller's encryption
  context plus ``aws:x-amz-cek-alg`` (the content cipher), which is stored as the
  object's context; on read the stored context, less the reserved entry, must equal
  the context the caller supplies, and KMS Decrypt gets the stored one.
* ``AES/GCM``: IV (12) ‖ AES-GCM(wrapping key, data key, AAD = content cipher name) ‖ tag.
* ``RSA-OAEP-SHA1``: RSA-OAEP (SHA-1, MGF1-SHA-1) of len(data key) (1 byte) ‖ data key ‖
  content cipher name, so the cipher the key was made for is checked on unwrap.

Legacy wrappings, read only with ``enable_legacy_wrapping_algorithms``: ``kms``
(KMS Decrypt under the stored material description, e.g. ``{"kms_cmk_id": …}``),
``AESWrap`` (RFC 3394), ``RSA/ECB/OAEPWithSHA-256AndMGF1Padding`` and the V1
format's implied AES-ECB and RSA PKCS#1 v1.5.

Every failure to unwrap looks the same to the caller (no padding or length details).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, keywrap
from cryptography.hazmat.primitives import padding as block_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealbox.errors import (
    ErrorCode,
    KeyringError,
    NoDecryptableKeyError,
    PolicyError,
    UsageError,
)
from sealbox.keyrings.kms_clients import ClientSupplier, kms_call, region_of
from sealbox.s3ec.envelope import CEK_ALG_CONTEXT_KEY, Envelope, Wrapping
from sealbox.s3ec.suites import DATA_KEY_LENGTH, GCM_IV_LENGTH, TAG_LENGTH, ContentCipher

#: Entries of a stored KMS context that the client adds, not the caller.
RESERVED_CONTEXT_KEYS = (CEK_ALG_CONTEXT_KEY, "kms_cmk_id")


@dataclass(frozen=True)
class WrappedKey:
    """A new data key and how the envelope records it."""

    data_key: bytes
    encrypted_key: bytes
    wrapping: Wrapping
    kms_context: Mapping[str, str]
    material_description: Mapping[str, str]


class KeyWrapper(Protocol):
    """One wrapping key, as the client uses it."""

    def new_data_key(self, cipher: ContentCipher, context: Mapping[str, str]) -> WrappedKey: ...

    def unwrap(
        self, envelope: Envelope, context: Mapping[str, str], *, allow_legacy: bool
    ) -> bytes: ...


def _unwrap_failed(what: str) -> NoDecryptableKeyError:
    return NoDecryptableKeyError(
        f"{what} could not unwrap the object's data key: the object was written with "
        "another key, or its wrapped key was altered"
    )


def _legacy_refused(envelope: Envelope) -> PolicyError:
    return PolicyError(
        f"the object's data key is wrapped with the legacy {envelope.wrapping.value} "
        "algorithm, which is refused by default; pass enable_legacy_wrapping_algorithms=True "
        "(--s3-legacy-unauthenticated on the command line) to read objects written by "
        "older S3 encryption clients",
        code=ErrorCode.LEGACY_FORMAT_FORBIDDEN,
    )


def _wrong_kind(envelope: Envelope, configured: str) -> KeyringError:
    return KeyringError(
        f"the object's data key is wrapped with {envelope.wrapping.value}, but the client "
        f"is configured with {configured}; use the kind of key the object was written with",
        code=ErrorCode.NO_DECRYPTABLE_KEY,
    )


def _checked_context(context: Mapping[str, str]) -> dict[str, str]:
    reserved = [k for k in context if k in RESERVED_CONTEXT_KEYS]
    if reserved:
        raise UsageError(
            f"encryption context key {reserved[0]!r} is reserved for the S3 encryption client",
            code=ErrorCode.RESERVED_ENCRYPTION_CONTEXT_KEY,
        )
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in context.items()):
        raise UsageError("encryption context keys and values must be str")
    return dict(context)


class KmsWrapper:
    """Data keys from a KMS key; with ``key_id=None`` (discovery) it only decrypts, with
    whatever key the wrapped key names — the object's stored context still binds it."""

    def __init__(
        self,
        *,
        key_id: str | None,
        clients: ClientSupplier,
        grant_tokens: tuple[str, ...] = (),
        admits: Any = None,
    ) -> None:
        self.key_id = key_id
        self._clients = clients
        self._extra: dict[str, Any] = {"GrantTokens": list(grant_tokens)} if grant_tokens else {}
        self._admits = admits

    def __repr__(self) -> str:
        return f"KMS key {self.key_id}" if self.key_id else "KMS (discovery)"

    def new_data_key(self, cipher: ContentCipher, context: Mapping[str, str]) -> WrappedKey:
        if self.key_id is None:
            raise KeyringError(
                "a discovery KMS keyring names no key, so it cannot encrypt; use AwsKmsKeyring",
                code=ErrorCode.NO_ENCRYPTION_KEY,
            )
        stored = {CEK_ALG_CONTEXT_KEY: cipher.value, **_checked_context(context)}
        response = kms_call(
            self._clients(region_of(self.key_id)),
            "generate_data_key",
            self.key_id,
            KeySpec="AES_256",
            EncryptionContext=stored,
            **self._extra,
        )
        data_key = response.get("Plaintext")
        if not isinstance(data_key, bytes) or len(data_key) != DATA_KEY_LENGTH:
            raise KeyringError(
                f"KMS GenerateDataKey with {self.key_id} returned a data key of the wrong length",
                code=ErrorCode.KMS_ERROR,
            )
        return WrappedKey(data_key, response["CiphertextBlob"], Wrapping.KMS_CONTEXT, stored, {})

    def unwrap(
        self, envelope: Envelope, context: Mapping[str, str], *, allow_legacy: bool
    ) -> bytes:
        if not envelope.wrapping.uses_kms:
            raise _wrong_kind(envelope, "a KMS key")
        context = _checked_context(context)
        stored = dict(envelope.kms_context)
        if envelope.wrapping is Wrapping.KMS and not allow_legacy:
            raise _legacy_refused(envelope)
        check_kms_context(envelope, stored, context)
        region = region_of(self.key_id) if self.key_id else None
        params: dict[str, Any] = {"CiphertextBlob": envelope.encrypted_key, **self._extra}
        try:
            response = kms_call(
                self._clients(region), "decrypt", self.key_id, EncryptionContext=stored, **params
            )
        except KeyringError as error:
            raise NoDecryptableKeyError(
                f"KMS did not unwrap the object's data key with {self!r}", causes=[error]
            ) from None
        if self._admits is not None and not self._admits(response.get("KeyId")):
            raise NoDecryptableKeyError(
                f"the object's data key is wrapped by {response.get('KeyId')}, which the "
                "discovery filter does not admit"
            )
        data_key = response.get("Plaintext")
        if not isinstance(data_key, bytes) or len(data_key) != DATA_KEY_LENGTH:
            raise KeyringError(
                "KMS Decrypt returned a data key of the wrong length", code=ErrorCode.KMS_ERROR
            )
        return data_key


def check_kms_context(
    envelope: Envelope, stored: Mapping[str, str], supplied: Mapping[str, str]
) -> None:
    """The stored context must name the object's content cipher (``kms+context``), and
    equal the caller's context once the client's reserved entries are removed — what
    AWS's clients require. Legacy ``kms`` objects are held to the second rule too (AWS's
    clients skip it), so relabelling a ``kms+context`` object cannot escape the check."""
    if envelope.wrapping is Wrapping.KMS_CONTEXT and stored.get(CEK_ALG_CONTEXT_KEY) != (
        envelope.cipher.value
    ):
        raise PolicyError(
            f"the object's encryption context says {CEK_ALG_CONTEXT_KEY}="
            f"{stored.get(CEK_ALG_CONTEXT_KEY)!r} but its content cipher is "
            f"{envelope.cipher.value}: the metadata was altered",
            code=ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
        )
    own = {k: v for k, v in stored.items() if k not in RESERVED_CONTEXT_KEYS}
    if own != dict(supplied):
        missing = sorted(set(own) - set(supplied))
        extra = sorted(set(supplied) - set(own))
        differ = sorted(k for k in set(own) & set(supplied) if own[k] != supplied[k])
        parts = [
            f"{label} {keys}"
            for label, keys in (
                ("the object has keys you did not supply:", missing),
                ("you supplied keys the object lacks:", extra),
                ("values differ for:", differ),
            )
            if keys
        ]
        raise PolicyError(
            "the encryption context you supplied does not match the object's "
            f"({'; '.join(parts)}); pass exactly the context the object was written with",
            code=ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
        )


class AesWrapper:
    """A raw AES key (16, 24 or 32 bytes)."""

    def __init__(self, key: bytes, material_description: Mapping[str, str]) -> None:
        self._key = bytes(key)
        self._material_description = dict(material_description)

    def __repr__(self) -> str:
        return f"a raw AES-{len(self._key) * 8} key"

    def new_data_key(self, cipher: ContentCipher, context: Mapping[str, str]) -> WrappedKey:
        _refuse_context(context)
        data_key = os.urandom(DATA_KEY_LENGTH)
        iv = os.urandom(GCM_IV_LENGTH)
        wrapped = iv + AESGCM(self._key).encrypt(iv, data_key, cipher.value.encode())
        return WrappedKey(data_key, wrapped, Wrapping.AES_GCM, {}, self._material_description)

    def unwrap(
        self, envelope: Envelope, context: Mapping[str, str], *, allow_legacy: bool
    ) -> bytes:
        _refuse_context(context)
        wrapping, wrapped = envelope.wrapping, envelope.encrypted_key
        if wrapping is Wrapping.AES_GCM:
            if len(wrapped) < GCM_IV_LENGTH + TAG_LENGTH:
                raise _unwrap_failed(repr(self))
            iv, sealed = wrapped[:GCM_IV_LENGTH], wrapped[GCM_IV_LENGTH:]
            try:
                return AESGCM(self._key).decrypt(iv, sealed, envelope.cipher.value.encode())
            except InvalidTag:
                raise _unwrap_failed(repr(self)) from None
        if wrapping not in (Wrapping.AES_WRAP, Wrapping.V1_IMPLIED):
            raise _wrong_kind(envelope, repr(self))
        if not allow_legacy:
            raise _legacy_refused(envelope)
        try:
            if wrapping is Wrapping.AES_WRAP:
                data_key = keywrap.aes_key_unwrap(self._key, wrapped)
            else:
                data_key = _ecb_unpadded(self._key, wrapped)
        except (keywrap.InvalidUnwrap, ValueError):
            raise _unwrap_failed(repr(self)) from None
        # Under a wrong key, ECB padding comes out valid about 1 time in 256: the length
        # then tells, with the same error as every other failure.
        if len(data_key) not in (16, 24, 32):
            raise _unwrap_failed(repr(self))
        return data_key


def _ecb_unpadded(key: bytes, wrapped: bytes) -> bytes:
    """The V1 format's AES/ECB/PKCS5Padding key encryption."""
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305 - legacy format
    padded = decryptor.update(wrapped) + decryptor.finalize()
    unpadder = block_padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def _refuse_context(context: Mapping[str, str]) -> None:
    if context:
        raise UsageError(
            "an encryption context binds KMS-wrapped keys only; with a raw AES or RSA key, "
            "describe the key with material_description instead"
        )


# SHA-1 in OAEP is what the format fixes (and remains sound there: OAEP needs no
# collision resistance).
_OAEP_SHA1 = padding.OAEP(
    mgf=padding.MGF1(hashes.SHA1()),  # noqa: S303
    algorithm=hashes.SHA1(),  # noqa: S303
    label=None,
)
# Java's "RSA/ECB/OAEPWithSHA-256AndMGF1Padding" hashes with SHA-256 but keeps MGF1 on SHA-1.
_OAEP_SHA256_JAVA = padding.OAEP(
    mgf=padding.MGF1(hashes.SHA1()),  # noqa: S303
    algorithm=hashes.SHA256(),
    label=None,
)


class RsaWrapper:
    """A raw RSA key pair: the public key to write, the private key to read."""

    def __init__(
        self,
        public: rsa.RSAPublicKey | None,
        private: rsa.RSAPrivateKey | None,
        material_description: Mapping[str, str],
    ) -> None:
        self._public = public
        self._private = private
        self._material_description = dict(material_description)

    def __repr__(self) -> str:
        size = (self._public or self._private).key_size  # type: ignore[union-attr]
        return f"a raw RSA-{size} key"

    def new_data_key(self, cipher: ContentCipher, context: Mapping[str, str]) -> WrappedKey:
        _refuse_context(context)
        if self._public is None:
            raise KeyringError(
                "the RSA keyring has no public key, so it cannot encrypt; pass public_key=",
                code=ErrorCode.NO_ENCRYPTION_KEY,
            )
        data_key = os.urandom(DATA_KEY_LENGTH)
        pseudo = bytes([len(data_key)]) + data_key + cipher.value.encode()
        wrapped = self._public.encrypt(pseudo, _OAEP_SHA1)
        return WrappedKey(data_key, wrapped, Wrapping.RSA_OAEP_SHA1, {}, self._material_description)

    def unwrap(
        self, envelope: Envelope, context: Mapping[str, str], *, allow_legacy: bool
    ) -> bytes:
        _refuse_context(context)
        if self._private is None:
            raise KeyringError(
                "the RSA keyring has no private key, so it cannot decrypt; pass private_key=",
                code=ErrorCode.NO_DECRYPTABLE_KEY,
            )
        wrapping = envelope.wrapping
        if wrapping is Wrapping.RSA_OAEP_SHA1:
            pseudo = self._decrypt(envelope.encrypted_key, _OAEP_SHA1)
            length = pseudo[0] if pseudo else 0
            data_key, cipher_name = pseudo[1 : 1 + length], pseudo[1 + length :]
            if length not in (16, 24, 32) or len(data_key) != length:
                raise _unwrap_failed(repr(self))
            if cipher_name != envelope.cipher.value.encode():
                raise PolicyError(
                    "the wrapped key was made for another content cipher than the object "
                    "names: the metadata was altered",
                    code=ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
                )
            return data_key
        if wrapping not in (Wrapping.RSA_OAEP_SHA256, Wrapping.V1_IMPLIED):
            raise _wrong_kind(envelope, repr(self))
        if not allow_legacy:
            raise _legacy_refused(envelope)
        scheme = _OAEP_SHA256_JAVA if wrapping is Wrapping.RSA_OAEP_SHA256 else padding.PKCS1v15()
        data_key = self._decrypt(envelope.encrypted_key, scheme)
        if len(data_key) not in (16, 24, 32):
            raise _unwrap_failed(repr(self))
        return data_key

    def _decrypt(self, wrapped: bytes, scheme: padding.AsymmetricPadding) -> bytes:
        assert self._private is not None
        try:
            return self._private.decrypt(wrapped, scheme)
        except ValueError:
            raise _unwrap_failed(repr(self)) from None
