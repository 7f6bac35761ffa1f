"""Encrypting and decrypting an object's content, as a stream of chunks.

spec: s3-encryption/encryption.md, decryption.md, key-derivation.md.

* AES/GCM/NoPadding (V2): AES-256-GCM under the data key, a random 12-byte IV, no AAD,
  the 16-byte tag appended to the ciphertext.
* The committing suite 115 (V3): HKDF-SHA512 with a random 28-byte message id as salt
  derives a content key and a 28-byte commitment from the data key; the commitment is
  stored beside the object and checked (in constant time) before the content key is
  derived; then AES-256-GCM under the derived key with a fixed IV and the suite id as AAD.
* AES/CBC/PKCS5Padding (legacy, decrypt only): unauthenticated.

A decryptor hands back plaintext as it goes, but none of it is authenticated until
:meth:`finish` returns: callers hold it back (see ``sealbox.s3ec.body``).
"""

from __future__ import annotations

import hmac
import os
import struct
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from sealbox.errors import (
    AuthenticationError,
    ErrorCode,
    MalformedMessageError,
    NoDecryptableKeyError,
    UsageError,
)
from sealbox.s3ec.envelope import Envelope
from sealbox.s3ec.suites import (
    CBC_IV_LENGTH,
    COMMITMENT_LENGTH,
    DATA_KEY_LENGTH,
    GCM_IV_LENGTH,
    GCM_MAX_CONTENT_LENGTH,
    MESSAGE_ID_LENGTH,
    TAG_LENGTH,
    ContentCipher,
)

#: The committing suite's content IV: the derived key is unique per object, so the IV is
#: fixed — twelve 0x01 bytes, as AWS's Java, .NET and Ruby clients write (one revision
#: of the specification's encryption.md says zeros; its key-derivation.md says ones).
COMMIT_IV = b"\x01" * GCM_IV_LENGTH
_DERIVE_LABEL = b"DERIVEKEY"
#: pyca's update_into wants room for a block beyond the input.
_BLOCK_SLACK = 15
_COMMIT_LABEL = b"COMMITKEY"


def _suite_bytes(cipher: ContentCipher) -> bytes:
    return struct.pack(">H", cipher.suite_id)


def _pseudorandom_key(data_key: bytes, message_id: bytes) -> bytes:
    return HKDF.extract(hashes.SHA512(), message_id, data_key)


def _expand(prk: bytes, label: bytes, length: int) -> bytes:
    info = _suite_bytes(ContentCipher.AES_GCM_COMMIT) + label
    return HKDFExpand(hashes.SHA512(), length, info).derive(prk)


def commitment_of(data_key: bytes, message_id: bytes) -> bytes:
    """The key commitment (``x-amz-d``) of ``data_key`` for an object with ``message_id``."""
    return _expand(_pseudorandom_key(data_key, message_id), _COMMIT_LABEL, COMMITMENT_LENGTH)


def committed_content_key(data_key: bytes, message_id: bytes, commitment: bytes) -> bytes:
    """The V3 content key, once the stored commitment is checked against the data key."""
    prk = _pseudorandom_key(data_key, message_id)
    expected = _expand(prk, _COMMIT_LABEL, COMMITMENT_LENGTH)
    if not hmac.compare_digest(expected, commitment):
        raise AuthenticationError(
            "the data key does not match the object's key commitment (x-amz-d): the object "
            "or its instruction file was altered, or the wrong key unwrapped it",
            code=ErrorCode.COMMITMENT_MISMATCH,
        )
    return _expand(prk, _DERIVE_LABEL, DATA_KEY_LENGTH)


class ContentEncryptor:
    """Encrypts one object's content; its IV or message id and commitment go to the envelope."""

    def __init__(self, cipher: ContentCipher, data_key: bytes) -> None:
        if len(data_key) != DATA_KEY_LENGTH:
            raise UsageError(f"the data key must be {DATA_KEY_LENGTH} bytes, got {len(data_key)}")
        self.cipher = cipher
        self.iv = b""
        self.message_id = b""
        self.commitment = b""
        if cipher is ContentCipher.AES_GCM:
            self.iv = os.urandom(GCM_IV_LENGTH)
            key, iv, aad = data_key, self.iv, b""
        elif cipher is ContentCipher.AES_GCM_COMMIT:
            self.message_id = os.urandom(MESSAGE_ID_LENGTH)
            prk = _pseudorandom_key(data_key, self.message_id)
            self.commitment = _expand(prk, _COMMIT_LABEL, COMMITMENT_LENGTH)
            key, iv, aad = (
                _expand(prk, _DERIVE_LABEL, DATA_KEY_LENGTH),
                COMMIT_IV,
                _suite_bytes(cipher),
            )
        else:
            raise UsageError(f"{cipher.value} is for reading legacy objects only")
        self._context = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
        self._context.authenticate_additional_data(aad)
        self._length = 0

    def update(self, data: bytes | bytearray | memoryview) -> bytes:
        self._length += len(data)
        if self._length > GCM_MAX_CONTENT_LENGTH:
            raise UsageError("the object is larger than AES-GCM can encrypt under one key (64 GiB)")
        return self._context.update(data)

    def finalize(self) -> bytes:
        """The last bytes and the tag."""
        return self._context.finalize() + self._context.tag


class ContentDecryptor(Protocol):
    def update(self, data: bytes | bytearray | memoryview) -> bytes | memoryview: ...

    def finish(self) -> bytes:
        """The last plaintext; raises if the content does not authenticate or is cut short."""
        ...


def _auth_failed() -> AuthenticationError:
    return AuthenticationError(
        "the object's content did not authenticate (AES-GCM tag mismatch): its body, IV or "
        "key was altered; no plaintext was released",
        code=ErrorCode.CONTENT_AUTH_FAILED,
    )


def _truncated(what: str) -> MalformedMessageError:
    return MalformedMessageError(
        f"the object's body is cut short: {what}", code=ErrorCode.TRUNCATED
    )


class _GcmDecryptor:
    """Holds back the last 16 bytes seen, which are the tag once the body ends."""

    def __init__(self, key: bytes, iv: bytes, aad: bytes) -> None:
        self._context = Cipher(algorithms.AES(key), modes.GCM(iv)).decryptor()
        self._context.authenticate_additional_data(aad)
        self._tail = b""

    def update(self, data: bytes | bytearray | memoryview) -> bytes | memoryview:
        view = memoryview(data).cast("B")
        if len(view) < TAG_LENGTH:  # rare: a short read; fold it into the tail
            joined = self._tail + bytes(view)
            cut = max(0, len(joined) - TAG_LENGTH)
            self._tail = joined[cut:]
            return self._context.update(joined[:cut]) if cut else b""
        # The held-back tail and all but the last 16 bytes of this chunk, decrypted into
        # one buffer (no copy of the chunk or of the output).
        out = bytearray(len(view) + _BLOCK_SLACK)
        done = self._context.update_into(self._tail, out) if self._tail else 0
        done += self._context.update_into(view[:-TAG_LENGTH], memoryview(out)[done:])
        self._tail = bytes(view[-TAG_LENGTH:])
        return memoryview(out)[:done]

    def finish(self) -> bytes:
        if len(self._tail) < TAG_LENGTH:
            raise _truncated("it is shorter than the 16-byte AES-GCM tag")
        try:
            return self._context.finalize_with_tag(self._tail)
        except InvalidTag:
            raise _auth_failed() from None


class _CbcDecryptor:
    def __init__(self, key: bytes, iv: bytes) -> None:
        if len(iv) != CBC_IV_LENGTH:
            raise MalformedMessageError(
                f"x-amz-iv is {len(iv)} bytes; CBC needs {CBC_IV_LENGTH}",
                code=ErrorCode.OBJECT_METADATA_INVALID,
            )
        self._context = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        self._unpadder = padding.PKCS7(128).unpadder()
        self._length = 0

    def update(self, data: bytes | bytearray | memoryview) -> bytes:
        self._length += len(data)
        return self._unpadder.update(self._context.update(data))

    def finish(self) -> bytes:
        if self._length % 16 or not self._length:
            raise _truncated("its length is not a positive multiple of the AES block size")
        try:
            return self._unpadder.update(self._context.finalize()) + self._unpadder.finalize()
        except ValueError:
            raise AuthenticationError(
                "the object's CBC padding is invalid: wrong key, or the body was altered",
                code=ErrorCode.CONTENT_AUTH_FAILED,
            ) from None


def content_key_and_iv(envelope: Envelope, data_key: bytes) -> tuple[bytes, bytes]:
    """The AES key and the IV that encrypted the content (the commitment checked first)."""
    if len(data_key) not in (16, 24, 32):
        raise NoDecryptableKeyError("the unwrapped data key has an invalid length")
    if envelope.cipher is ContentCipher.AES_GCM_COMMIT:
        key = committed_content_key(data_key, envelope.message_id, envelope.commitment)
        return key, COMMIT_IV
    if len(envelope.iv) != envelope.cipher.iv_length:
        raise MalformedMessageError(
            f"x-amz-iv is {len(envelope.iv)} bytes; {envelope.cipher.value} needs "
            f"{envelope.cipher.iv_length}",
            code=ErrorCode.OBJECT_METADATA_INVALID,
        )
    return data_key, envelope.iv


def content_decryptor(envelope: Envelope, data_key: bytes) -> ContentDecryptor:
    key, iv = content_key_and_iv(envelope, data_key)
    if envelope.cipher is ContentCipher.AES_CBC:
        return _CbcDecryptor(key, iv)
    aad = _suite_bytes(envelope.cipher) if envelope.cipher.is_committing else b""
    return _GcmDecryptor(key, iv, aad)
