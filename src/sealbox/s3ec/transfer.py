"""Moving encrypted bytes to and from S3: one PUT or a multipart upload, and a
download that appears at its destination only once it has authenticated."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sealbox.errors import UsageError
from sealbox.s3ec.content import ContentEncryptor

#: Plaintext per uploaded part (S3's minimum part is 5 MiB; the last may be smaller).
DEFAULT_PART_SIZE = 8 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024


def read_full(reader: Any, size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end of ``reader``."""
    chunks: list[bytes] = []
    wanted = size
    while wanted > 0:
        chunk = reader.read(wanted)
        if not chunk:
            break
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise UsageError(
                f"the body's read() returned {type(chunk).__name__}, not bytes: open files "
                "in binary mode ('rb')"
            )
        chunks.append(bytes(chunk))
        wanted -= len(chunks[-1])
    return b"".join(chunks)


def upload_encrypted(
    s3: Any,
    reader: Any,
    encryptor: ContentEncryptor,
    *,
    part_size: int,
    put: dict[str, Any],
    create: dict[str, Any],
    part: dict[str, Any],
    complete: dict[str, Any],
) -> dict[str, Any]:
    """Encrypt ``reader`` into the object the arguments name: ``put`` for one PutObject;
    ``create``, ``part`` (repeated on every part) and ``complete`` for a multipart upload.

    Input that fits one part goes up in one PutObject; larger input streams through
    a multipart upload holding one part in memory, which is aborted on any error so
    that no object (and no stray parts) is left behind."""
    first = read_full(reader, part_size)
    if len(first) < part_size:
        answer: dict[str, Any] = s3.put_object(
            **put, Body=encryptor.update(first) + encryptor.finalize()
        )
        return answer
    created = s3.create_multipart_upload(**create)
    target = {"Bucket": create["Bucket"], "Key": create["Key"], "UploadId": created["UploadId"]}
    try:
        parts = []
        for number, body in enumerate(_encrypted_parts(first, reader, encryptor, part_size), 1):
            sent = s3.upload_part(**target, **part, PartNumber=number, Body=body)
            parts.append({"PartNumber": number, "ETag": sent["ETag"]})
        result: dict[str, Any] = s3.complete_multipart_upload(
            **target, **complete, MultipartUpload={"Parts": parts}
        )
        return result
    except BaseException:
        owner = {k: v for k, v in part.items() if k in ("ExpectedBucketOwner", "RequestPayer")}
        s3.abort_multipart_upload(**target, **owner)
        raise


def _encrypted_parts(
    first: bytes, reader: Any, encryptor: ContentEncryptor, part_size: int
) -> Iterator[bytes]:
    """Each part as soon as it is read; the tag joins the last (short, or empty) one, so
    every part but the last is a full ``part_size`` and one part is in memory at a time."""
    chunk = first
    while len(chunk) == part_size:
        yield encryptor.update(chunk)
        chunk = read_full(reader, part_size)
    yield encryptor.update(chunk) + encryptor.finalize()


def size_of(body: Any) -> int | None:
    """The plaintext length, when it can be known before reading (bytes, a file)."""
    if isinstance(body, bytes | bytearray | memoryview):
        return memoryview(body).nbytes
    try:
        if body.seekable():
            here = body.tell()
            end = body.seek(0, os.SEEK_END)
            body.seek(here)
            return int(end - here)
    except (AttributeError, OSError, ValueError):
        return None
    return None


@contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A temporary file beside ``path`` that replaces it (fsynced) only if the block
    finishes; on any error it is removed and ``path`` is untouched."""
    target = Path(path)
    handle = tempfile.NamedTemporaryFile(
        dir=target.parent or ".", prefix=f".{target.name}.", suffix=".partial", delete=False
    )
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
