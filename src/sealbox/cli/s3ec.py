"""S3 objects in the S3 encryption client format on the command line.

``sealbox encrypt … -o s3://B/K --s3-format s3ec`` writes an object AWS's S3
encryption clients read (the envelope in its metadata, or with
``--s3-instruction-file`` in ``K.instruction``). ``sealbox decrypt -i s3://B/K``
recognises such an object by its metadata or its instruction file and decrypts it
with the ``-w`` keys; ``-c`` is the object's encryption context, matched exactly as
AWS's clients match it. The plaintext is released only after the object has
authenticated.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import Any

from sealbox.cli.job import Job
from sealbox.cli.locations import STDIO, Transfer, is_s3
from sealbox.cli.metadata import location_name
from sealbox.cli.output import atomic_output
from sealbox.cli.progress import CountingReader, Progress
from sealbox.cli.s3 import parse_s3_url, s3_client, s3_failure, upload
from sealbox.cli.sources import open_source
from sealbox.errors import UsageError

log = logging.getLogger("sealbox.cli")

_MARKER = "sealbox-content"  # on the ESDK message objects Sealbox writes


def _client(job: Job) -> Any:
    from sealbox.s3ec import S3EncryptionClient

    return S3EncryptionClient(
        keyring=job.keyring,
        s3_client=s3_client(),
        commitment_policy=job.commitment_policy,
        write_instruction_files=job.s3_instruction_file,
        enable_legacy_unauthenticated_modes=job.s3_legacy,
        enable_legacy_wrapping_algorithms=job.s3_legacy,
    )


def handles(job: Job, transfer: Transfer) -> bool:
    """Whether ``transfer`` is one for the S3 encryption client format."""
    if job.mode == "encrypt":
        if job.s3_format != "s3ec":
            return False
        if not is_s3(transfer.target):
            raise UsageError(
                f"--s3-format s3ec writes S3 objects: give -o s3://BUCKET/KEY, not {transfer.target}"
            )
        return True
    return is_s3(transfer.source) and _is_s3ec_object(transfer.source)


def _is_s3ec_object(url: str) -> bool:
    """An S3 encryption client object has its envelope in its metadata or an instruction file."""
    from sealbox.s3ec.envelope import INSTRUCTION_SUFFIX, version_of

    bucket, key = parse_s3_url(url)
    found = _head(url, bucket, key)
    if found is None:
        return False  # no such object: the usual path reports it
    metadata = {k.lower(): v for k, v in (found.get("Metadata") or {}).items()}
    if _MARKER in metadata:
        return False
    if version_of(metadata) is not None:
        return True
    # Without s3:ListBucket, S3 answers 403 for a missing object: no instruction file then.
    return _head(url, bucket, key + INSTRUCTION_SUFFIX, absent=("403", "AccessDenied")) is not None


def _head(
    url: str, bucket: str, key: str, *, absent: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """The object's HEAD answer, or None if there is no such object."""
    import botocore.exceptions

    try:
        answer: dict[str, Any] = s3_client().head_object(Bucket=bucket, Key=key)
        return answer
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchKey", "NotFound", *absent):
            return None
        raise s3_failure(url, error) from None
    except botocore.exceptions.BotoCoreError as error:
        raise s3_failure(url, error) from None


def process(job: Job, transfer: Transfer) -> None:
    import botocore.exceptions

    try:
        if job.mode == "encrypt":
            _encrypt(job, transfer)
        else:
            _decrypt(job, transfer)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        url = transfer.target if job.mode == "encrypt" else transfer.source
        raise s3_failure(url, error) from None
    log.info(
        "%s %s -> %s (S3 encryption client format)", job.mode, transfer.source, transfer.target
    )


def _encrypt(job: Job, transfer: Transfer) -> None:
    bucket, key = parse_s3_url(transfer.target)
    with ExitStack() as stack:
        source, size = open_source(job, stack, transfer.source)
        progress = Progress(transfer.source, size, enabled=job.progress)
        _client(job).upload_fileobj(
            CountingReader(source, progress), bucket, key, EncryptionContext=job.context
        )
        progress.finish()
    _record(job, transfer)


def _decrypt(job: Job, transfer: Transfer) -> None:
    if job.required_keys:
        raise UsageError(
            f"{transfer.source} is an S3 encryption client object, whose encryption context "
            f"must be given whole as KEY=VALUE pairs; bare keys {job.required_keys} cannot be checked"
        )
    bucket, key = parse_s3_url(transfer.source)
    client = _client(job)
    target = transfer.target
    if target == STDIO:
        _refuse_terminal()
    if target != STDIO and not is_s3(target):
        with atomic_output(target, make_parents=transfer.into_directory) as sink:
            # Unverified bytes reach only the temporary file, renamed into place once
            # the whole object has authenticated.
            client.download_fileobj(bucket, key, sink, EncryptionContext=job.context)
        _record(job, transfer)
        return
    got = client.get_object(Bucket=bucket, Key=key, EncryptionContext=job.context)
    with got["Body"] as body:  # already authenticated: see sealbox.s3ec.body
        if is_s3(target):
            from sealbox._version import __version__

            upload(target, body, {"sealbox-version": __version__})
        else:
            _write_stdout(body)
    _record(job, transfer)


def _refuse_terminal() -> None:
    import sys

    if sys.stdout.isatty():
        raise UsageError(
            "refusing to write binary data to a terminal; redirect it (> FILE) or use -o FILE"
        )


def _write_stdout(body: Any) -> None:
    import sys

    for chunk in body.iter_chunks():
        sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()


def _record(job: Job, transfer: Transfer) -> None:
    job.metadata.write(
        {
            "mode": job.mode,
            "input": location_name(transfer.source, "<stdin>"),
            "output": location_name(transfer.target, "<stdout>"),
            "format": "s3-encryption-client",
            "encryption_context": dict(job.context),
        }
    )


def check_flags(job: Job) -> None:
    """Refuse flags that mean nothing for S3 encryption client objects, or without them."""
    if job.s3_instruction_file and job.s3_format != "s3ec":
        raise UsageError("--s3-instruction-file needs --s3-format s3ec")
    if job.mode == "encrypt" and job.s3_format == "s3ec":
        for given, flag in (
            (job.algorithm is not None, "--algorithm"),
            (job.frame_length != 4096, "--frame-length"),
            (job.encode, "--encode"),
            (job.caching, "--caching"),
        ):
            if given:
                raise UsageError(
                    f"{flag} is for Encryption SDK messages; the S3 encryption client format "
                    "has one content cipher (AES-256-GCM) and no frames"
                )
