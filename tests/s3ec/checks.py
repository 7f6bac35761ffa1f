"""Helpers of the failure tests: a reader refused with an exact error and nothing left
behind, and raw access to objects for tampering with them."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from sealbox.errors import ErrorCode, SealboxError
from sealbox.format.suites import CommitmentPolicy
from sealbox.s3ec import S3EncryptionClient
from tests.s3ec.conftest import BUCKET, World


def keyring_of(world: World, kind: str) -> Any:
    if kind == "kms":
        return world.kms_keyring()
    return world.aes_keyring() if kind == "aes" else world.rsa_keyring()


def client_of(world: World, kind: str = "aes", **options: Any) -> S3EncryptionClient:
    return S3EncryptionClient(s3_client=world.s3(), keyring=keyring_of(world, kind), **options)


def put_raw(s3: Any, key: str, meta: dict[str, str], body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=meta)


def raw(s3: Any, key: str) -> tuple[dict[str, str], bytes]:
    answer = s3.get_object(Bucket=BUCKET, Key=key)
    with answer["Body"] as body:
        data: bytes = body.read()
    return dict(answer["Metadata"]), data


def refused(
    client: S3EncryptionClient,
    key: str,
    directory: Path,
    error: type[SealboxError],
    code: ErrorCode,
    **options: Any,
) -> SealboxError:
    """Both reads fail with exactly ``error`` and ``code``; download_file leaves
    ``directory`` as empty as it found it. Returns get_object's error."""
    with pytest.raises(SealboxError) as from_get:
        client.get_object(Bucket=BUCKET, Key=key, **options)
    assert type(from_get.value) is error, from_get.value
    assert from_get.value.code is code, from_get.value
    assert not any(directory.iterdir())
    with pytest.raises(SealboxError) as from_download:
        client.download_file(BUCKET, key, directory / "plain.out", **options)
    assert type(from_download.value) is error, from_download.value
    assert from_download.value.code is code, from_download.value
    assert list(directory.iterdir()) == [], "download_file left a file behind"
    return from_get.value


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def other_b64(text: str) -> str:
    return base64.b64encode(flip(base64.b64decode(text), 0)).decode()


def legacy_reader(world: World) -> S3EncryptionClient:
    """A client that reads everything the oldest clients wrote."""
    return client_of(
        world,
        "aes",
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT,
        enable_legacy_unauthenticated_modes=True,
        enable_legacy_wrapping_algorithms=True,
    )
