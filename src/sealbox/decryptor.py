"""Read one message incrementally: header, body, footer.

This is the single place that composes decryption. :meth:`MessageDecryptor.step`
consumes whatever complete pieces the given bytes hold and writes the
plaintext it may release into ``out``:

* nothing before the header tag, the commitment and the materials check out
  (:mod:`sealbox.header_check`);
* a regular frame only after its own tag verifies;
* the final frame (and a non-framed body) of a signed message only after the
  signature verifies; of an unsigned message after its tag verifies.

The one-shot API calls ``step`` once with the whole message; the decrypting
stream calls it as bytes arrive. Bytes handed to ``step`` must not change
until the decryptor is done with them (they may be hashed on another thread).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from enum import Enum, auto

from cryptography.exceptions import InvalidTag

from sealbox.cmm import CryptoMaterialsManager
from sealbox.crypto.aead import GCM, frame_auth_failed
from sealbox.crypto.hashing import HASH_BATCH, BackgroundHasher
from sealbox.crypto.signing import verify_digest
from sealbox.errors import (
    AuthenticationError,
    ErrorCode,
    MalformedMessageError,
    MessageError,
    truncated,
)
from sealbox.format.body import (
    DEFAULT_MAX_BODY_LENGTH,
    FINAL_FRAME_HEADER,
    FINAL_FRAME_LABEL,
    FINAL_FRAME_MARKER,
    MAX_NON_FRAMED_LENGTH,
    NON_FRAMED_HEADER,
    REGULAR_FRAME_LABEL,
    REGULAR_FRAME_OVERHEAD,
    SINGLE_BLOCK_LABEL,
    body_aad,
)
from sealbox.format.header import (
    DEFAULT_MAX_HEADER_SIZE,
    MessageHeader,
    parse_header,
)
from sealbox.format.suites import TAG_LENGTH, CommitmentPolicy, ContentType
from sealbox.frame_runs import PARALLEL_FROM, decrypt_in_two, frames_in_order
from sealbox.header_check import accept_header, body_too_large
from sealbox.materials import DecryptionMaterials

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_FINAL = struct.Struct(">II12sI")  # marker, sequence, IV, content length
_NON_FRAMED = struct.Struct(">12sQ")  # IV, content length


class _Stage(Enum):
    HEADER = auto()
    FRAMES = auto()
    NON_FRAMED = auto()
    FOOTER = auto()
    DONE = auto()


def _sequence_error(expected: int, found: int) -> MalformedMessageError:
    return MalformedMessageError(
        f"frames out of order: expected frame {expected}, found {found} "
        "(frames were dropped, duplicated or reordered)",
        code=ErrorCode.FRAME_SEQUENCE,
    )


class MessageDecryptor:
    """Decrypts one message fed to :meth:`step` in order."""

    def __init__(
        self,
        *,
        materials_manager: CryptoMaterialsManager,
        commitment_policy: CommitmentPolicy,
        max_encrypted_data_keys: int | None = None,
        encryption_context: Mapping[str, str] | None = None,
        unsigned_only: bool = False,
        max_body_length: int | None = DEFAULT_MAX_BODY_LENGTH,
        max_header_size: int | None = DEFAULT_MAX_HEADER_SIZE,
    ) -> None:
        self._cmm = materials_manager
        self._policy = commitment_policy
        self._max_edks = max_encrypted_data_keys
        self._reproduced = dict(encryption_context or {})
        self._unsigned_only = unsigned_only
        self._max_body = max_body_length
        self._max_header = max_header_size
        self._stage = _Stage.HEADER
        self.header: MessageHeader | None = None  # set once the header is authenticated
        self.materials: DecryptionMaterials | None = None
        self._gcm: GCM | None = None
        self._hasher: BackgroundHasher | None = None
        self._sequence = 1
        self._held: bytes | bytearray = (
            b""  # a signed message's last plaintext, until its signature verifies
        )
        self._aad = bytearray()
        self._aad_sequence_at = 0
        self._deferred: MessageError | None = None
        self._in = 0  # bytes of the current step's data consumed
        self._out = 0  # bytes of the current step's output written

    @property
    def done(self) -> bool:
        return self._stage is _Stage.DONE

    def wanted(self) -> int:
        """A good number of bytes to read next (frame-aligned once the header is known)."""
        if self.header is None and self._max_header is not None:
            return min(1 << 16, self._max_header)  # never read past what a header may take
        if self.header is None or self.header.content_type is ContentType.NON_FRAMED:
            return 1 << 16
        frame = self.header.frame_length + REGULAR_FRAME_OVERHEAD
        return max(1, (1 << 20) // frame) * frame

    def needed(self, data: memoryview) -> int:
        """How many bytes (``data`` included) the next :meth:`step` needs to make
        progress, given the unconsumed ``data`` the last step left. A stream reads
        until it holds that many, so each piece is assembled with one copy."""
        if self._stage is _Stage.HEADER:
            # The header's length is unknown until it parses: double what we hold
            # (parsing stays linear overall), but never past the header limit.
            more = max(len(data) + 1, 2 * len(data))
            return more if self._max_header is None else min(more, max(1, self._max_header))
        if self._stage is _Stage.FRAMES:
            return self._frame_needed(data)
        if self._stage is _Stage.NON_FRAMED and len(data) >= NON_FRAMED_HEADER:
            # The step before this one already refused a length over the limit.
            _, length = _NON_FRAMED.unpack_from(data)
            return int(NON_FRAMED_HEADER + length + TAG_LENGTH)
        if self._stage is _Stage.FOOTER and len(data) >= 2:
            return 2 + int(_U16.unpack_from(data)[0])
        minimum = {_Stage.NON_FRAMED: NON_FRAMED_HEADER, _Stage.FOOTER: 2}
        return max(len(data) + 1, minimum.get(self._stage, 1))

    def _frame_needed(self, data: memoryview) -> int:
        assert self.header is not None
        if len(data) < 4:
            return 4
        if _U32.unpack_from(data)[0] != FINAL_FRAME_MARKER:
            return self.header.frame_length + REGULAR_FRAME_OVERHEAD
        if len(data) < FINAL_FRAME_HEADER:
            return FINAL_FRAME_HEADER
        # The step before this one already refused a final frame over the frame length.
        length = int(_FINAL.unpack_from(data)[3])
        return FINAL_FRAME_HEADER + length + TAG_LENGTH

    def output_bound(self, data_length: int) -> int:
        """Room ``out`` needs in a :meth:`step` over ``data_length`` bytes."""
        return data_length + len(self._held)

    def step(self, data: memoryview, out: memoryview, *, eof: bool) -> tuple[int, int]:
        """Consume complete pieces of ``data``; return (bytes consumed, bytes written to ``out``).

        ``out`` must have room for :meth:`output_bound` bytes. With ``eof`` the input is
        complete: a message that has not ended fails with ``TRUNCATED`` (or
        ``SIGNATURE_MISSING``). Bytes after the end fail with ``TRAILING_DATA``.

        If an error strikes after some plaintext was verified in this call, that
        plaintext is returned first and the error is raised by the next call
        (and by :meth:`finish`), so a stream releases exactly what verified.
        """
        if self._deferred is not None:
            raise self._deferred
        self._in = self._out = 0
        try:
            self._advance(data, out, eof=eof)
        except MessageError as error:
            if self._out == 0:
                raise
            self._deferred = error
        return self._in, self._out

    def finish(self) -> None:
        """Raise any deferred error; the one-shot API calls this after its single step."""
        if self._deferred is not None:
            raise self._deferred
        if not self.done:
            raise AssertionError("sealbox: internal error: finish() before the message ended")

    def _advance(self, data: memoryview, out: memoryview, *, eof: bool) -> None:
        if self._stage is _Stage.HEADER and not self._read_header(data, eof=eof):
            return
        if self._stage is _Stage.FRAMES:
            self._read_frames(data, out)
        elif self._stage is _Stage.NON_FRAMED:
            self._read_non_framed(data, out)
        if self._stage is _Stage.FOOTER:
            self._read_footer(data)
        if self._stage is _Stage.DONE:
            if self._held:
                out[self._out : self._out + len(self._held)] = self._held
                self._out += len(self._held)
                self._held = b""
            left = len(data) - self._in
            if left:
                raise MalformedMessageError(
                    f"{left} bytes follow the end of the message; Sealbox refuses trailing data "
                    "(the reference SDK ignores it)",
                    code=ErrorCode.TRAILING_DATA,
                )
        elif eof:
            self._fail_incomplete(len(data) - self._in)

    def _fail_incomplete(self, left: int) -> None:
        if self._stage is _Stage.FOOTER and left == 0:
            raise MalformedMessageError(
                "the message ends without its signature (footer missing)",
                code=ErrorCode.SIGNATURE_MISSING,
            )
        where = {_Stage.FRAMES: "the framed body", _Stage.NON_FRAMED: "the body"}
        raise truncated(where.get(self._stage, "the footer"))

    # -- header -----------------------------------------------------------------

    def _read_header(self, data: memoryview, *, eof: bool) -> bool:
        """Parse, authenticate and accept the header; False if more bytes are needed."""
        try:
            parsed = parse_header(
                data, max_encrypted_data_keys=self._max_edks, max_header_size=self._max_header
            )
        except MessageError as error:
            if error.code is ErrorCode.TRUNCATED and not eof:
                return False
            raise
        materials, gcm = accept_header(
            parsed,
            materials_manager=self._cmm,
            commitment_policy=self._policy,
            reproduced=self._reproduced,
            unsigned_only=self._unsigned_only,
            max_body_length=self._max_body,
        )
        header = parsed.header
        algorithm = header.algorithm
        self._gcm = gcm
        self.materials = materials
        self.header = header
        if algorithm.signature is not None:
            self._hasher = BackgroundHasher(algorithm.signature.hash_name)
            self._hasher.update(bytes(data[: parsed.length]))
        self._stage = (
            _Stage.FRAMES if header.content_type is ContentType.FRAMED else _Stage.NON_FRAMED
        )
        if self._stage is _Stage.FRAMES:
            self._aad = bytearray(
                body_aad(header.message_id, REGULAR_FRAME_LABEL, 0, header.frame_length)
            )
            self._aad_sequence_at = len(header.message_id) + len(REGULAR_FRAME_LABEL)
        self._in = parsed.length
        return True

    # -- body -------------------------------------------------------------------

    def _read_frames(self, data: memoryview, out: memoryview) -> None:
        """Decrypt every complete frame; stop at the first incomplete one."""
        assert self._gcm is not None and self.header is not None
        frame = self.header.frame_length
        frame_size = frame + REGULAR_FRAME_OVERHEAD
        end = len(data)
        decrypt_into = self._gcm.frame_decryptor(frame)
        unpack = _U32.unpack_from
        set_sequence = _U32.pack_into
        aad, at = self._aad, self._aad_sequence_at
        hasher = self._hasher
        expected = self._sequence
        position = batch_start = self._in
        produced = self._out
        final = False
        try:
            if hasher is None and 0 < PARALLEL_FROM <= end - position:
                count = frames_in_order(data, position, frame_size, expected)
                if count * frame >= PARALLEL_FROM:  # unsigned and large: on two cores
                    verified = decrypt_in_two(
                        self._gcm, frame, expected, count, data, position, out, produced, aad, at
                    )
                    position += verified * frame_size
                    produced += verified * frame
                    expected += verified
                    if verified < count:
                        raise frame_auth_failed()
            while position + 4 <= end:
                (sequence,) = unpack(data, position)
                if sequence == FINAL_FRAME_MARKER:
                    final = True
                    break
                if sequence != expected:
                    raise _sequence_error(expected, sequence)
                if position + frame_size > end:
                    break
                set_sequence(aad, at, sequence)
                decrypt_into(
                    data[position + 4 : position + 16],
                    data[position + 16 : position + frame_size],
                    aad,
                    out[produced : produced + frame],
                )
                position += frame_size
                produced += frame
                expected += 1
                if hasher is not None and position - batch_start >= HASH_BATCH:
                    hasher.update(data[batch_start:position])
                    batch_start = position
        except (InvalidTag, AuthenticationError) as error:
            # decrypt_into wrote the failed frame's plaintext before checking its tag:
            # leave none of it in the caller's buffer.
            out[produced : produced + frame] = bytes(frame)
            if isinstance(error, AuthenticationError):
                raise
            raise frame_auth_failed() from None
        finally:
            # Only frames whose tags verified count as consumed and released.
            self._sequence = expected
            self._in, self._out = position, produced
        if hasher is not None and position > batch_start:
            hasher.update(data[batch_start:position])
        if final:
            self._read_final_frame(data, out)

    def _read_final_frame(self, data: memoryview, out: memoryview) -> None:
        assert self._gcm is not None and self.header is not None
        start = self._in
        if len(data) - start < FINAL_FRAME_HEADER:
            return
        _, sequence, iv, length = _FINAL.unpack_from(data, start)
        if sequence != self._sequence:
            raise _sequence_error(self._sequence, sequence)
        if length > self.header.frame_length:
            raise MalformedMessageError(
                f"final frame content length {length} exceeds the frame length "
                f"{self.header.frame_length}",
                code=ErrorCode.FINAL_FRAME_TOO_LONG,
            )
        end = start + FINAL_FRAME_HEADER + length + TAG_LENGTH
        if len(data) < end:
            return
        aad = body_aad(self.header.message_id, FINAL_FRAME_LABEL, sequence, length)
        plaintext = self._gcm.decrypt(iv, data[start + FINAL_FRAME_HEADER : end], aad)
        self._release_last(plaintext, out, data[start:end])

    def _read_non_framed(self, data: memoryview, out: memoryview) -> None:
        assert self._gcm is not None and self.header is not None
        start = self._in
        if len(data) - start < NON_FRAMED_HEADER:
            return
        iv, length = _NON_FRAMED.unpack_from(data, start)
        if length > MAX_NON_FRAMED_LENGTH:
            raise MalformedMessageError(
                f"non-framed content length {length} exceeds the format's limit {MAX_NON_FRAMED_LENGTH}",
                code=ErrorCode.HEADER_INVALID,
            )
        if self._max_body is not None and length > self._max_body:
            raise body_too_large(f"non-framed content length {length}", self._max_body)
        end = start + NON_FRAMED_HEADER + length + TAG_LENGTH
        if len(data) < end:
            return
        aad = body_aad(self.header.message_id, SINGLE_BLOCK_LABEL, 1, length)
        plaintext = bytearray(length)
        self._gcm.decrypt_into(
            iv, data[start + NON_FRAMED_HEADER : end], aad, memoryview(plaintext)
        )
        self._release_last(plaintext, out, data[start:end])

    def _release_last(
        self, plaintext: bytes | bytearray, out: memoryview, wire: memoryview
    ) -> None:
        """The body's last plaintext: into ``out`` now if unsigned; held until the
        signature verifies if signed."""
        self._in += len(wire)
        if self._hasher is None:
            out[self._out : self._out + len(plaintext)] = plaintext
            self._out += len(plaintext)
            self._stage = _Stage.DONE
            return
        self._hasher.update(wire)
        self._held = plaintext
        self._stage = _Stage.FOOTER

    # -- footer -----------------------------------------------------------------

    def _read_footer(self, data: memoryview) -> None:
        assert self._hasher is not None and self.materials is not None and self.header is not None
        start = self._in
        if len(data) - start < 2:
            return
        (length,) = _U16.unpack_from(data, start)
        if len(data) - start < 2 + length:
            return
        signature = bytes(data[start + 2 : start + 2 + length])
        curve = self.header.algorithm.signature
        assert self.materials.verification_key is not None and curve is not None
        verify_digest(self.materials.verification_key, curve, self._hasher.digest(), signature)
        self._in = start + 2 + length
        self._stage = _Stage.DONE

    @property
    def hash_token(self) -> int:
        """A token for :meth:`wait_hashed`: covers the input bytes consumed so far."""
        return 0 if self._hasher is None else self._hasher.token

    def wait_hashed(self, token: int) -> None:
        """Return once the input consumed up to ``token`` is hashed: its buffer may change."""
        if self._hasher is not None:
            self._hasher.wait(token)

    def close(self) -> None:
        """Release the hashing thread (after an error or when abandoned)."""
        if self._hasher is not None:
            self._hasher.close()
