"""Objects whose metadata is missing, incomplete or contradictory, objects the client's
policies refuse, and writes that are refused or fail: the exact error and code, and
nothing left behind (no object, no multipart upload, no file)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from sealbox.errors import (
    AuthenticationError,
    ErrorCode,
    MalformedMessageError,
    PolicyError,
    UsageError,
)
from sealbox.format.suites import CommitmentPolicy
from sealbox.s3ec import S3EncryptionClient
from tests.s3ec.checks import (
    client_of,
    flip,
    legacy_reader,
    put_raw,
    raw,
    refused,
)
from tests.s3ec.conftest import BUCKET, World
from tests.s3ec.handmade import hand_v1_cbc, hand_v2, hand_v3

CONTEXT = {"purpose": "failures", "team": "sealbox"}
RELAXED = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
V2_WRITER = CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
MiB = 1024 * 1024


# Metadata that is missing, incomplete or contradictory


def test_plain_object_without_an_envelope(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=BUCKET, Key=object_key, Body=b"not encrypted", Metadata={"a": "b"})
    error = refused(
        client_of(world),
        object_key,
        tmp_path,
        MalformedMessageError,
        ErrorCode.OBJECT_METADATA_INVALID,
    )
    assert "instruction" in str(error)


@pytest.mark.parametrize("field", ["x-amz-c", "x-amz-3", "x-amz-w", "x-amz-d", "x-amz-i"])
def test_v3_metadata_missing_a_field(
    world: World, s3: Any, object_key: str, tmp_path: Path, field: str
) -> None:
    meta, body = hand_v3(world, "aes", b"fields")
    del meta[field]
    put_raw(s3, object_key, meta, body)
    refused(
        client_of(world),
        object_key,
        tmp_path,
        MalformedMessageError,
        ErrorCode.OBJECT_METADATA_INVALID,
    )


@pytest.mark.parametrize("field", ["x-amz-key-v2", "x-amz-iv", "x-amz-wrap-alg"])
def test_v2_metadata_missing_a_field(
    world: World, s3: Any, object_key: str, tmp_path: Path, field: str
) -> None:
    meta, body = hand_v2(world, "aes", b"fields")
    del meta[field]
    meta["x-amz-unencrypted-content-length"] = "6"  # keeps an object without x-amz-key-v2 S3EC's
    put_raw(s3, object_key, meta, body)
    refused(
        client_of(world, commitment_policy=RELAXED),
        object_key,
        tmp_path,
        MalformedMessageError,
        ErrorCode.OBJECT_METADATA_INVALID,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("x-amz-c", "116"),
        ("x-amz-w", "03"),
        ("x-amz-d", "not base64!"),
        ("x-amz-i", base64.b64encode(b"short").decode()),
        ("x-amz-m", "{not json"),
        ("x-amz-m", '{"a": 1}'),
    ],
)
def test_v3_metadata_with_a_bad_value(
    world: World, s3: Any, object_key: str, tmp_path: Path, field: str, value: str
) -> None:
    meta, body = hand_v3(world, "aes", b"values")
    meta[field] = value
    put_raw(s3, object_key, meta, body)
    refused(
        client_of(world),
        object_key,
        tmp_path,
        MalformedMessageError,
        ErrorCode.OBJECT_METADATA_INVALID,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("x-amz-tag-len", "96"), ("x-amz-wrap-alg", "ROT13"), ("x-amz-cek-alg", "AES/XTS")],
)
def test_v2_metadata_with_a_bad_value(
    world: World, s3: Any, object_key: str, tmp_path: Path, field: str, value: str
) -> None:
    meta, body = hand_v2(world, "aes", b"values")
    meta[field] = value
    put_raw(s3, object_key, meta, body)
    refused(
        client_of(world, commitment_policy=RELAXED),
        object_key,
        tmp_path,
        MalformedMessageError,
        ErrorCode.OBJECT_METADATA_INVALID,
    )


def test_both_v1_and_v2_keys(world: World, s3: Any, object_key: str, tmp_path: Path) -> None:
    meta, body = hand_v2(world, "aes", b"two keys")
    meta["x-amz-key"] = meta["x-amz-key-v2"]
    put_raw(s3, object_key, meta, body)
    refused(
        client_of(world, commitment_policy=RELAXED),
        object_key,
        tmp_path,
        MalformedMessageError,
        ErrorCode.OBJECT_METADATA_INVALID,
    )


@pytest.mark.parametrize("field", ["x-amz-d", "x-amz-i", "x-amz-c"])
def test_instruction_file_carrying_object_only_fields(
    world: World, s3: Any, object_key: str, tmp_path: Path, field: str
) -> None:
    """A V3 instruction file may not hold the commitment, message id or cipher: they
    stay on the object, so rewrapping the key cannot change them."""
    client = client_of(world)
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"split", InstructionFile=True)
    meta, _ = raw(s3, object_key)
    name = object_key + ".instruction"
    _, data = raw(s3, name)
    instruction = {**json.loads(data), field: meta[field]}
    s3.put_object(Bucket=BUCKET, Key=name, Body=json.dumps(instruction).encode())
    refused(client, object_key, tmp_path, MalformedMessageError, ErrorCode.OBJECT_METADATA_INVALID)


@pytest.mark.parametrize("content", [b"not json", b"[1, 2]", b'{"x-amz-3": 5}'])
def test_instruction_file_that_is_not_a_json_map(
    world: World, s3: Any, object_key: str, tmp_path: Path, content: bytes
) -> None:
    client = client_of(world)
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"split", InstructionFile=True)
    s3.put_object(Bucket=BUCKET, Key=object_key + ".instruction", Body=content)
    refused(client, object_key, tmp_path, MalformedMessageError, ErrorCode.OBJECT_METADATA_INVALID)


def test_v3_object_whose_instruction_file_is_gone(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    client = client_of(world)
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"split", InstructionFile=True)
    s3.delete_object(Bucket=BUCKET, Key=object_key + ".instruction")
    refused(client, object_key, tmp_path, MalformedMessageError, ErrorCode.OBJECT_METADATA_INVALID)


# Policies


@pytest.mark.parametrize("kind", ["aes", "kms", "rsa"])
def test_v2_object_under_the_default_policy(
    world: World, object_key: str, tmp_path: Path, kind: str
) -> None:
    context = CONTEXT if kind == "kms" else {}
    client_of(world, kind, commitment_policy=V2_WRITER).put_object(
        Bucket=BUCKET, Key=object_key, Body=b"v2", EncryptionContext=context
    )
    error = refused(
        client_of(world, kind),
        object_key,
        tmp_path,
        PolicyError,
        ErrorCode.POLICY_FORBIDS_SUITE,
        EncryptionContext=context,
    )
    assert "REQUIRE_ENCRYPT_ALLOW_DECRYPT" in str(error)


def test_legacy_cbc_object_without_opt_in(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    meta, body = hand_v1_cbc(world, b"legacy object")
    put_raw(s3, object_key, meta, body)
    for wrapping in (False, True):
        error = refused(
            client_of(world, commitment_policy=RELAXED, enable_legacy_wrapping_algorithms=wrapping),
            object_key,
            tmp_path,
            PolicyError,
            ErrorCode.LEGACY_FORMAT_FORBIDDEN,
        )
        assert "enable_legacy_unauthenticated_modes" in str(error)
    content_only = client_of(
        world, commitment_policy=RELAXED, enable_legacy_unauthenticated_modes=True
    )
    error = refused(
        content_only, object_key, tmp_path, PolicyError, ErrorCode.LEGACY_FORMAT_FORBIDDEN
    )
    assert "enable_legacy_wrapping_algorithms" in str(error)
    with legacy_reader(world).get_object(Bucket=BUCKET, Key=object_key)["Body"] as plain:
        assert plain.read() == b"legacy object"


def test_legacy_cbc_object_under_the_default_commitment_policy(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    meta, body = hand_v1_cbc(world, b"legacy object")
    put_raw(s3, object_key, meta, body)
    strict = client_of(
        world, enable_legacy_unauthenticated_modes=True, enable_legacy_wrapping_algorithms=True
    )
    refused(strict, object_key, tmp_path, PolicyError, ErrorCode.POLICY_FORBIDS_SUITE)


# Writes that are refused or fail: nothing is left in the bucket


def _nothing_written(s3: Any, key: str) -> None:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=key)
    assert listed.get("KeyCount", 0) == 0, listed.get("Contents")
    uploads = s3.list_multipart_uploads(Bucket=BUCKET, Prefix=key)
    assert uploads.get("Uploads", []) == []


@pytest.mark.parametrize("reserved", ["aws:x-amz-cek-alg", "kms_cmk_id"])
def test_reserved_context_key(world: World, s3: Any, object_key: str, reserved: str) -> None:
    with pytest.raises(UsageError) as error:
        client_of(world, "kms").put_object(
            Bucket=BUCKET, Key=object_key, Body=b"x", EncryptionContext={reserved: "115"}
        )
    assert error.value.code is ErrorCode.RESERVED_ENCRYPTION_CONTEXT_KEY
    _nothing_written(s3, object_key)
    client_of(world, "kms").put_object(Bucket=BUCKET, Key=object_key, Body=b"x")
    with pytest.raises(UsageError) as on_get:
        client_of(world, "kms").get_object(
            Bucket=BUCKET, Key=object_key, EncryptionContext={reserved: "115"}
        )
    assert on_get.value.code is ErrorCode.RESERVED_ENCRYPTION_CONTEXT_KEY


@pytest.mark.parametrize("kind", ["aes", "rsa"])
def test_raw_key_with_an_encryption_context(
    world: World, s3: Any, object_key: str, tmp_path: Path, kind: str
) -> None:
    client = client_of(world, kind)
    with pytest.raises(UsageError) as on_put:
        client.put_object(Bucket=BUCKET, Key=object_key, Body=b"x", EncryptionContext=CONTEXT)
    assert type(on_put.value) is UsageError
    assert on_put.value.code is ErrorCode.INVALID_ARGUMENT
    _nothing_written(s3, object_key)
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"x")
    refused(
        client,
        object_key,
        tmp_path,
        UsageError,
        ErrorCode.INVALID_ARGUMENT,
        EncryptionContext=CONTEXT,
    )


@pytest.mark.parametrize("name", ["x-amz-key-v2", "X-Amz-Meta-Thing", "x-amz-c"])
def test_user_metadata_with_a_reserved_key(
    world: World, s3: Any, object_key: str, name: str
) -> None:
    with pytest.raises(UsageError) as error:
        client_of(world).put_object(Bucket=BUCKET, Key=object_key, Body=b"x", Metadata={name: "v"})
    assert type(error.value) is UsageError
    assert error.value.code is ErrorCode.INVALID_ARGUMENT
    _nothing_written(s3, object_key)


def test_user_metadata_is_kept(world: World, s3: Any, object_key: str) -> None:
    """The control for the test above: other keys reach S3 beside the envelope."""
    client_of(world).put_object(Bucket=BUCKET, Key=object_key, Body=b"x", Metadata={"owner": "ops"})
    assert s3.head_object(Bucket=BUCKET, Key=object_key)["Metadata"]["owner"] == "ops"


class _ReaderFailure(Exception):
    pass


class _FailingReader:
    """Hands out ``fail_after`` bytes, then raises."""

    def __init__(self, fail_after: int) -> None:
        self._left = fail_after

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            raise _ReaderFailure("the source broke")
        count = self._left if size < 0 else min(size, self._left)
        self._left -= count
        return b"\xa5" * count


@pytest.mark.parametrize("fail_after", [3 * MiB, 8 * MiB, 10 * MiB + 1])
def test_body_reader_that_fails_part_way(
    world: World, s3: Any, object_key: str, fail_after: int
) -> None:
    """Before, inside and after the first 5 MiB part of ~11 MiB: the reader's error
    propagates, and the multipart upload is aborted."""
    client = S3EncryptionClient(
        s3_client=world.s3(), keyring=world.aes_keyring(), part_size=5 * MiB
    )
    with pytest.raises(_ReaderFailure):
        client.put_object(Bucket=BUCKET, Key=object_key, Body=_FailingReader(fail_after))
    _nothing_written(s3, object_key)


def test_upload_file_that_fails_part_way(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    """A file object whose reads break after 8 MiB (of 11): upload_fileobj aborts."""
    (tmp_path / "plain").write_bytes(os.urandom(11 * MiB))

    class Breaking:
        def __init__(self, handle: Any) -> None:
            self._handle = handle

        def read(self, size: int = -1) -> bytes:
            if self._handle.tell() >= 8 * MiB:
                raise _ReaderFailure("disk error")
            data: bytes = self._handle.read(size)
            return data

    client = S3EncryptionClient(
        s3_client=world.s3(), keyring=world.aes_keyring(), part_size=5 * MiB
    )
    with open(tmp_path / "plain", "rb") as handle, pytest.raises(_ReaderFailure):
        client.upload_fileobj(Breaking(handle), BUCKET, object_key)
    _nothing_written(s3, object_key)


def test_str_body_is_refused(world: World, s3: Any, object_key: str) -> None:
    with pytest.raises(UsageError):
        client_of(world).put_object(Bucket=BUCKET, Key=object_key, Body="text")
    _nothing_written(s3, object_key)


def test_download_file_keeps_an_existing_file_on_failure(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    client = client_of(world)
    client.put_object(Bucket=BUCKET, Key=object_key, Body=os.urandom(100))
    meta, body = raw(s3, object_key)
    put_raw(s3, object_key, meta, flip(body, 3))
    target = tmp_path / "existing"
    target.write_bytes(b"previous contents")
    with pytest.raises(AuthenticationError):
        client.download_file(BUCKET, object_key, target)
    assert target.read_bytes() == b"previous contents"
    assert list(tmp_path.iterdir()) == [target]
