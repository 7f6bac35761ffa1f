"""Writing an object: its envelope, its encrypted content, and its instruction file.

The caller's other PutObject arguments go where S3 takes them, as boto3's model of
each operation says: all to PutObject; to a multipart upload's CreateMultipartUpload,
UploadPart (the SSE-C key, request-payer and owner checks) and CompleteMultipartUpload
(conditions such as IfNoneMatch) those each takes; the server-side encryption and owner
settings to the instruction file too. Checksums and lengths of the plaintext are
refused: they cannot describe the encrypted body (boto3 computes the body's own).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sealbox.errors import UsageError
from sealbox.format.suites import CommitmentPolicy
from sealbox.s3ec.content import ContentEncryptor
from sealbox.s3ec.envelope import INSTRUCTION_SUFFIX, Envelope, FormatVersion
from sealbox.s3ec.suites import cipher_for_writing
from sealbox.s3ec.transfer import upload_encrypted
from sealbox.s3ec.wrapping import KeyWrapper

_RESERVED_METADATA_PREFIX = "x-amz-"
#: How S3 should checksum what it is sent: the encrypted body, so these are kept.
_CHECKSUM_SETTINGS = frozenset(("ChecksumAlgorithm", "ChecksumType"))
#: The arguments that select or unlock an object, repeated on every request about it.
PER_REQUEST = frozenset(
    (
        "SSECustomerAlgorithm",
        "SSECustomerKey",
        "SSECustomerKeyMD5",
        "RequestPayer",
        "ExpectedBucketOwner",
    )
)
#: Arguments the instruction file shares with its object.
_INSTRUCTION_FILE_ARGUMENTS = PER_REQUEST | frozenset(
    ("ServerSideEncryption", "SSEKMSKeyId", "SSEKMSEncryptionContext", "BucketKeyEnabled")
)


def _checked_request(request: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The caller's metadata and the rest of its arguments, both checked."""
    digests = sorted(
        k
        for k in request
        if k in ("ContentMD5", "ContentLength")
        or (k.startswith("Checksum") and k not in _CHECKSUM_SETTINGS)
    )
    if digests:
        raise UsageError(
            f"{digests[0]} would describe the plaintext, not the encrypted object; leave it "
            "out (boto3 checksums the body it sends)"
        )
    user_metadata = dict(request.pop("Metadata", None) or {})
    taken = [k for k in user_metadata if k.lower().startswith(_RESERVED_METADATA_PREFIX)]
    if taken:
        raise UsageError(
            f"metadata key {taken[0]!r}: keys starting with {_RESERVED_METADATA_PREFIX!r} "
            "are the S3 encryption client's"
        )
    return user_metadata, request


def put_encrypted(
    s3: Any,
    wrapper: KeyWrapper,
    policy: CommitmentPolicy,
    *,
    bucket: str,
    key: str,
    reader: Any,
    size: int | None,
    context: Mapping[str, str],
    instruction_file: bool,
    part_size: int,
    request: dict[str, Any],
) -> dict[str, Any]:
    """Encrypt ``reader`` into s3://bucket/key; returns S3's answer for the object."""
    user_metadata, request = _checked_request(request)
    cipher = cipher_for_writing(policy)
    wrapped = wrapper.new_data_key(cipher, context)
    encryptor = ContentEncryptor(cipher, wrapped.data_key)
    version = FormatVersion.V3 if cipher.is_committing else FormatVersion.V2
    envelope = Envelope(
        version=version,
        cipher=cipher,
        wrapping=wrapped.wrapping,
        encrypted_key=wrapped.encrypted_key,
        iv=encryptor.iv,
        material_description=wrapped.material_description,
        kms_context=wrapped.kms_context,
        plaintext_length=size if version is FormatVersion.V2 else None,
        message_id=encryptor.message_id,
        commitment=encryptor.commitment,
    )
    on_object, in_file = envelope.split() if instruction_file else (envelope.metadata(), {})
    target = {"Bucket": bucket, "Key": key, "Metadata": {**user_metadata, **on_object}}
    answer = upload_encrypted(
        s3,
        reader,
        encryptor,
        part_size=part_size,
        put={**request, **target},
        create=_taken_by(s3, "CreateMultipartUpload", request) | target,
        part=_taken_by(s3, "UploadPart", request),
        complete=_taken_by(s3, "CompleteMultipartUpload", request),
    )
    if in_file:
        shared = {k: v for k, v in request.items() if k in _INSTRUCTION_FILE_ARGUMENTS}
        _put_instruction_file(s3, bucket, key, in_file, shared)
    return answer


def _taken_by(s3: Any, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of ``request`` that S3's ``operation`` takes."""
    members = s3.meta.service_model.operation_model(operation).input_shape.members
    return {k: v for k, v in request.items() if k in members}


def _put_instruction_file(
    s3: Any, bucket: str, key: str, entries: dict[str, str], shared: dict[str, Any]
) -> None:
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key + INSTRUCTION_SUFFIX,
            Body=json.dumps(entries, separators=(",", ":")).encode(),
            **shared,
        )
    except BaseException:
        # The object without its instruction file cannot be read: take it away.
        s3.delete_object(Bucket=bucket, Key=key, **_owner(shared))
        raise


def _owner(shared: Mapping[str, Any]) -> dict[str, Any]:
    return {k: shared[k] for k in ("ExpectedBucketOwner", "RequestPayer") if k in shared}
