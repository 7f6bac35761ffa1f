"""Raw AES keyring: wraps data keys with a local AES-GCM key.

spec: framework/raw-aes-keyring.md. EDK layout (as the reference writes it):

* provider id   = key namespace
* provider info = key name ‖ tag length in bits (u32 = 128) ‖ IV length (u32 = 12) ‖ IV
* ciphertext    = AES-GCM(wrapping key, IV, data key, AAD = serialized encryption context) ‖ tag

A key name is text (written as UTF-8) or bytes written as given: the reference's raw
master keys take any bytes as a key id (its guide uses ``os.urandom(8)``).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence

from sealbox.crypto.aead import GCM
from sealbox.errors import AuthenticationError, ErrorCode, NoDecryptableKeyError, UsageError
from sealbox.format.context import serialize_encryption_context
from sealbox.format.header import EncryptedDataKey
from sealbox.format.suites import IV_LENGTH, TAG_LENGTH
from sealbox.keyrings.base import RESERVED_PROVIDER_PREFIX, no_match, unchanged_if_decrypted
from sealbox.materials import DecryptionMaterials, EncryptionMaterials

_INFO_TAIL = struct.Struct(">II")  # tag length in bits, IV length in bytes


def checked_key_name(key_namespace: str, key_name: str | bytes) -> bytes:
    """Check a raw keyring's namespace and key name; return the name as provider info has it."""
    if not isinstance(key_namespace, str) or not isinstance(key_name, str | bytes):
        raise UsageError("key_namespace and key_name must be str (key_name may also be bytes)")
    if not key_namespace or not key_name:
        raise UsageError("key_namespace and key_name must not be empty")
    if key_namespace.startswith(RESERVED_PROVIDER_PREFIX):
        raise UsageError(
            f"key_namespace {key_namespace!r} starts with {RESERVED_PROVIDER_PREFIX!r}, which is "
            "reserved for AWS KMS keyrings; choose another namespace"
        )
    return key_name.encode("utf-8") if isinstance(key_name, str) else key_name


class RawAESKeyring:
    """Wraps data keys under an AES-128/192/256 key you hold."""

    def __init__(self, *, key_namespace: str, key_name: str | bytes, wrapping_key: bytes) -> None:
        name = checked_key_name(key_namespace, key_name)
        if not isinstance(wrapping_key, bytes | bytearray) or len(wrapping_key) not in (16, 24, 32):
            raise UsageError(
                "wrapping_key must be 16, 24 or 32 bytes (AES-128/192/256)",
                code=ErrorCode.INVALID_KEY,
            )
        self.key_namespace = key_namespace
        self.key_name = key_name
        self._name = name
        self._wrapping_key = bytes(wrapping_key)
        self._gcm = GCM(self._wrapping_key)

    def __repr__(self) -> str:
        return f"RawAESKeyring(key_namespace={self.key_namespace!r}, key_name={self.key_name!r})"

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        if materials.plaintext_data_key is None:
            materials = materials.with_data_key(os.urandom(materials.algorithm.key_length))
        assert materials.plaintext_data_key is not None
        iv = os.urandom(IV_LENGTH)
        aad = serialize_encryption_context(materials.encryption_context)
        ciphertext = self._gcm.encrypt(iv, materials.plaintext_data_key, aad)
        info = self._name + _INFO_TAIL.pack(TAG_LENGTH * 8, IV_LENGTH) + iv
        return materials.with_encrypted_data_key(
            EncryptedDataKey(self.key_namespace, info, ciphertext)
        )

    def _iv_of(self, edk: EncryptedDataKey) -> bytes | None:
        """The IV if ``edk`` was written by this key, else None."""
        info = edk.provider_info
        name_end = len(self._name)
        if edk.provider_id != self.key_namespace or len(info) != name_end + 8 + IV_LENGTH:
            return None
        if info[:name_end] != self._name:
            return None
        tag_bits, iv_length = _INFO_TAIL.unpack_from(info, name_end)
        if tag_bits != TAG_LENGTH * 8 or iv_length != IV_LENGTH:  # not secret: lengths
            return None
        return info[name_end + 8 :]

    @unchanged_if_decrypted
    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        # The reference authenticates the canonical (sorted) serialization here.
        aad = serialize_encryption_context(materials.encryption_context)
        tried = 0
        for edk in encrypted_data_keys:
            iv = self._iv_of(edk)
            if iv is None:
                continue
            tried += 1
            try:
                data_key = self._gcm.decrypt(iv, edk.ciphertext, aad)
            except AuthenticationError:
                continue
            if len(data_key) == materials.algorithm.key_length:
                return materials.with_data_key(data_key)
        if tried == 0:
            raise no_match(repr(self), encrypted_data_keys)
        raise NoDecryptableKeyError(
            f"{self!r}: {tried} encrypted data key(s) for this key did not decrypt "
            "(a different wrapping key with the same name, or an altered message or encryption context)"
        )


def wrapping_key_of(keyring: RawAESKeyring) -> bytes:
    """The keyring's AES key, for formats that wrap with the same key in their own
    way (the S3 encryption client's ``AES/GCM``)."""
    return keyring._wrapping_key
