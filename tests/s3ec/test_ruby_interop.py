"""Objects AWS's own Ruby S3 encryption client writes, read by Sealbox — and the reverse.

The Ruby client is Debian's ruby-aws-sdk-s3 (1.117: EncryptionV2, and the legacy V1
client), an implementation we did not write; it speaks to the same moto S3 server and
Sealbox KMS. Its version predates the key-committing V3 format, so V3 is checked
against the format's published description in test_format.py instead.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from sealbox.errors import ErrorCode, PolicyError
from sealbox.format.suites import CommitmentPolicy
from sealbox.s3ec import S3EncryptionClient
from tests.interop.ruby_s3ec import RubyS3ECError, ruby_available, run_ruby_s3ec
from tests.s3ec.conftest import BUCKET, World
from tests.system_tools import missing_system_tool

CONTEXT = {"purpose": "interop", "team": "sealbox"}


@pytest.fixture(autouse=True)
def _ruby() -> None:
    if not ruby_available():
        missing_system_tool(
            "AWS's Ruby S3 encryption client is not installed "
            "(apt-get install ruby ruby-aws-sdk-s3 ruby-aws-sdk-kms)"
        )


def _wrapping(world: World, kind: str) -> dict[str, Any]:
    if kind == "kms":
        return {"kind": "kms", "key_id": world.key_arn}
    if kind == "aes":
        return {"kind": "aes", "key_b64": base64.b64encode(world.aes_key).decode()}
    return {"kind": "rsa", "private_pem": world.rsa_private_pem()}


def _keyring(world: World, kind: str) -> Any:
    if kind == "kms":
        return world.kms_keyring()
    return world.aes_keyring() if kind == "aes" else world.rsa_keyring()


def _sealbox(world: World, kind: str, **options: Any) -> S3EncryptionClient:
    return S3EncryptionClient(s3_client=world.s3(), keyring=_keyring(world, kind), **options)


@pytest.mark.parametrize("location", ["metadata", "instruction_file"])
@pytest.mark.parametrize("kind", ["kms", "aes", "rsa"])
def test_sealbox_reads_what_ruby_v2_writes(
    world: World, object_key: str, kind: str, location: str
) -> None:
    plaintext = os.urandom(70_001)
    context = CONTEXT if kind == "kms" else {}
    run_ruby_s3ec(
        world.ruby_request(
            op="put",
            client="v2",
            key=object_key,
            body_b64=base64.b64encode(plaintext).decode(),
            wrapping=_wrapping(world, kind),
            encryption_context=context or None,
            envelope_location=location,
        )
    )
    reader = _sealbox(world, kind, commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
    got = reader.get_object(Bucket=BUCKET, Key=object_key, EncryptionContext=context)
    with got["Body"] as body:
        assert body.read() == plaintext
    assert got["ContentLength"] == len(plaintext)


@pytest.mark.parametrize("location", ["metadata", "instruction_file"])
@pytest.mark.parametrize("kind", ["kms", "aes", "rsa"])
def test_ruby_v2_reads_what_sealbox_writes(
    world: World, object_key: str, kind: str, location: str
) -> None:
    plaintext = os.urandom(70_001)
    context = CONTEXT if kind == "kms" else {}
    writer = _sealbox(
        world,
        kind,
        commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
        write_instruction_files=location == "instruction_file",
    )
    writer.put_object(Bucket=BUCKET, Key=object_key, Body=plaintext, EncryptionContext=context)
    answer = run_ruby_s3ec(
        world.ruby_request(
            op="get",
            client="v2",
            key=object_key,
            wrapping=_wrapping(world, kind),
            encryption_context=context or None,
            envelope_location=location,
            security_profile="v2",
        )
    )
    assert base64.b64decode(answer["body_b64"]) == plaintext


def test_ruby_refuses_a_sealbox_object_under_another_context(world: World, object_key: str) -> None:
    writer = _sealbox(world, "kms", commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    writer.put_object(Bucket=BUCKET, Key=object_key, Body=b"x", EncryptionContext=CONTEXT)
    with pytest.raises(RubyS3ECError) as refused:
        run_ruby_s3ec(
            world.ruby_request(
                op="get",
                client="v2",
                key=object_key,
                wrapping=_wrapping(world, "kms"),
                encryption_context={"purpose": "other"},
                security_profile="v2",
            )
        )
    assert refused.value.ruby_class == "Aws::S3::EncryptionV2::Errors::DecryptionError"


@pytest.mark.parametrize("kind", ["kms", "aes", "rsa"])
def test_legacy_v1_objects_need_the_opt_in(world: World, object_key: str, kind: str) -> None:
    plaintext = os.urandom(5_000)
    run_ruby_s3ec(
        world.ruby_request(
            op="put",
            client="v1",
            key=object_key,
            body_b64=base64.b64encode(plaintext).decode(),
            wrapping=_wrapping(world, kind),
        )
    )
    relaxed = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
    strict = _sealbox(world, kind, commitment_policy=relaxed)
    with pytest.raises(PolicyError) as refused:
        strict.get_object(Bucket=BUCKET, Key=object_key)
    assert refused.value.code is ErrorCode.LEGACY_FORMAT_FORBIDDEN
    content_only = _sealbox(
        world, kind, commitment_policy=relaxed, enable_legacy_unauthenticated_modes=True
    )
    with pytest.raises(PolicyError) as wrapping_refused:
        content_only.get_object(Bucket=BUCKET, Key=object_key)
    assert wrapping_refused.value.code is ErrorCode.LEGACY_FORMAT_FORBIDDEN
    assert "enable_legacy_wrapping_algorithms" in str(wrapping_refused.value)
    legacy = _sealbox(
        world,
        kind,
        commitment_policy=relaxed,
        enable_legacy_unauthenticated_modes=True,
        enable_legacy_wrapping_algorithms=True,
    )
    with legacy.get_object(Bucket=BUCKET, Key=object_key)["Body"] as body:
        assert body.read() == plaintext


def test_a_large_object_both_ways(world: World, object_key: str, tmp_path: Path) -> None:
    """17 MiB: Sealbox uploads three parts; Ruby reads the one object they make."""
    plaintext = os.urandom(17 * 1024 * 1024 + 5)
    (tmp_path / "plain").write_bytes(plaintext)
    writer = _sealbox(world, "kms", commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    writer.upload_file(tmp_path / "plain", BUCKET, object_key, EncryptionContext=CONTEXT)
    assert world.s3().head_object(Bucket=BUCKET, Key=object_key)["ETag"].endswith('-3"')
    run_ruby_s3ec(
        world.ruby_request(
            op="get",
            client="v2",
            key=object_key,
            wrapping=_wrapping(world, "kms"),
            encryption_context=CONTEXT,
            security_profile="v2",
            body_file=str(tmp_path / "from-ruby"),
        )
    )
    assert (tmp_path / "from-ruby").read_bytes() == plaintext
    run_ruby_s3ec(
        world.ruby_request(
            op="put",
            client="v2",
            key=object_key + ".ruby",
            body_file=str(tmp_path / "plain"),
            wrapping=_wrapping(world, "kms"),
            encryption_context=CONTEXT,
        )
    )
    reader = _sealbox(
        world, "kms", commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
    )
    reader.download_file(BUCKET, object_key + ".ruby", tmp_path / "back", EncryptionContext=CONTEXT)
    assert (tmp_path / "back").read_bytes() == plaintext
