"""What a party that can write to the bucket (but holds no key) or a misbehaving S3
endpoint can try: relabelled wrappings, oversized or malformed envelopes, lying range
answers, deletes that reach the wrong object. Each is refused with a SealboxError, or
does nothing it should not."""

from __future__ import annotations

import array
import json
import os
from pathlib import Path
from typing import Any

import pytest

from sealbox.errors import (
    ErrorCode,
    MalformedMessageError,
    PolicyError,
    SealboxError,
    UsageError,
)
from sealbox.format.suites import CommitmentPolicy
from sealbox.s3ec import S3EncryptionClient
from tests.s3ec.checks import client_of, put_raw, raw, refused
from tests.s3ec.conftest import BUCKET, World
from tests.s3ec.handmade import hand_v3

HR = {"dept": "hr"}
RELAXED = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
V2_WRITER = CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT


def test_relabelling_kms_context_as_legacy_kms_does_not_skip_the_context_check(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    """AWS's clients send a legacy ``kms`` object's stored context to KMS without
    comparing it with the caller's; an object relabelled from ``kms+context`` would then
    open under any context. Sealbox compares it for both."""
    client_of(world, "kms", commitment_policy=V2_WRITER).put_object(
        Bucket=BUCKET, Key=object_key, Body=b"HR SECRET", EncryptionContext=HR
    )
    meta, body = raw(s3, object_key)
    meta["x-amz-wrap-alg"] = "kms"
    put_raw(s3, object_key, meta, body)
    legacy = client_of(
        world,
        "kms",
        commitment_policy=RELAXED,
        enable_legacy_unauthenticated_modes=True,
        enable_legacy_wrapping_algorithms=True,
    )
    refused(
        legacy,
        object_key,
        tmp_path,
        PolicyError,
        ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
        EncryptionContext={"dept": "finance"},
    )
    with legacy.get_object(Bucket=BUCKET, Key=object_key, EncryptionContext=HR)["Body"] as got:
        assert got.read() == b"HR SECRET"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("metadata", "[" * 1500),  # deep nesting, within S3's 2 KB of metadata
        ("metadata", "=?UTF-8?B?A?="),  # an encoded word that does not parse
        ("instruction", "[" * 100_000),
        ("instruction", "=?UTF-8?B?e30=?= " * 50_000),  # many encoded words: never decoded
    ],
)
def test_malformed_material_descriptions(
    world: World, s3: Any, object_key: str, tmp_path: Path, where: str, value: str
) -> None:
    client = client_of(world, write_instruction_files=where == "instruction")
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"x")
    if where == "metadata":
        meta, body = raw(s3, object_key)
        put_raw(s3, object_key, {**meta, "x-amz-m": value}, body)
    else:
        name = object_key + ".instruction"
        entries = json.loads(raw(s3, name)[1])
        s3.put_object(Bucket=BUCKET, Key=name, Body=json.dumps({**entries, "x-amz-m": value}))
    refused(client, object_key, tmp_path, MalformedMessageError, ErrorCode.OBJECT_METADATA_INVALID)


def test_a_plaintext_length_too_long_to_be_one(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    client = client_of(world, commitment_policy=V2_WRITER, write_instruction_files=True)
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"x")
    meta, body = raw(s3, object_key)
    put_raw(s3, object_key, {**meta, "x-amz-unencrypted-content-length": "9" * 5000}, body)
    refused(
        client_of(world, commitment_policy=RELAXED),
        object_key,
        tmp_path,
        MalformedMessageError,
        ErrorCode.OBJECT_METADATA_INVALID,
    )


def test_an_instruction_file_over_the_limit(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    client = client_of(world, write_instruction_files=True)
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"x")
    name = object_key + ".instruction"
    entries = json.loads(raw(s3, name)[1])
    padded = {**entries, "x-amz-m": json.dumps({"pad": "p" * (1 << 20)})}
    s3.put_object(Bucket=BUCKET, Key=name, Body=json.dumps(padded))
    error = refused(
        client, object_key, tmp_path, MalformedMessageError, ErrorCode.OBJECT_METADATA_INVALID
    )
    assert "larger than" in str(error)


class _Misbehaving:
    """The real S3 client, except that ranged gets answer what ``alter`` makes of them:
    an endpoint (or a proxy in front of S3) that lies."""

    def __init__(self, real: Any, alter: Any) -> None:
        self._real = real
        self._alter = alter
        self.bodies: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def get_object(self, **request: Any) -> Any:
        answer = self._real.get_object(**request)
        self.bodies.append(answer["Body"])
        return self._alter(answer) if "Range" in request else answer


def _range_reader(world: World, s3: Any) -> S3EncryptionClient:
    return S3EncryptionClient(
        s3_client=s3, keyring=world.aes_keyring(), enable_legacy_unauthenticated_modes=True
    )


def test_a_range_answer_for_other_bytes_is_refused(world: World, object_key: str) -> None:
    plaintext = os.urandom(1000)
    client_of(world).put_object(Bucket=BUCKET, Key=object_key, Body=plaintext)

    def shifted(answer: Any) -> Any:
        return {**answer, "ContentRange": "bytes 0-199/1016"}

    lying = _Misbehaving(world.s3(), shifted)
    with pytest.raises(MalformedMessageError) as error:
        _range_reader(world, lying).get_object(Bucket=BUCKET, Key=object_key, Range="bytes=100-199")
    assert error.value.code is ErrorCode.TRUNCATED
    assert all(body._raw_stream.closed for body in lying.bodies)  # nothing left open
    honest = _range_reader(world, world.s3())
    with honest.get_object(Bucket=BUCKET, Key=object_key, Range="bytes=100-199")["Body"] as got:
        assert got.read() == plaintext[100:200]


def test_a_short_range_answer_is_truncated_not_short_plaintext(
    world: World, object_key: str
) -> None:
    client_of(world).put_object(Bucket=BUCKET, Key=object_key, Body=os.urandom(1000))

    class _Short:
        def __init__(self, body: Any) -> None:
            self._body = body
            self._given = False

        def read(self, amt: int | None = None) -> bytes:
            """16 bytes, then the end: the connection dropped."""
            if self._given:
                return b""
            self._given = True
            data: bytes = self._body.read(16)
            return data

        def close(self) -> None:
            self._body.close()

    def cut(answer: Any) -> Any:
        return {**answer, "Body": _Short(answer["Body"])}

    got = _range_reader(world, _Misbehaving(world.s3(), cut)).get_object(
        Bucket=BUCKET, Key=object_key, Range="bytes=100-199"
    )
    with got["Body"] as body, pytest.raises(MalformedMessageError) as error:
        body.read()
    assert error.value.code is ErrorCode.TRUNCATED


def test_a_failed_ranged_get_closes_its_response(world: World, s3: Any, object_key: str) -> None:
    meta, body = hand_v3(world, "aes", os.urandom(300))
    meta["x-amz-d"] = raw_b64_other(meta["x-amz-d"])
    put_raw(s3, object_key, meta, body)
    watched = _Misbehaving(world.s3(), lambda answer: answer)
    with pytest.raises(SealboxError) as error:
        _range_reader(world, watched).get_object(Bucket=BUCKET, Key=object_key, Range="bytes=0-9")
    assert error.value.code is ErrorCode.COMMITMENT_MISMATCH
    assert all(body._raw_stream.closed for body in watched.bodies)


def raw_b64_other(text: str) -> str:
    import base64

    data = bytearray(base64.b64decode(text))
    data[0] ^= 1
    return base64.b64encode(bytes(data)).decode()


def test_partial_downloads_are_refused(world: World, object_key: str, tmp_path: Path) -> None:
    client = client_of(world)
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"whole")
    for extra in ({"Range": "bytes=0-1"}, {"PartNumber": 1}):
        with pytest.raises(UsageError):
            client.download_file(BUCKET, object_key, tmp_path / "out", extra)
        with pytest.raises(UsageError):
            client.get_object(Bucket=BUCKET, Key=object_key, PartNumber=1)
    assert list(tmp_path.iterdir()) == []


def test_deleting_a_plain_object_keeps_a_users_own_instruction_named_object(
    world: World, s3: Any, object_key: str
) -> None:
    s3.put_object(Bucket=BUCKET, Key=object_key, Body=b"plain")
    s3.put_object(Bucket=BUCKET, Key=object_key + ".instruction", Body=b"my notes")
    client_of(world).delete_object(Bucket=BUCKET, Key=object_key)
    assert raw(s3, object_key + ".instruction")[1] == b"my notes"


def test_deleting_an_object_removes_its_instruction_file(
    world: World, s3: Any, object_key: str
) -> None:
    client = client_of(world, write_instruction_files=True)
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"x")
    client.delete_object(Bucket=BUCKET, Key=object_key)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=object_key)
    assert listed["KeyCount"] == 0


def test_deleting_an_old_version_keeps_the_current_ones_instruction_file(
    world: World, object_key: str
) -> None:
    s3 = world.s3()
    bucket = "s3ec-versioned-delete"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client = S3EncryptionClient(
        s3_client=s3, keyring=world.aes_keyring(), write_instruction_files=True
    )
    old = client.put_object(Bucket=bucket, Key=object_key, Body=b"old")["VersionId"]
    client.put_object(Bucket=bucket, Key=object_key, Body=b"new")
    client.delete_object(Bucket=bucket, Key=object_key, VersionId=old)
    with client.get_object(Bucket=bucket, Key=object_key)["Body"] as body:
        assert body.read() == b"new"


def test_bodies_of_every_bytes_like_kind(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    client = client_of(world, commitment_policy=V2_WRITER)
    numbers = array.array("i", [1, 2, 3])
    client.put_object(Bucket=BUCKET, Key=object_key, Body=memoryview(numbers))
    assert raw(s3, object_key)[0]["x-amz-unencrypted-content-length"] == "12"
    reader = client_of(world, commitment_policy=RELAXED)
    with reader.get_object(Bucket=BUCKET, Key=object_key)["Body"] as body:
        assert body.read() == numbers.tobytes()
    (tmp_path / "notes.txt").write_text("not bytes")
    with open(tmp_path / "notes.txt", encoding="utf-8") as text, pytest.raises(UsageError):
        client.put_object(Bucket=BUCKET, Key=object_key + "-text", Body=text)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=object_key + "-text")["KeyCount"] == 0


def test_download_fileobj_into_a_writer_that_returns_nothing(world: World, object_key: str) -> None:
    client = client_of(world)
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"written")

    class _Sink:
        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, data: bytes) -> None:
            self.data += data

    sink = _Sink()
    client.download_fileobj(BUCKET, object_key, sink)
    assert sink.data == b"written"


def test_plaintext_checksums_are_refused(world: World, s3: Any, object_key: str) -> None:
    with pytest.raises(UsageError) as error:
        client_of(world).put_object(
            Bucket=BUCKET, Key=object_key, Body=b"x", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg=="
        )
    assert "ContentMD5" in str(error.value)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=object_key)["KeyCount"] == 0


def test_a_multipart_put_gives_each_request_the_arguments_it_takes(
    world: World, s3: Any, object_key: str
) -> None:
    """PutObject's arguments reach CreateMultipartUpload, UploadPart and
    CompleteMultipartUpload as each takes them (botocore would refuse any other)."""
    client = S3EncryptionClient(
        s3_client=world.s3(), keyring=world.aes_keyring(), part_size=5 * 1024 * 1024
    )
    plaintext = os.urandom(11 * 1024 * 1024)
    client.put_object(
        Bucket=BUCKET,
        Key=object_key,
        Body=plaintext,
        ContentType="text/csv",
        StorageClass="STANDARD_IA",
        IfNoneMatch="*",
        ChecksumAlgorithm="SHA256",
    )
    head = s3.head_object(Bucket=BUCKET, Key=object_key)
    assert head["ContentType"] == "text/csv" and head["StorageClass"] == "STANDARD_IA"
    assert head["ETag"].endswith('-3"')
    with client.get_object(Bucket=BUCKET, Key=object_key)["Body"] as body:
        assert body.read() == plaintext
