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
import sys
from contextlib import ExitStack
from typing import BinaryIO

from sealbox._source import Reader
from sealbox.cli import s3ec
from sealbox.cli.codec import Base64DecodingReader
from sealbox.cli.job import Job, Mode, build_job
from sealbox.cli.locations import Naming, Transfer, plan
from sealbox.cli.metadata import header_record, location_name
from sealbox.cli.progress import Progress
from sealbox.cli.sources import counted, message_source, not_a_message, open_source
from sealbox.cli.targets import Output, deliver, may_write
from sealbox.errors import ErrorCode, MalformedMessageError, SealboxError
from sealbox.format.header import MessageHeader
from sealbox.streaming import StreamDecryptor, StreamEncryptor

log = logging.getLogger("sealbox.cli")

_PEEK = 64  # bytes of a message input looked at before decrypting (Base64 detection, hints)


def _encrypt_stream(
    job: Job, source: Reader | BinaryIO, size: int | None
) -> StreamEncryptor | StreamDecryptor:
    if job.decode:
        source, size = Base64DecodingReader(source), None
    return job.client.stream(
        mode="encrypt",
        source=source,
        materials_manager=job.materials_manager,
        encryption_context=job.context,
        algorithm=job.algorithm,
        frame_length=job.frame_length,
        source_length=size,
    )


def _decrypt_stream(
    job: Job, source: Reader | BinaryIO, prefix: bytes
) -> StreamEncryptor | StreamDecryptor:
    return job.client.stream(
        mode=job.mode,
        source=message_source(source, prefix, force=job.decode),
        materials_manager=job.materials_manager,
        encryption_context=job.context,
        max_body_length=job.max_length,
        max_header_size=job.max_header_size,
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


def _open_stream(
    job: Job, stack: ExitStack, source: Reader | BinaryIO, size: int | None
) -> StreamEncryptor | StreamDecryptor:
    """The library stream for ``source``, its header read."""
    if job.mode == "encrypt":
        stream = _encrypt_stream(job, source, size)
        stack.enter_context(stream)
        return stream
    prefix = source.read(_PEEK)
    try:
        stream = _decrypt_stream(job, source, prefix)
        stack.enter_context(stream)
        stream.header  # noqa: B018 - the header is where a non-message fails
    except MalformedMessageError as error:
        raise not_a_message(error, prefix, job.decode) from None
    return stream


def _process(job: Job, transfer: Transfer) -> None:
    if not may_write(job, transfer):
        return
    if s3ec.handles(job, transfer):
        s3ec.process(job, transfer)
        return
    with ExitStack() as stack:
        source, size = open_source(job, stack, transfer.source)
        progress = Progress(transfer.source, size, enabled=job.progress)
        stream = _open_stream(job, stack, counted(source, progress), size)
        header = stream.header
        if job.mode != "encrypt":
            _check_required_keys(job, transfer, header)
        deliver(job, transfer, Output(stream, encode=job.encode), header)
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
    job = build_job(args, mode)
    s3ec.check_flags(job)
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
