"""Where a message's body and footer lie, found without any key.

Used by ``sealbox inspect`` and by offline checks of signed messages. Walks
the frame structure only; nothing here authenticates anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sealbox.errors import ErrorCode, MalformedMessageError
from sealbox.format.body import (
    FINAL_FRAME_HEADER,
    FINAL_FRAME_MARKER,
    NON_FRAMED_HEADER,
    REGULAR_FRAME_OVERHEAD,
)
from sealbox.format.header import ParsedHeader
from sealbox.format.reader import Reader
from sealbox.format.suites import TAG_LENGTH, ContentType


@dataclass(frozen=True, slots=True)
class MessageLayout:
    header_length: int
    body_end: int  # where the footer starts (or the message ends)
    frame_count: int  # 1 for a non-framed body
    content_length: int
    signature: bytes  # b"" for unsigned suites


def message_layout(data: bytes | memoryview, parsed: ParsedHeader) -> MessageLayout:
    """Walk the body after ``parsed`` and read the footer; raise MessageError if malformed."""
    header = parsed.header
    reader = Reader(data, parsed.length)
    if header.content_type is ContentType.NON_FRAMED:
        reader.take(NON_FRAMED_HEADER - 8, "the body IV")
        length = reader.u64("the body length")
        reader.take(length + TAG_LENGTH, "the body")
        frames = 1
    else:
        frames = length = 0
        while True:
            sequence = reader.u32("a frame sequence number")
            if sequence == FINAL_FRAME_MARKER:
                reader.take(FINAL_FRAME_HEADER - 8, "the final frame header")
                final = reader.u32("the final frame length")
                reader.take(final + TAG_LENGTH, "the final frame")
                frames += 1
                length += final
                break
            if sequence != frames + 1:
                raise MalformedMessageError(
                    f"frames out of order: expected {frames + 1}, found {sequence}",
                    code=ErrorCode.FRAME_SEQUENCE,
                )
            reader.take(header.frame_length + REGULAR_FRAME_OVERHEAD - 4, "a frame")
            frames += 1
            length += header.frame_length
    body_end = reader.pos
    signature = b""
    if header.algorithm.is_signing:
        if reader.remaining == 0:
            raise MalformedMessageError("the footer is missing", code=ErrorCode.SIGNATURE_MISSING)
        signature = reader.take(reader.u16("the signature length"), "the signature")
    if reader.remaining:
        raise MalformedMessageError(
            f"{reader.remaining} bytes follow the end of the message", code=ErrorCode.TRAILING_DATA
        )
    return MessageLayout(parsed.length, body_end, frames, length, signature)
