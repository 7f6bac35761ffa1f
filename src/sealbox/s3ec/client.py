"""``S3EncryptionClient``: a boto3 S3 client that encrypts objects as AWS's S3
encryption clients (Java, Go, .NET, C++, PHP, Ruby) do, and reads what they write.

    s3ec = S3EncryptionClient(s3_client=boto3.client("s3"), keyring=AwsKmsKeyring(
        generator_key_id="arn:aws:kms:…"))
    s3ec.put_object(Bucket="b", Key="k", Body=b"…", EncryptionContext={"purpose": "demo"})
    body = s3ec.get_object(Bucket="b", Key="k", EncryptionContext={"purpose": "demo"})["Body"]

Writes the key-committing V3 format by default (``commitment_policy``), the V2 format
with ``FORBID_ENCRYPT_ALLOW_DECRYPT`` for readers that predate it. Reads V2 and V3;
legacy V1/CBC objects and legacy key wrappings only when opted in. See docs/s3.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sealbox.errors import ErrorCode, PolicyError, SealboxError, UsageError
from sealbox.format.suites import CommitmentPolicy
from sealbox.s3ec.body import VerifiedBody, decrypt_into
from sealbox.s3ec.content import content_decryptor
from sealbox.s3ec.envelope import INSTRUCTION_SUFFIX, Envelope, object_metadata, version_of
from sealbox.s3ec.keys import wrappers_for
from sealbox.s3ec.ranges import get_range
from sealbox.s3ec.reading import (
    check_length,
    check_read_policy,
    find_envelope,
    needs_instruction_file,
    unwrap_data_key,
)
from sealbox.s3ec.transfer import DEFAULT_PART_SIZE, MIN_PART_SIZE, atomic_file, size_of
from sealbox.s3ec.wrapping import KeyWrapper
from sealbox.s3ec.writing import PER_REQUEST, put_encrypted


class S3EncryptionClient:
    """Encrypts on ``put_object``/``upload_file``, decrypts on ``get_object``/``download_file``.

    ``keyring``: one of Sealbox's keyrings (see :mod:`sealbox.s3ec.keys`).
    ``material_description``: stored with objects a raw AES/RSA key writes (not secret,
    not authenticated: it tells readers which key to use).
    ``write_instruction_files``: put the envelope in ``KEY.instruction`` rather than in
    the object's metadata (each ``put_object`` may say otherwise with ``InstructionFile=``).
    ``enable_legacy_unauthenticated_modes``: read CBC objects and ranged gets, neither
    of which is authenticated. ``enable_legacy_wrapping_algorithms``: read data keys
    wrapped the old clients' ways (``kms``, ``AESWrap``, AES-ECB, RSA PKCS#1 v1.5, …).
    """

    def __init__(
        self,
        *,
        keyring: Any,
        s3_client: Any = None,
        commitment_policy: CommitmentPolicy = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
        material_description: Mapping[str, str] | None = None,
        write_instruction_files: bool = False,
        enable_legacy_unauthenticated_modes: bool = False,
        enable_legacy_wrapping_algorithms: bool = False,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if not isinstance(commitment_policy, CommitmentPolicy):
            raise UsageError("commitment_policy must be a sealbox CommitmentPolicy")
        if part_size < MIN_PART_SIZE:
            raise UsageError(
                f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum part)"
            )
        described = dict(material_description or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in described.items()):
            raise UsageError("material_description keys and values must be str")
        self._wrappers: list[KeyWrapper] = wrappers_for(keyring, described)
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        self.s3 = s3_client
        self.commitment_policy = commitment_policy
        self.write_instruction_files = write_instruction_files
        self.enable_legacy_unauthenticated_modes = enable_legacy_unauthenticated_modes
        self.enable_legacy_wrapping_algorithms = enable_legacy_wrapping_algorithms
        self.part_size = part_size

    # writing

    def put_object(
        self,
        *,
        Bucket: str,  # noqa: N803 - boto3's parameter names
        Key: str,  # noqa: N803
        Body: Any = b"",  # noqa: N803
        EncryptionContext: Mapping[str, str] | None = None,  # noqa: N803
        InstructionFile: bool | None = None,  # noqa: N803
        **request: Any,
    ) -> dict[str, Any]:
        """Encrypt ``Body`` (bytes or a readable file object, streamed with one part in
        memory) into the object. Other arguments go to S3 unchanged (ContentType, …)."""
        if isinstance(Body, str):
            raise UsageError("Body must be bytes or a binary file object, not str")
        reader = _BytesReader(Body) if isinstance(Body, bytes | bytearray | memoryview) else Body
        return self._put(
            Bucket, Key, reader, size_of(Body), EncryptionContext, InstructionFile, request
        )

    def upload_fileobj(
        self,
        Fileobj: Any,  # noqa: N803
        Bucket: str,  # noqa: N803
        Key: str,  # noqa: N803
        ExtraArgs: Mapping[str, Any] | None = None,  # noqa: N803
        *,
        EncryptionContext: Mapping[str, str] | None = None,  # noqa: N803
        InstructionFile: bool | None = None,  # noqa: N803
    ) -> None:
        """Stream a file object into the object (multipart above ``part_size``)."""
        self._put(
            Bucket,
            Key,
            Fileobj,
            size_of(Fileobj),
            EncryptionContext,
            InstructionFile,
            dict(ExtraArgs or {}),
        )

    def upload_file(
        self,
        Filename: str | os.PathLike[str],  # noqa: N803
        Bucket: str,  # noqa: N803
        Key: str,  # noqa: N803
        ExtraArgs: Mapping[str, Any] | None = None,  # noqa: N803
        *,
        EncryptionContext: Mapping[str, str] | None = None,  # noqa: N803
        InstructionFile: bool | None = None,  # noqa: N803
    ) -> None:
        with open(Filename, "rb") as handle:
            self.upload_fileobj(
                handle,
                Bucket,
                Key,
                ExtraArgs,
                EncryptionContext=EncryptionContext,
                InstructionFile=InstructionFile,
            )

    def _put(
        self,
        bucket: str,
        key: str,
        reader: Any,
        size: int | None,
        context: Mapping[str, str] | None,
        instruction_file: bool | None,
        request: dict[str, Any],
    ) -> dict[str, Any]:
        return put_encrypted(
            self.s3,
            self._wrappers[0],
            self.commitment_policy,
            bucket=bucket,
            key=key,
            reader=reader,
            size=size,
            context=dict(context or {}),
            instruction_file=(
                self.write_instruction_files if instruction_file is None else instruction_file
            ),
            part_size=self.part_size,
            request=request,
        )

    # reading

    def get_object(
        self,
        *,
        Bucket: str,  # noqa: N803
        Key: str,  # noqa: N803
        EncryptionContext: Mapping[str, str] | None = None,  # noqa: N803
        InstructionFileSuffix: str = INSTRUCTION_SUFFIX,  # noqa: N803
        Range: str | None = None,  # noqa: N803
        **request: Any,
    ) -> dict[str, Any]:
        """The object decrypted: ``Body`` holds the plaintext, verified before this
        returns (see :mod:`sealbox.s3ec.body`). A ``Range`` needs
        ``enable_legacy_unauthenticated_modes``: a range cannot be authenticated."""
        if Range is not None:
            if not self.enable_legacy_unauthenticated_modes:
                raise PolicyError(
                    "a ranged get of an encrypted object cannot be authenticated (the tag "
                    "covers the whole object); pass enable_legacy_unauthenticated_modes=True "
                    "to allow it",
                    code=ErrorCode.UNAUTHENTICATED_RANGE_FORBIDDEN,
                )
            return get_range(
                self.s3,
                Bucket,
                Key,
                Range,
                request,
                lambda head: self._open(
                    Bucket, Key, head, EncryptionContext, InstructionFileSuffix, request
                ),
            )
        response = self.s3.get_object(Bucket=Bucket, Key=Key, **_whole(request))
        source = response["Body"]
        try:
            envelope, data_key = self._open(
                Bucket, Key, response, EncryptionContext, InstructionFileSuffix, request
            )
            body = VerifiedBody.download(content_decryptor(envelope, data_key), source)
        finally:
            source.close()
        try:
            check_length(envelope, body.content_length)
        except SealboxError:
            body.close()
            raise
        return {**response, "Body": body, "ContentLength": body.content_length}

    def download_fileobj(
        self,
        Bucket: str,  # noqa: N803
        Key: str,  # noqa: N803
        Fileobj: Any,  # noqa: N803
        ExtraArgs: Mapping[str, Any] | None = None,  # noqa: N803
        *,
        EncryptionContext: Mapping[str, str] | None = None,  # noqa: N803
        InstructionFileSuffix: str = INSTRUCTION_SUFFIX,  # noqa: N803
    ) -> None:
        """Decrypt the object into ``Fileobj``. Bytes reach ``Fileobj`` as they are
        decrypted, before the tag at the end is checked: if this raises, discard what
        was written. :meth:`download_file` and :meth:`get_object` release nothing
        unverified."""
        request = _whole(dict(ExtraArgs or {}))
        response = self.s3.get_object(Bucket=Bucket, Key=Key, **request)
        source = response["Body"]
        try:
            envelope, data_key = self._open(
                Bucket, Key, response, EncryptionContext, InstructionFileSuffix, request
            )
            length = decrypt_into(content_decryptor(envelope, data_key), source, Fileobj)
        finally:
            source.close()
        check_length(envelope, length)

    def download_file(
        self,
        Bucket: str,  # noqa: N803
        Key: str,  # noqa: N803
        Filename: str | os.PathLike[str],  # noqa: N803
        ExtraArgs: Mapping[str, Any] | None = None,  # noqa: N803
        *,
        EncryptionContext: Mapping[str, str] | None = None,  # noqa: N803
        InstructionFileSuffix: str = INSTRUCTION_SUFFIX,  # noqa: N803
    ) -> None:
        """Decrypt the object into ``Filename``, which appears (fsynced, renamed into
        place) only once the whole object has authenticated; on failure nothing is left."""
        with atomic_file(Filename) as sink:
            self.download_fileobj(
                Bucket,
                Key,
                sink,
                ExtraArgs,
                EncryptionContext=EncryptionContext,
                InstructionFileSuffix=InstructionFileSuffix,
            )

    def delete_object(self, *, Bucket: str, Key: str, **request: Any) -> dict[str, Any]:  # noqa: N803
        """Delete the object, and its instruction file if the object's envelope is there.

        Deleting one version (``VersionId``) leaves the instruction file, which the
        current version may still need."""
        import botocore.exceptions

        with_file = False
        if "VersionId" not in request:
            selectors = {k: v for k, v in request.items() if k in PER_REQUEST}
            try:
                head = self.s3.head_object(Bucket=Bucket, Key=Key, **selectors)
            except botocore.exceptions.ClientError:
                head = None
            found = object_metadata((head or {}).get("Metadata") or {})
            with_file = head is not None and (
                needs_instruction_file(found)
                or (version_of(found) is None and self._holds_envelope(Bucket, Key, selectors))
            )
        answer: dict[str, Any] = self.s3.delete_object(Bucket=Bucket, Key=Key, **request)
        if with_file:
            owner = {
                k: v for k, v in request.items() if k in ("ExpectedBucketOwner", "RequestPayer")
            }
            self.s3.delete_object(Bucket=Bucket, Key=Key + INSTRUCTION_SUFFIX, **owner)
        return answer

    def _holds_envelope(self, bucket: str, key: str, selectors: Mapping[str, Any]) -> bool:
        """Whether KEY.instruction is this object's instruction file (and not, say, a
        user's own object that happens to have that name)."""
        try:
            find_envelope(self.s3, bucket, key, {}, INSTRUCTION_SUFFIX, selectors)
        except SealboxError:
            return False
        return True

    def _open(
        self,
        bucket: str,
        key: str,
        response: Mapping[str, Any],
        context: Mapping[str, str] | None,
        suffix: str,
        request: Mapping[str, Any],
    ) -> tuple[Envelope, bytes]:
        """The object's envelope and data key, once every policy allows reading it."""
        selectors = {k: v for k, v in request.items() if k in PER_REQUEST}
        envelope = find_envelope(
            self.s3, bucket, key, response.get("Metadata") or {}, suffix, selectors
        )
        check_read_policy(
            envelope,
            self.commitment_policy,
            legacy_content=self.enable_legacy_unauthenticated_modes,
        )
        data_key = unwrap_data_key(
            self._wrappers,
            envelope,
            dict(context or {}),
            allow_legacy=self.enable_legacy_wrapping_algorithms,
        )
        return envelope, data_key


def _whole(request: dict[str, Any]) -> dict[str, Any]:
    """A request for the whole object: parts of one cannot be authenticated."""
    partial = [k for k in ("Range", "PartNumber") if k in request]
    if partial:
        raise UsageError(
            f"{partial[0]} asks for part of the object, which cannot be authenticated; "
            "use get_object(Range=…) with enable_legacy_unauthenticated_modes=True"
        )
    return request


class _BytesReader:
    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._view = memoryview(data).cast("B")
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size < 0 else self._at + size
        chunk = bytes(self._view[self._at : end])
        self._at += len(chunk)
        return chunk
