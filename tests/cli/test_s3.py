"""``-i s3://…`` and ``-o s3://…`` against moto's S3 server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.moto_s3 import moto_s3_server, s3_client

BUCKET = "sealed-objects"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def environment(s3_endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


@pytest.fixture
def s3(s3_endpoint: str, environment: dict[str, str]) -> Any:
    return s3_client(s3_endpoint, BUCKET)


def sealbox(
    environment: dict[str, str], cwd: Path, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "sealbox", *args],
        env=environment,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture
def key(environment: dict[str, str], tmp_path: Path) -> str:
    assert sealbox(environment, tmp_path, "keygen", "-o", "k.json").returncode == 0
    return "key=k.json"


def test_a_large_object_round_trips_through_multipart(
    s3: Any, environment: dict[str, str], key: str, tmp_path: Path
) -> None:
    plaintext = os.urandom(20 * 1024 * 1024 + 123)  # three parts of 8 MiB
    (tmp_path / "big").write_bytes(plaintext)
    url = f"s3://{BUCKET}/backups/big.sbx"
    sealed = sealbox(
        environment, tmp_path, "encrypt", "-w", key, "-c", "kind=backup", "-i", "big", "-o", url
    )
    assert sealed.returncode == 0, sealed.stderr
    head = s3.head_object(Bucket=BUCKET, Key="backups/big.sbx")
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    assert head["Metadata"] == {
        "sealbox-version": head["Metadata"]["sealbox-version"],
        "sealbox-content": "aws-encryption-sdk-message",
        "sealbox-algorithm": "0x0578",
    }
    body = s3.get_object(Bucket=BUCKET, Key="backups/big.sbx")["Body"].read()
    assert body[:1] == b"\x02"  # the object is the message itself
    opened = sealbox(
        environment, tmp_path, "decrypt", "-w", key, "-c", "kind=backup", "-i", url, "-o", "back"
    )
    assert opened.returncode == 0, opened.stderr
    assert (
        hashlib.sha256((tmp_path / "back").read_bytes()).digest()
        == hashlib.sha256(plaintext).digest()
    )
    piped = sealbox(environment, tmp_path, "decrypt", "-w", key, "-i", url)
    assert piped.stdout == plaintext


def test_a_failed_decrypt_leaves_no_object(
    s3: Any, environment: dict[str, str], key: str, tmp_path: Path
) -> None:
    sealed = bytearray(
        sealbox(
            environment, tmp_path, "encrypt", "-w", key, stdin=os.urandom(9 * 1024 * 1024)
        ).stdout
    )
    sealed[-300] ^= 1  # the last frame: 8 MiB of plaintext verify and are uploaded first
    (tmp_path / "bad").write_bytes(bytes(sealed))
    result = sealbox(
        environment, tmp_path, "decrypt", "-w", key, "-i", "bad", "-o", f"s3://{BUCKET}/bad.out"
    )
    assert result.returncode == 1 and b"did not verify" in result.stderr
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="bad.out")
    assert listed["KeyCount"] == 0
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_s3_errors(s3: Any, environment: dict[str, str], key: str, tmp_path: Path) -> None:
    missing = sealbox(environment, tmp_path, "decrypt", "-w", key, "-i", f"s3://{BUCKET}/nothing")
    assert missing.returncode == 2
    assert missing.stderr == f"sealbox: error: s3://{BUCKET}/nothing: no such object\n".encode()
    prefix = sealbox(
        environment, tmp_path, "encrypt", "-w", key, "-o", f"s3://{BUCKET}/dir/", stdin=b"x"
    )
    assert prefix.returncode == 2 and b"is not s3://BUCKET/KEY" in prefix.stderr
    no_bucket = sealbox(
        environment, tmp_path, "encrypt", "-w", key, "-o", "s3://no-such-bucket/x", stdin=b"x"
    )
    assert (
        no_bucket.returncode == 2 and b"s3://no-such-bucket/x: no such bucket" in no_bucket.stderr
    )
