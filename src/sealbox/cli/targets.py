"""Where a transfer's output goes: stdout, a file (written whole, then renamed into
place) or an S3 object; and whether an existing file may be replaced."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator

from sealbox._version import __version__
from sealbox.cli.codec import Base64Encoder
from sealbox.cli.crypt_pump import pump
from sealbox.cli.job import Job
from sealbox.cli.locations import STDIO, Transfer, is_s3
from sealbox.cli.output import atomic_output
from sealbox.errors import SealboxError, UsageError
from sealbox.format.header import MessageHeader

log = logging.getLogger("sealbox.cli")

_CHUNK = 1 << 20


class Output:
    """The command's output as chunks (for files) or a reader (for S3), Base64 if asked."""

    def __init__(self, stream: Iterator[bytes], *, encode: bool) -> None:
        self._stream = None if encode else stream
        self._chunks = self._encoded(stream) if encode else stream
        self._pending = bytearray()

    def copy_to(self, write: Callable[[memoryview], object]) -> None:
        """All of it, through ``write``: in place through reused buffers when the stream
        can fill them (its bytes as they are), else chunk by chunk."""
        if self._stream is not None and hasattr(self._stream, "readinto"):
            pump(self._stream, write)  # type: ignore[arg-type]
            return
        for chunk in self._chunks:
            write(memoryview(chunk))

    @staticmethod
    def _encoded(stream: Iterator[bytes]) -> Iterator[bytes]:
        encoder = Base64Encoder()
        for chunk in stream:
            yield encoder.feed(chunk)
        yield encoder.finish()

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def read(self, size: int = -1, /) -> bytes:
        while size < 0 or len(self._pending) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending += chunk
        if size < 0:
            size = len(self._pending)
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data


def _write_stdout(output: Output, *, buffer: bool) -> None:
    sink = sys.stdout.buffer
    if not buffer:
        output.copy_to(sink.write)
        sink.flush()
        return
    # -b: release nothing until the whole message (and its signature) has verified
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as spool:
        for chunk in output:
            spool.write(chunk)
        spool.seek(0)
        shutil.copyfileobj(spool, sink, _CHUNK)
    sink.flush()


def may_write(job: Job, transfer: Transfer) -> bool:
    """Whether ``transfer`` may write its target (asking or warning as the flags say)."""
    target = transfer.target
    if target == STDIO or is_s3(target) or not os.path.exists(target):
        return True
    if transfer.stripped and job.overwrite == "always":
        # The name is one sealbox chose (often the original plaintext's): never replace it silently.
        raise SealboxError(
            f"{target} exists, and decrypting {transfer.source} would replace it; move it "
            f"away, add --interactive to be asked, or --suffix .decrypted to write "
            f"{target}.encrypted.decrypted"
        )
    if job.overwrite == "never":
        log.warning("skipping %s: the output %s exists (--no-overwrite)", target, target)
        return False
    if job.overwrite == "ask":
        try:
            with (
                open("/dev/tty", "w", encoding="utf-8") as prompt,
                open("/dev/tty", encoding="utf-8") as reply,
            ):
                prompt.write(f"overwrite {target}? [y/N] ")
                prompt.flush()
                answer = reply.readline().strip().lower()
        except OSError:
            raise UsageError("--interactive needs a terminal to ask on") from None
        if answer not in ("y", "yes"):
            log.warning("skipping %s: not overwritten", target)
            return False
        return True
    log.warning("overwriting %s", target)
    return True


def deliver(job: Job, transfer: Transfer, output: Output, header: MessageHeader) -> None:
    target = transfer.target
    if target == STDIO:
        if not job.encode and sys.stdout.isatty():
            raise UsageError(
                "refusing to write binary data to a terminal; redirect it (> FILE), use -o FILE, "
                "or add --encode for Base64 text"
            )
        _write_stdout(output, buffer=job.buffer)
    elif is_s3(target):
        from sealbox.cli.s3 import upload

        metadata = {"sealbox-version": __version__}
        if job.mode == "encrypt":
            metadata["sealbox-content"] = "aws-encryption-sdk-message"
            metadata["sealbox-algorithm"] = f"0x{header.algorithm.suite_id:04X}"
        upload(target, output, metadata)  # type: ignore[arg-type]
    else:
        with atomic_output(target, make_parents=transfer.into_directory) as sink:
            output.copy_to(sink.write)
