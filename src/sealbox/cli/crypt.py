"""``sealbox encrypt`` and ``sealbox decrypt``: stream messages between files, pipes and S3.

One command may process many files (``-r``, globs); each is a
:class:`~sealbox.cli.locations.Transfer` done on its own, and its output
appears only once it is complete (a file is renamed into place, an S3 upload
completes). With several files, a failure is reported and the rest continue;
the exit status is then 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

import sealbox
from sealbox._source import Reader
from sealbox.cli.codec import Base64DecodingReader, Base64Encoder, looks_base64
from sealbox.cli.locations import STDIO, Naming, Transfer, is_s3, plan
from sealbox.cli.metadata import MetadataWriter, header_record, location_name
from sealbox.cli.output import atomic_output
from sealbox.cli.progress import CountingReader, Progress
from sealbox.cli.wrapping import keyring_from_groups
from sealbox.errors import ErrorCode, MalformedMessageError, SealboxError, UsageError
from sealbox.format.body import DEFAULT_MAX_BODY_LENGTH
from sealbox.format.header import DEFAULT_MAX_HEADER_SIZE, MessageHeader
from sealbox.format.suites import Algorithm, CommitmentPolicy
from sealbox.keyrings.base import Keyring

log = logging.getLogger("sealbox.cli")

Mode = Literal["encrypt", "decrypt", "decrypt-unsigned"]
Overwrite = Literal["always", "never", "ask"]
_CHUNK = 1 << 20
_PEEK = 64  # bytes of a message input looked at before decrypting (Base64 detection, hints)
_BASE64_TEXT = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \t\r\n"
)


@dataclass
class Job:
    """What every file of one command shares."""

    mode: Mode
    client: sealbox.EncryptionClient
    keyring: Keyring
    materials_manager: Any  # a caching CMM when --caching is given
    context: dict[str, str]
    required_keys: list[str]
    metadata: MetadataWriter
    overwrite: Overwrite
    encode: bool
    decode: bool
    buffer: bool
    progress: bool
    algorithm: Algorithm | None = None
    frame_length: int = 4096
    max_length: int | None = DEFAULT_MAX_BODY_LENGTH
    max_header_size: int | None = DEFAULT_MAX_HEADER_SIZE


def _pairs(groups: Iterable[list[str]], *, bare_keys: bool) -> tuple[dict[str, str], list[str]]:
    context: dict[str, str] = {}
    required: list[str] = []
    for word in (w for group in groups for w in group):
        key, sep, value = word.partition("=")
        if not key:
            raise UsageError(f"encryption context entry {word!r} has no key")
        if not sep:
            if not bare_keys:
                raise UsageError(f"encryption context entry {word!r} is not KEY=VALUE")
            required.append(key)
            continue
        if key in context and context[key] != value:
            raise UsageError(f"encryption context key {key!r} given twice with different values")
        context[key] = value
    return context, required


_CACHING_LIMITS = {
    "capacity": int,
    "max_age": float,
    "max_messages_encrypted": int,
    "max_bytes_encrypted": int,
}


def _caching(words: list[str] | None, keyring: Keyring) -> Any:
    if words is None:
        return None
    settings: dict[str, Any] = {}
    for word in words:
        name, _, value = word.partition("=")
        kind = _CACHING_LIMITS.get(name)
        if kind is None:
            raise UsageError(f"--caching {word}: use {'=N '.join(_CACHING_LIMITS)}=N")
        try:
            settings[name] = kind(value)
        except ValueError:
            raise UsageError(f"--caching {word}: {value!r} is not a number") from None
    missing = [n for n in ("capacity", "max_age") if n not in settings]
    if missing:
        raise UsageError(
            f"--caching needs {' and '.join(f'{n}=' for n in missing)} (e.g. capacity=10 max_age=60)"
        )
    cache = sealbox.LocalCryptoMaterialsCache(settings.pop("capacity"))
    return sealbox.CachingCryptoMaterialsManager(cache=cache, keyring=keyring, **settings)


def _job(args: argparse.Namespace, mode: Mode) -> Job:
    context, required = _pairs(args.encryption_context, bare_keys=mode != "encrypt")
    keyring = keyring_from_groups(args.wrapping_keys, "encrypt" if mode == "encrypt" else "decrypt")
    if args.metadata_output is not None and args.metadata_output == args.output == STDIO:
        raise UsageError("--metadata-output - and output to stdout would mix; send one to a file")
    overwrite: Overwrite = "never" if args.no_overwrite else "ask" if args.interactive else "always"
    return Job(
        mode=mode,
        client=sealbox.EncryptionClient(
            commitment_policy=CommitmentPolicy(args.commitment_policy),
            max_encrypted_data_keys=args.max_encrypted_data_keys,
        ),
        keyring=keyring,
        materials_manager=_caching(args.caching, keyring),
        context=context,
        required_keys=required,
        metadata=MetadataWriter(args.metadata_output, overwrite=args.overwrite_metadata),
        overwrite=overwrite,
        encode=args.encode,
        decode=args.decode,
        buffer=args.buffer,
        progress=not args.quiet,
        algorithm=Algorithm.from_name(args.algorithm) if getattr(args, "algorithm", None) else None,
        frame_length=getattr(args, "frame_length", 4096),
        max_length=getattr(args, "max_length", DEFAULT_MAX_BODY_LENGTH),
        max_header_size=getattr(args, "max_header_size", DEFAULT_MAX_HEADER_SIZE),
    )


# -- inputs -------------------------------------------------------------------------------------


def _open_source(job: Job, stack: ExitStack, location: str) -> tuple[BinaryIO, int | None]:
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


def _message_source(source: Reader | BinaryIO, prefix: bytes, *, force: bool) -> Reader | BinaryIO:
    """The message bytes of ``source`` (whose first bytes, ``prefix``, were read already):
    Base64 text is decoded when asked (--decode) or when it is unmistakable (a message
    in Base64 starts with 'AY' or 'Ag')."""
    if force or looks_base64(prefix):
        return Base64DecodingReader(source, prefix, asked=force)
    return _Prefixed(prefix, source)


def _not_a_message(error: MalformedMessageError, prefix: bytes, decoded: bool) -> SealboxError:
    """Suggest --decode when input that is not a message may be Base64 text of one."""
    text = prefix.strip()
    if decoded or error.code != ErrorCode.UNSUPPORTED_VERSION or not text:
        return error
    if not set(text) <= _BASE64_TEXT:
        return error
    return MalformedMessageError(f"{error}; if it is Base64 text, add --decode", code=error.code)


# -- outputs ------------------------------------------------------------------------------------


class _Output:
    """The command's output as chunks (for files) or a reader (for S3), Base64 if asked."""

    def __init__(self, stream: Iterator[bytes], *, encode: bool) -> None:
        self._chunks = self._encoded(stream) if encode else stream
        self._pending = bytearray()

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


def _write_stdout(output: _Output, *, buffer: bool) -> None:
    sink = sys.stdout.buffer
    if not buffer:
        for chunk in output:
            sink.write(chunk)
        sink.flush()
        return
    # -b: release nothing until the whole message (and its signature) has verified
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as spool:
        for chunk in output:
            spool.write(chunk)
        spool.seek(0)
        shutil.copyfileobj(spool, sink, _CHUNK)
    sink.flush()


def _may_write(job: Job, transfer: Transfer) -> bool:
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


def _deliver(job: Job, transfer: Transfer, output: _Output, header: MessageHeader) -> None:
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

        metadata = {"sealbox-version": sealbox.__version__}
        if job.mode == "encrypt":
            metadata["sealbox-content"] = "aws-encryption-sdk-message"
            metadata["sealbox-algorithm"] = f"0x{header.algorithm.suite_id:04X}"
        upload(target, output, metadata)  # type: ignore[arg-type]
    else:
        with atomic_output(target, make_parents=transfer.into_directory) as sink:
            for chunk in output:
                sink.write(chunk)


# -- one transfer -------------------------------------------------------------------------------


def _materials(job: Job) -> dict[str, Any]:
    if job.materials_manager is not None:
        return {"materials_manager": job.materials_manager}
    return {"keyring": job.keyring}


def _encrypt_stream(job: Job, source: Reader | BinaryIO, size: int | None) -> Any:
    if job.decode:
        source, size = Base64DecodingReader(source), None
    return job.client.stream(
        mode="encrypt",
        source=source,
        encryption_context=job.context,
        algorithm=job.algorithm,
        frame_length=job.frame_length,
        source_length=size,
        **_materials(job),
    )


def _decrypt_stream(job: Job, source: Reader | BinaryIO, prefix: bytes) -> Any:
    return job.client.stream(
        mode=job.mode,
        source=_message_source(source, prefix, force=job.decode),
        encryption_context=job.context,
        max_body_length=job.max_length,
        max_header_size=job.max_header_size,
        **_materials(job),
    )


def _check_required_keys(job: Job, transfer: Transfer, header: MessageHeader) -> None:
    missing = [k for k in job.required_keys if k not in header.encryption_context]
    if missing:
        job.metadata.write(
            {
                "mode": job.mode,
                "input": location_name(transfer.source, "<stdin>"),
                "output": location_name(transfer.target, "<stdout>"),
                "skipped": True,
                "reason": "Missing encryption context key or value",
                "missing_encryption_context_keys": missing,
            }
        )
        raise SealboxError(
            f"the message's encryption context lacks required keys {missing}",
            code=ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
        )


def _open_stream(job: Job, stack: ExitStack, source: Reader | BinaryIO, size: int | None) -> Any:
    """The library stream for ``source``, its header read."""
    if job.mode == "encrypt":
        return stack.enter_context(_encrypt_stream(job, source, size))
    prefix = source.read(_PEEK)
    try:
        stream = stack.enter_context(_decrypt_stream(job, source, prefix))
        stream.header  # noqa: B018 - the header is where a non-message fails
    except MalformedMessageError as error:
        raise _not_a_message(error, prefix, job.decode) from None
    return stream


def _process(job: Job, transfer: Transfer) -> None:
    if not _may_write(job, transfer):
        return
    with ExitStack() as stack:
        source, size = _open_source(job, stack, transfer.source)
        progress = Progress(transfer.source, size, enabled=job.progress)
        stream = _open_stream(job, stack, CountingReader(source, progress), size)
        header = stream.header
        if job.mode != "encrypt":
            _check_required_keys(job, transfer, header)
        _deliver(job, transfer, _Output(stream, encode=job.encode), header)
        progress.finish()
    log.info("%s %s -> %s", job.mode, transfer.source, transfer.target)
    job.metadata.write(
        {
            "mode": job.mode,
            "input": location_name(transfer.source, "<stdin>"),
            "output": location_name(transfer.target, "<stdout>"),
            "header": header_record(header),
        }
    )


def _naming(args: argparse.Namespace, mode: Mode) -> Naming:
    """--suffix appends as in aws-encryption-cli; without it decrypt undoes encrypt's suffix."""
    if args.suffix is not None:
        return Naming(args.suffix)
    if mode == "encrypt":
        return Naming(".encrypted")
    return Naming(".decrypted", strip=".encrypted")


def _run(args: argparse.Namespace, mode: Mode) -> int:
    transfers = plan(args.input, args.output, recursive=args.recursive, naming=_naming(args, mode))
    job = _job(args, mode)
    failures = 0
    try:
        if len(transfers) == 1:
            _process(job, transfers[0])
            return 0
        for transfer in transfers:
            try:
                _process(job, transfer)
            except SealboxError as error:
                failures += 1
                print(f"sealbox: error: {transfer.source}: {error}", file=sys.stderr)
    finally:
        job.metadata.close()
    if failures:
        print(f"sealbox: {failures} of {len(transfers)} files failed", file=sys.stderr)
    return 1 if failures else 0


def run_encrypt(args: argparse.Namespace) -> int:
    return _run(args, "encrypt")


def run_decrypt(args: argparse.Namespace) -> int:
    return _run(args, "decrypt-unsigned" if args.decrypt_unsigned else "decrypt")
