"""``sealbox encrypt … --s3-format s3ec`` and ``sealbox decrypt -i s3://…`` of S3 encryption
client objects: the real command against moto's S3 server and a Sealbox KMS."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.interop.ruby_s3ec import ruby_available, run_ruby_s3ec
from tests.s3ec.conftest import BUCKET, World
from tests.system_tools import missing_system_tool

MiB = 1024 * 1024


@pytest.fixture
def environment(world: World) -> dict[str, str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **variables,
        "AWS_ENDPOINT_URL_S3": world.s3_endpoint,
        "AWS_ENDPOINT_URL_KMS": world.kms.endpoint,
        "AWS_ACCESS_KEY_ID": world.alice.access_key_id,
        "AWS_SECRET_ACCESS_KEY": world.alice.secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "PYTHONWARNINGS": "error",
    }


def run(
    environment: dict[str, str], cwd: Path, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "sealbox", *args],
        env=environment,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=600,
    )


def test_round_trip_with_kms_and_context(
    world: World, environment: dict[str, str], s3: Any, object_key: str, tmp_path: Path
) -> None:
    (tmp_path / "plain").write_bytes(b"the payroll")
    url = f"s3://{BUCKET}/{object_key}"
    kms = f"key={world.key_arn}"
    sealed = run(environment, tmp_path, "encrypt", "-w", kms, "-c", "dept=hr", "-i", "plain",
                 "-o", url, "--s3-format", "s3ec")  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr
    metadata = s3.head_object(Bucket=BUCKET, Key=object_key)["Metadata"]
    assert metadata["x-amz-c"] == "115" and metadata["x-amz-w"] == "12"
    assert json.loads(metadata["x-amz-t"]) == {"aws:x-amz-cek-alg": "115", "dept": "hr"}

    opened = run(environment, tmp_path, "decrypt", "-w", kms, "-c", "dept=hr", "-i", url,
                 "-o", "back")  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "back").read_bytes() == b"the payroll"
    piped = run(environment, tmp_path, "decrypt", "-w", kms, "-c", "dept=hr", "-i", url)
    assert piped.returncode == 0 and piped.stdout == b"the payroll"

    wrong = run(environment, tmp_path, "decrypt", "-w", kms, "-c", "dept=it", "-i", url,
                "-o", "wrong")  # fmt: skip
    assert wrong.returncode == 1
    assert b"does not match the object's" in wrong.stderr
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith((".wrong", "wrong"))]

    bare = run(environment, tmp_path, "decrypt", "-w", kms, "-c", "dept", "-i", url, "-o", "x")
    assert bare.returncode != 0 and b"bare keys" in bare.stderr


def test_v2_format_instruction_file_and_raw_key(
    world: World, environment: dict[str, str], s3: Any, object_key: str, tmp_path: Path
) -> None:
    assert run(environment, tmp_path, "keygen", "-o", "k.json").returncode == 0
    plaintext = os.urandom(3000)
    url = f"s3://{BUCKET}/{object_key}"
    sealed = run(environment, tmp_path, "encrypt", "-w", "key=k.json", "-o", url,
                 "--s3-format", "s3ec", "--s3-instruction-file",
                 "--commitment-policy", "forbid-encrypt-allow-decrypt", stdin=plaintext)  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr
    assert "x-amz-key-v2" not in s3.head_object(Bucket=BUCKET, Key=object_key)["Metadata"]
    envelope = json.loads(
        s3.get_object(Bucket=BUCKET, Key=object_key + ".instruction")["Body"].read()
    )
    assert (
        envelope["x-amz-wrap-alg"] == "AES/GCM" and envelope["x-amz-cek-alg"] == "AES/GCM/NoPadding"
    )

    strict = run(environment, tmp_path, "decrypt", "-w", "key=k.json", "-i", url)
    assert strict.returncode == 1
    assert b"--commitment-policy require-encrypt-allow-decrypt" in strict.stderr
    opened = run(environment, tmp_path, "decrypt", "-w", "key=k.json", "-i", url,
                 "--commitment-policy", "require-encrypt-allow-decrypt")  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == plaintext


def test_flags_that_do_not_apply_are_refused(environment: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(b"x")
    to_file = run(environment, tmp_path, "encrypt", "-w", "key=arn:aws:kms:us-east-1:111122223333:key/x",
                  "-i", "plain", "-o", "out", "--s3-format", "s3ec")  # fmt: skip
    assert to_file.returncode == 2 and b"give -o s3://BUCKET/KEY" in to_file.stderr
    framed = run(environment, tmp_path, "encrypt", "-w", "key=alias/x", "-i", "plain",
                 "-o", f"s3://{BUCKET}/x", "--s3-format", "s3ec", "--frame-length", "1024")  # fmt: skip
    assert (
        framed.returncode == 2 and b"--frame-length is for Encryption SDK messages" in framed.stderr
    )
    alone = run(environment, tmp_path, "encrypt", "-w", "key=alias/x", "-i", "plain",
                "-o", f"s3://{BUCKET}/x", "--s3-instruction-file")  # fmt: skip
    assert alone.returncode == 2
    assert b"--s3-instruction-file needs --s3-format s3ec" in alone.stderr


def test_legacy_objects_need_the_flag(
    world: World, environment: dict[str, str], object_key: str, tmp_path: Path
) -> None:
    if not ruby_available():
        missing_system_tool("AWS's Ruby S3 encryption client is not installed")
    run_ruby_s3ec(
        world.ruby_request(
            op="put",
            client="v1",
            key=object_key,
            body_b64=base64.b64encode(b"old data").decode(),
            wrapping={"kind": "kms", "key_id": world.key_arn},
        )
    )
    url = f"s3://{BUCKET}/{object_key}"
    kms = f"key={world.key_arn}"
    relaxed = ("--commitment-policy", "require-encrypt-allow-decrypt")
    refused = run(environment, tmp_path, "decrypt", "-w", kms, "-i", url, *relaxed)
    assert refused.returncode == 1 and b"not authenticated" in refused.stderr
    opened = run(environment, tmp_path, "decrypt", "-w", kms, "-i", url, *relaxed,
                 "--s3-legacy-unauthenticated")  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == b"old data"


def test_100_mib_round_trip_in_bounded_memory(
    world: World, environment: dict[str, str], object_key: str, tmp_path: Path
) -> None:
    """Peak memory with a 100 MiB object stays within a fixed margin of the peak with a
    1-byte one: the upload holds one 8 MiB part (and botocore's copies of it)."""
    (tmp_path / "small").write_bytes(b"x")
    digest = hashlib.sha256()
    with open(tmp_path / "big", "wb") as big:
        for _ in range(100):
            chunk = os.urandom(MiB)
            digest.update(chunk)
            big.write(chunk)
    kms = f"key={world.key_arn}"
    peaks: dict[tuple[str, str], float] = {}
    for name in ("small", "big"):
        url = f"s3://{BUCKET}/{object_key}/{name}"
        for args in (
            ("encrypt", "-w", kms, "-i", name, "-o", url, "--s3-format", "s3ec"),
            ("decrypt", "-w", kms, "-i", url, "-o", f"{name}.back"),
        ):
            measured = subprocess.run(
                [sys.executable, "-c", _PEAK_RSS, sys.executable, "-m", "sealbox", *args],
                env=environment,
                cwd=tmp_path,
                capture_output=True,
                timeout=600,
            )
            assert measured.returncode == 0, measured.stderr
            peaks[name, args[0]] = int(measured.stdout.split()[-1]) / 1024
    for mode in ("encrypt", "decrypt"):
        growth = peaks["big", mode] - peaks["small", mode]
        assert growth < 48, f"{mode} of 100 MiB peaked {growth:.0f} MiB above a 1-byte {mode}"
    with open(tmp_path / "big.back", "rb") as back:
        assert hashlib.file_digest(back, "sha256").digest() == digest.digest()


# Runs the command given in argv and prints its peak resident set size (KiB).
_PEAK_RSS = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""
