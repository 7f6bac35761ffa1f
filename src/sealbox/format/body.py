"""Message body layouts: framed (regular and final frames) and non-framed.

spec: data-format/message-body.md, data-format/message-body-aad.md.

Regular frame: ``seq:u32 ‖ IV(12) ‖ ciphertext(frame length) ‖ tag(16)``.
Final frame:   ``FFFFFFFF ‖ seq:u32 ‖ IV(12) ‖ len:u32 ‖ ciphertext(len) ‖ tag(16)``.
Non-framed:    ``IV(12) ‖ len:u64 ‖ ciphertext(len) ‖ tag(16)``.
Body AAD:      ``message id ‖ label ‖ seq:u32 ‖ content length:u64``.
"""

from __future__ import annotations

import struct

from sealbox.format.suites import IV_LENGTH, TAG_LENGTH

REGULAR_FRAME_LABEL = b"AWSKMSEncryptionClient Frame"
FINAL_FRAME_LABEL = b"AWSKMSEncryptionClient Final Frame"
SINGLE_BLOCK_LABEL = b"AWSKMSEncryptionClient Single Block"

FINAL_FRAME_MARKER = 0xFFFFFFFF
MAX_FRAME_COUNT = 0xFFFFFFFF  # the final frame's number is a u32 and cannot be the marker
# The format allows frames up to 2^32-1, but the reference package cannot read
# frames above 2^31-1, so we do not write them.
MAX_ENCRYPT_FRAME_LENGTH = 0x7FFFFFFF
MAX_NON_FRAMED_LENGTH = 2**36 - 32
# Decrypt default for untrusted input: a frame (or a non-framed body) is held whole
# until its tag verifies, so this bounds a stream's memory (about 3x it at the
# peak). 64 MiB is 16,384 default (4 KiB) frames, far past any length that is
# chosen for speed; the format allows 2^32-1 (2^36-32 non-framed).
DEFAULT_MAX_BODY_LENGTH = 64 << 20

REGULAR_FRAME_OVERHEAD = 4 + IV_LENGTH + TAG_LENGTH
FINAL_FRAME_HEADER = 4 + 4 + IV_LENGTH + 4  # marker, seq, IV, content length
FINAL_FRAME_OVERHEAD = FINAL_FRAME_HEADER + TAG_LENGTH
NON_FRAMED_HEADER = IV_LENGTH + 8

_AAD_TAIL = struct.Struct(">IQ")


def body_aad(message_id: bytes, label: bytes, sequence: int, content_length: int) -> bytes:
    """The AAD of one frame or of a non-framed body."""
    return message_id + label + _AAD_TAIL.pack(sequence, content_length)


def regular_frame_count(plaintext_length: int, frame_length: int) -> int:
    """Full frames before the final one. A plaintext that is an exact multiple of
    the frame length ends with an empty final frame, as the reference writes it."""
    return plaintext_length // frame_length


def framed_body_length(plaintext_length: int, frame_length: int) -> int:
    regular = regular_frame_count(plaintext_length, frame_length)
    final = plaintext_length - regular * frame_length
    return regular * (frame_length + REGULAR_FRAME_OVERHEAD) + final + FINAL_FRAME_OVERHEAD


def serialize_footer(signature: bytes) -> bytes:
    return struct.pack(">H", len(signature)) + signature
