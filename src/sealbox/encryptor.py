"""Write one message: header, frames, final frame, footer.

This is the single place that composes encryption, from asking the materials
manager for materials to the signature; the one-shot API and the encrypting
stream both drive a :class:`MessageEncryptor`. Frames are written
many per call straight into the caller's buffer with one AES-GCM object per
message, and for signed suites the written bytes are hashed on a second
thread while the next batch is encrypted.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping

from sealbox.cmm import CryptoMaterialsManager, EncryptionMaterialsRequest, check_encrypt_policy
from sealbox.crypto.aead import GCM
from sealbox.crypto.hashing import BackgroundHasher
from sealbox.crypto.kdf import derive_message_keys
from sealbox.crypto.signing import sign_digest
from sealbox.errors import ErrorCode, LimitExceededError, UsageError
from sealbox.format.body import (
    FINAL_FRAME_HEADER,
    FINAL_FRAME_LABEL,
    FINAL_FRAME_MARKER,
    FINAL_FRAME_OVERHEAD,
    MAX_ENCRYPT_FRAME_LENGTH,
    MAX_FRAME_COUNT,
    REGULAR_FRAME_LABEL,
    REGULAR_FRAME_OVERHEAD,
    body_aad,
    framed_body_length,
    serialize_footer,
)
from sealbox.format.context import serialize_encryption_context
from sealbox.format.header import MessageHeader, serialize_header_auth, serialize_header_body
from sealbox.format.suites import IV_LENGTH, Algorithm, CommitmentPolicy, ContentType
from sealbox.frame_runs import PARALLEL_FROM, Worker, encrypt_run
from sealbox.materials import EncryptionMaterials

DEFAULT_FRAME_LENGTH = 4096

_FINAL_PREFIX = struct.Struct(">IIQII")  # marker, sequence, IV (8 zero bytes ‖ sequence), length


def check_frame_length(frame_length: int) -> None:
    if isinstance(frame_length, bool) or not isinstance(frame_length, int):
        raise UsageError("frame_length must be an int", code=ErrorCode.INVALID_FRAME_LENGTH)
    if frame_length == 0:
        raise UsageError(
            "frame_length 0 would write a non-framed message, which the specification forbids; "
            f"use a frame length from 1 to {MAX_ENCRYPT_FRAME_LENGTH} (default {DEFAULT_FRAME_LENGTH})",
            code=ErrorCode.INVALID_FRAME_LENGTH,
        )
    if not 0 < frame_length <= MAX_ENCRYPT_FRAME_LENGTH:
        raise UsageError(
            f"frame_length must be from 1 to {MAX_ENCRYPT_FRAME_LENGTH}, got {frame_length}",
            code=ErrorCode.INVALID_FRAME_LENGTH,
        )


def _max_signature_length(materials: EncryptionMaterials) -> int:
    curve = materials.algorithm.signature
    if curve is None:
        return 0
    order_bytes = (curve.compressed_point_length - 1) + 1  # an integer may need a leading zero
    return 2 + 2 * (2 + order_bytes)  # DER SEQUENCE of two INTEGERs


class MessageEncryptor:
    """Encrypts one message in pieces under materials from ``materials_manager``.
    Use :meth:`header_bytes`, then :meth:`encrypt_frames` any number of times,
    then :meth:`finish` once."""

    def __init__(
        self,
        *,
        materials_manager: CryptoMaterialsManager,
        commitment_policy: CommitmentPolicy,
        encryption_context: Mapping[str, str],
        algorithm: Algorithm | None = None,
        plaintext_length: int | None = None,
        frame_length: int = DEFAULT_FRAME_LENGTH,
        max_encrypted_data_keys: int | None = None,
    ) -> None:
        materials = materials_manager.get_encryption_materials(
            EncryptionMaterialsRequest(
                encryption_context=encryption_context,
                commitment_policy=commitment_policy,
                algorithm=algorithm,
                plaintext_length=plaintext_length,
            )
        )
        # The manager may be the caller's own: check what it chose against the policy.
        check_encrypt_policy(commitment_policy, materials.algorithm)
        check_frame_length(frame_length)
        edks = materials.encrypted_data_keys
        if max_encrypted_data_keys is not None and len(edks) > max_encrypted_data_keys:
            raise LimitExceededError(
                f"the keyring produced {len(edks)} encrypted data keys, more than "
                f"max_encrypted_data_keys={max_encrypted_data_keys}",
                code=ErrorCode.EDK_LIMIT_EXCEEDED,
            )
        assert materials.plaintext_data_key is not None
        algorithm = materials.algorithm
        message_id = os.urandom(algorithm.message_id_length)
        key, commitment = derive_message_keys(algorithm, materials.plaintext_data_key, message_id)
        required = materials.required_encryption_context_keys
        context = materials.encryption_context
        self.header = MessageHeader(
            algorithm=algorithm,
            message_id=message_id,
            encryption_context={k: v for k, v in context.items() if k not in required},
            encrypted_data_keys=edks,
            frame_length=frame_length,
            content_type=ContentType.FRAMED,
            commitment=commitment,
        )
        self._gcm = GCM(key)
        body = serialize_header_body(self.header)
        # Pairs kept out of the header are still authenticated by the header tag.
        auth_only = serialize_encryption_context({k: context[k] for k in required})
        zero_iv = bytes(IV_LENGTH)
        tag = self._gcm.encrypt(zero_iv, b"", body + auth_only)
        self._header_bytes = body + serialize_header_auth(algorithm.message_version, zero_iv, tag)
        self.frame_length = frame_length
        self._message_id = message_id
        self._sequence = 1
        self._aad = bytearray(body_aad(message_id, REGULAR_FRAME_LABEL, 0, frame_length))
        self._aad_sequence_at = len(message_id) + len(REGULAR_FRAME_LABEL)
        self._signing_key = materials.signing_key
        self._footer_room = 2 + _max_signature_length(materials) if algorithm.signature else 0
        self._hasher = (
            BackgroundHasher(algorithm.signature.hash_name) if algorithm.signature else None
        )
        if self._hasher is not None:
            self._hasher.update(self._header_bytes)

    @property
    def header_bytes(self) -> bytes:
        return self._header_bytes

    def message_size_bound(self, plaintext_length: int) -> int:
        """An upper bound of the whole message's size (exact but for the signature)."""
        return (
            len(self._header_bytes)
            + framed_body_length(plaintext_length, self.frame_length)
            + self._footer_room
        )

    def frames_size(self, plaintext_length: int) -> int:
        """Bytes :meth:`encrypt_frames` writes for ``plaintext_length`` (a frame multiple)."""
        return plaintext_length // self.frame_length * (self.frame_length + REGULAR_FRAME_OVERHEAD)

    def finish_size_bound(self, remainder_length: int) -> int:
        return FINAL_FRAME_OVERHEAD + remainder_length + self._footer_room

    def encrypt_frames(
        self, plaintext: memoryview | bytes, out: memoryview, *, hash_now: bool = True
    ) -> int:
        """Encrypt ``plaintext`` (a whole number of frames) as regular frames into ``out``.

        A signed message's frames are hashed as they are written, on the hasher's
        thread: ``out`` must not change until :meth:`wait_hashed` (or :meth:`finish`)
        returns. With ``hash_now=False`` the caller hands the same bytes, in order,
        to :meth:`absorb` instead (e.g. once they are an immutable ``bytes``)."""
        frame = self.frame_length
        count, rest = divmod(len(plaintext), frame)
        if rest:
            raise AssertionError("sealbox: internal error: encrypt_frames needs whole frames")
        first = self._sequence
        if first + count > MAX_FRAME_COUNT:
            raise UsageError(
                f"the plaintext needs more than {MAX_FRAME_COUNT - 1} frames of {frame} bytes; "
                "use a larger frame_length",
                code=ErrorCode.INVALID_FRAME_LENGTH,
            )
        hasher = self._hasher if hash_now else None
        aad, at = self._aad, self._aad_sequence_at
        parallel = hasher is None and 0 < PARALLEL_FROM <= len(plaintext)
        split = count // 2 if parallel else 0
        if split:
            # Unsigned and large: the second half on another core (pyca releases the GIL).
            size = self.frames_size(split * frame)
            worker = Worker(
                encrypt_run,
                self._gcm.twin(),
                frame,
                first + split,
                plaintext[split * frame :],
                out[size:],
                bytearray(aad),
                at,
                None,
            )
            try:
                encrypt_run(self._gcm, frame, first, plaintext[: split * frame], out, aad, at, None)
            finally:
                written = worker.result()
            position = size + written
        else:
            position = encrypt_run(self._gcm, frame, first, plaintext, out, aad, at, hasher)
        self._sequence = first + count
        return position

    def absorb(self, written: bytes) -> None:
        """Hash frames written with ``hash_now=False`` (in order, before :meth:`finish`)."""
        if self._hasher is not None:
            self._hasher.update(written)

    @property
    def hash_token(self) -> int:
        """A token for :meth:`wait_hashed` that covers every byte written so far."""
        return 0 if self._hasher is None else self._hasher.token

    def wait_hashed(self, token: int | None = None) -> None:
        """Return once the bytes written up to ``token`` (all, if None) are hashed: the
        caller may then change their buffer. Safe to call from another thread."""
        if self._hasher is not None:
            self._hasher.wait(self._hasher.token if token is None else token)

    def finish(self, remainder: memoryview | bytes, out: memoryview) -> int:
        """Write the final frame (``remainder`` shorter than a frame) and the footer."""
        length = len(remainder)
        if length >= self.frame_length:
            raise AssertionError("sealbox: internal error: the final frame must be short")
        sequence = self._sequence
        _FINAL_PREFIX.pack_into(out, 0, FINAL_FRAME_MARKER, sequence, 0, sequence, length)
        aad = body_aad(self._message_id, FINAL_FRAME_LABEL, sequence, length)
        end = FINAL_FRAME_OVERHEAD + length
        self._gcm.encrypt_into(out[8:20], remainder, aad, out[FINAL_FRAME_HEADER:end])
        if self._hasher is None:
            return end
        assert self._signing_key is not None and self.header.algorithm.signature is not None
        self._hasher.update(bytes(out[:end]))
        digest = self._hasher.digest()
        footer = serialize_footer(
            sign_digest(self._signing_key, self.header.algorithm.signature, digest)
        )
        out[end : end + len(footer)] = footer
        return end + len(footer)

    def close(self) -> None:
        """Release the hashing thread (after an error)."""
        if self._hasher is not None:
            self._hasher.close()
