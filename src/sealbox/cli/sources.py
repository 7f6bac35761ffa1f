"""Where a transfer's bytes come from: stdin, a file or an S3 object; and whether
input meant for decryption is a message, Base64 text of one, or neither."""

from __future__ import annotations

import os
import stat
import sys
from contextlib import ExitStack
from typing import BinaryIO

from sealbox._source import Reader, has_readinto
from sealbox.cli.codec import Base64DecodingReader, looks_base64
from sealbox.cli.job import Job
from sealbox.cli.locations import STDIO, is_s3
from sealbox.cli.progress import CountingReader, Progress
from sealbox.errors import ErrorCode, MalformedMessageError, SealboxError, UsageError

_BASE64_TEXT = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \t\r\n"
)


def open_source(job: Job, stack: ExitStack, location: str) -> tuple[BinaryIO, int | None]:
    """The input at ``location`` (closed by ``stack``) and its size, if known."""
    if location == STDIO:
        if job.progress and sys.stdin.isatty():
            # Otherwise a command waiting for typed input looks hung.
            what = "plaintext" if job.mode == "encrypt" else "message"
            print(
                f"sealbox: reading the {what} from the terminal; end with Ctrl-D, "
                "or give a file with -i",
                file=sys.stderr,
            )
            return _TerminalInput(sys.stdin.buffer), None  # type: ignore[return-value]
        return sys.stdin.buffer, _regular_size(sys.stdin.buffer)
    if is_s3(location):
        from sealbox.cli.s3 import open_object

        body, size = open_object(location)
        stack.callback(body.close)
        return body, size
    try:
        handle = stack.enter_context(open(location, "rb"))
    except OSError as error:
        raise UsageError(
            f"cannot read input {location}: {error.strerror}", code=ErrorCode.INVALID_SOURCE
        ) from None
    return handle, _regular_size(handle)


class _TerminalInput:
    """A terminal ends input once per Ctrl-D and then reads on: the first end is the end."""

    def __init__(self, terminal: BinaryIO) -> None:
        self._terminal = terminal
        self._ended = False

    def read(self, size: int = -1, /) -> bytes:
        if self._ended:
            return b""
        data = self._terminal.read(size)
        self._ended = not data  # a short read is only the end of a line
        return data


def _regular_size(handle: BinaryIO) -> int | None:
    try:
        info = os.fstat(handle.fileno())
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


class _Prefixed:
    """``source`` with bytes already read put back in front."""

    def __init__(self, prefix: bytes, source: Reader | BinaryIO) -> None:
        self._prefix = prefix
        self._source = source

    def read(self, size: int = -1, /) -> bytes:
        if not self._prefix:
            return self._source.read(size)
        head, self._prefix = self._prefix, b""
        if size < 0:
            return head + self._source.read()
        return head + self._source.read(max(0, size - len(head)))


class _PrefixedFile(_Prefixed):
    """A :class:`_Prefixed` file: the library reads it into its own reused buffers."""

    def readinto(self, buffer: memoryview, /) -> int | None:
        if not self._prefix:
            count: int | None = self._source.readinto(buffer)  # type: ignore[union-attr]
            return count
        count = min(len(buffer), len(self._prefix))
        buffer[:count] = self._prefix[:count]
        self._prefix = self._prefix[count:]
        return count


class _CountingFile(CountingReader):
    """A :class:`CountingReader` of a file: also counts what readinto() reads (kept apart,
    since the library takes the readinto() path only where the source has one)."""

    def readinto(self, buffer: memoryview, /) -> int | None:
        count: int | None = self._source.readinto(buffer)  # type: ignore[attr-defined]
        if count:
            self._progress.advance(count)
        return count


def counted(source: BinaryIO, progress: Progress) -> Reader | BinaryIO:
    """``source`` with progress reported; a file keeps its readinto()."""
    if has_readinto(source):
        return _CountingFile(source, progress)
    return CountingReader(source, progress)


def message_source(source: Reader | BinaryIO, prefix: bytes, *, force: bool) -> Reader | BinaryIO:
    """The message bytes of ``source`` (whose first bytes, ``prefix``, were read already):
    Base64 text is decoded when asked (--decode) or when it is unmistakable (a message
    in Base64 starts with 'AY' or 'Ag')."""
    if force or looks_base64(prefix):
        return Base64DecodingReader(source, prefix, asked=force)
    if has_readinto(source):
        return _PrefixedFile(prefix, source)
    return _Prefixed(prefix, source)


def not_a_message(error: MalformedMessageError, prefix: bytes, decoded: bool) -> SealboxError:
    """Suggest --decode when input that is not a message may be Base64 text of one."""
    text = prefix.strip()
    if decoded or error.code != ErrorCode.UNSUPPORTED_VERSION or not text:
        return error
    if not set(text) <= _BASE64_TEXT:
        return error
    return MalformedMessageError(f"{error}; if it is Base64 text, add --decode", code=error.code)
