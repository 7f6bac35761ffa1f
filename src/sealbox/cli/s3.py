"""``s3://bucket/key`` inputs and outputs, streamed through boto3.

The object body is the whole message: its header carries the wrapped data
keys and the encryption context, so nothing decryption needs lives in object
metadata. An upload streams in parts (multipart above 8 MiB) and either
completes or is aborted — a failed command leaves no object behind. boto3
follows the usual configuration, including ``AWS_ENDPOINT_URL_S3``.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from sealbox.cli.locations import S3_SCHEME
from sealbox.errors import ErrorCode, SealboxError, UsageError

PART_SIZE = 8 * 1024 * 1024


def parse_s3_url(url: str) -> tuple[str, str]:
    bucket, _, key = url[len(S3_SCHEME) :].partition("/")
    if not bucket or not key or key.endswith("/"):
        raise UsageError(f"{url} is not s3://BUCKET/KEY (an object, not a bucket or prefix)")
    return bucket, key


def s3_client() -> Any:
    try:
        import boto3
    except ImportError:  # pragma: no cover - boto3 comes with the kms extra
        raise UsageError("S3 needs boto3: pip install 'sealbox[kms]'") from None
    return boto3.client("s3")


def s3_failure(url: str, error: Exception) -> SealboxError:
    import botocore.exceptions

    if isinstance(error, botocore.exceptions.ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code", "error")
        if code in ("NoSuchKey", "404"):
            return UsageError(f"{url}: no such object", code=ErrorCode.INVALID_SOURCE)
        if code == "NoSuchBucket":
            return UsageError(f"{url}: no such bucket", code=ErrorCode.INVALID_SOURCE)
        return SealboxError(f"S3 {code} for {url}: {details.get('Message', '')}".rstrip(": "))
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return UsageError(
            f"no AWS credentials for {url}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or AWS_PROFILE)"
        )
    return SealboxError(f"S3 request for {url} failed: {error}")


def open_object(url: str) -> tuple[BinaryIO, int | None]:
    """The object's body as a stream, and its length."""
    import botocore.exceptions

    bucket, key = parse_s3_url(url)
    try:
        response = s3_client().get_object(Bucket=bucket, Key=key)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        raise s3_failure(url, error) from None
    body: BinaryIO = response["Body"]
    return body, response.get("ContentLength")


def upload(url: str, reader: BinaryIO, metadata: dict[str, str]) -> None:
    """Stream ``reader`` into the object; the object appears only if all of it arrived.

    An error raised while reading ``reader`` (a message that fails to verify)
    aborts the upload and is raised again unchanged.
    """
    import boto3.s3.transfer
    import botocore.exceptions

    bucket, key = parse_s3_url(url)
    config = boto3.s3.transfer.TransferConfig(
        multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE, use_threads=False
    )
    source_errors: list[BaseException] = []
    guarded = _Guarded(reader, source_errors)
    try:
        s3_client().upload_fileobj(
            guarded,
            bucket,
            key,
            ExtraArgs={"Metadata": metadata, "ContentType": "application/octet-stream"},
            Config=config,
        )
    except Exception as error:
        if source_errors:
            raise source_errors[0] from None
        if isinstance(error, botocore.exceptions.ClientError | botocore.exceptions.BotoCoreError):
            raise s3_failure(url, error) from None
        raise
    if source_errors:  # pragma: no cover - s3transfer re-raises reader errors
        raise source_errors[0]


class _Guarded:
    """A reader that remembers the error its source raised, so it is not mistaken
    for an S3 failure after s3transfer wraps it."""

    def __init__(self, reader: BinaryIO, errors: list[BaseException]) -> None:
        self._reader = reader
        self._errors = errors

    def read(self, size: int = -1) -> bytes:
        try:
            return self._reader.read(size)
        except BaseException as error:
            self._errors.append(error)
            raise
