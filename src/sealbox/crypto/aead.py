"""AES-GCM with 96-bit IVs and 128-bit tags, the only AEAD the formats use.

Every function refuses any other IV length before pyca sees it. A failed tag
check raises :class:`AuthenticationError` with the caller's code; ``*_into``
functions may have written unauthenticated bytes into ``out`` before failing,
so callers must discard ``out`` on error.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealbox.errors import AuthenticationError, ErrorCode, UsageError
from sealbox.format.suites import IV_LENGTH, TAG_LENGTH

# pyca's one-shot AESGCM takes at most 2^31-1 bytes; beyond that we stream.
ONE_SHOT_LIMIT = 2**31 - 1
_STREAM_STEP = 1 << 24

Buffer = bytes | bytearray | memoryview
#: (iv, input, aad, out) -> anything: a frame-at-a-time encrypt_into/decrypt_into
FrameFunction = Callable[[Buffer, Buffer, Buffer, memoryview], object]


def _check(key: Buffer, iv: Buffer) -> None:
    if len(iv) != IV_LENGTH:
        raise UsageError(f"AES-GCM IV must be {IV_LENGTH} bytes, got {len(iv)}")
    if len(key) not in (16, 24, 32):
        raise UsageError(f"AES key must be 16, 24 or 32 bytes, got {len(key)}")


class GCM:
    """AES-GCM under one key. Reuse one object per key: construction costs more than a frame."""

    __slots__ = ("_aead", "_key")

    def __init__(self, key: bytes) -> None:
        _check(key, bytes(IV_LENGTH))
        self._key = key
        self._aead = AESGCM(key)

    def twin(self) -> GCM:
        """Another object under the same key, for another thread."""
        return GCM(self._key)

    def frame_encryptor(self, frame_length: int) -> FrameFunction:
        """``encrypt_into`` for a hot loop over frames of at most ``frame_length``:
        pyca's own method when the frames fit its one-shot limit (no wrapper call)."""
        return self._aead.encrypt_into if frame_length <= ONE_SHOT_LIMIT else self.encrypt_into

    def frame_decryptor(self, frame_length: int) -> FrameFunction:
        """``decrypt_into`` for a hot loop; a tag failure raises pyca's InvalidTag
        (map it with :func:`frame_auth_failed`) or our AuthenticationError."""
        if frame_length + TAG_LENGTH <= ONE_SHOT_LIMIT:
            return self._aead.decrypt_into
        return self.decrypt_into

    def encrypt(self, iv: Buffer, plaintext: Buffer, aad: Buffer) -> bytes:
        """Return ciphertext ‖ tag."""
        _check(self._key, iv)
        return self._aead.encrypt(iv, plaintext, aad)

    def encrypt_into(self, iv: Buffer, plaintext: Buffer, aad: Buffer, out: memoryview) -> None:
        """Write ciphertext ‖ tag into ``out`` (exactly len(plaintext) + 16 bytes)."""
        if len(plaintext) > ONE_SHOT_LIMIT:
            self._stream(iv, plaintext, aad, out, encrypt=True)
        else:
            self._aead.encrypt_into(iv, plaintext, aad, out)

    def decrypt(
        self,
        iv: Buffer,
        ciphertext: Buffer,
        aad: Buffer,
        *,
        code: ErrorCode = ErrorCode.FRAME_AUTH_FAILED,
    ) -> bytes:
        """Verify and decrypt ciphertext ‖ tag."""
        _check(self._key, iv)
        try:
            return self._aead.decrypt(iv, ciphertext, aad)
        except InvalidTag:
            raise _auth_error(code) from None

    def decrypt_into(
        self,
        iv: Buffer,
        ciphertext: Buffer,
        aad: Buffer,
        out: memoryview,
        *,
        code: ErrorCode = ErrorCode.FRAME_AUTH_FAILED,
    ) -> None:
        """Verify and decrypt ciphertext ‖ tag into ``out`` (len(ciphertext) - 16 bytes)."""
        try:
            if len(ciphertext) > ONE_SHOT_LIMIT:
                self._stream(iv, ciphertext, aad, out, encrypt=False)
            else:
                self._aead.decrypt_into(iv, ciphertext, aad, out)
        except InvalidTag:
            raise _auth_error(code) from None

    def _stream(
        self, iv: Buffer, data: Buffer, aad: Buffer, out: memoryview, *, encrypt: bool
    ) -> None:
        """The same operation through the incremental API, for inputs above pyca's one-shot limit."""
        view = memoryview(data)
        body = view if encrypt else view[:-TAG_LENGTH]
        mode = modes.GCM(bytes(iv)) if encrypt else modes.GCM(bytes(iv), bytes(view[-TAG_LENGTH:]))
        cipher = Cipher(algorithms.AES(self._key), mode)
        context = cipher.encryptor() if encrypt else cipher.decryptor()
        context.authenticate_additional_data(bytes(aad))
        for start in range(0, len(body), _STREAM_STEP):
            chunk = body[start : start + _STREAM_STEP]
            out[start : start + len(chunk)] = context.update(chunk)
        context.finalize()
        if encrypt:
            out[len(body) :] = context.tag  # type: ignore[union-attr]


def frame_auth_failed() -> AuthenticationError:
    return _auth_error(ErrorCode.FRAME_AUTH_FAILED)


def _auth_error(code: ErrorCode) -> AuthenticationError:
    what = {
        ErrorCode.HEADER_AUTH_FAILED: "the header tag did not verify (the header was altered, "
        "or the encryption context supplied for authentication is wrong)",
        ErrorCode.FRAME_AUTH_FAILED: "a frame's tag did not verify (the ciphertext was altered)",
    }.get(code, "an authentication tag did not verify")
    return AuthenticationError(what, code=code)
