"""The sealbox command with KMS keys of a live service, next to the official aws-encryption-cli:
files encrypted by either command decrypt with the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.harness import DEV_ACCOUNT, OTHER_ACCOUNT, REGION, InProcessServer

REFERENCE_CLI = str(Path(sys.executable).with_name("aws-encryption-cli"))


@pytest.fixture
def environment(server: InProcessServer, tmp_path: Path) -> dict[str, str]:
    alice = server.credentials(DEV_ACCOUNT, "alice")
    return {
        **os.environ,
        "AWS_ENDPOINT_URL_KMS": server.endpoint,
        "AWS_ACCESS_KEY_ID": alice.access_key_id,
        "AWS_SECRET_ACCESS_KEY": alice.secret_access_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "PYTHONWARNINGS": "ignore",
    }


@pytest.fixture
def key_arn(server: InProcessServer, environment: dict[str, str]) -> str:
    kms = server.client()
    arn: str = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/cli", TargetKeyId=arn)
    return arn


def run(
    command: list[str], environment: dict[str, str], cwd: Path, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        command, env=environment, cwd=cwd, input=stdin, capture_output=True, timeout=180
    )


def sealbox(
    environment: dict[str, str], cwd: Path, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return run([sys.executable, "-m", "sealbox", *args], environment, cwd, stdin)


def count(server: InProcessServer, event_name: str) -> int:
    return sum(1 for _ in server.service.store.audit.query(event_name=event_name))


def test_encrypt_by_alias_decrypt_by_arn_or_discovery(
    server: InProcessServer, environment: dict[str, str], key_arn: str, tmp_path: Path
) -> None:
    sealed = sealbox(
        environment, tmp_path, "encrypt", "-w", "key=alias/cli", "-c", "app=cli", stdin=b"kms!"
    )
    assert sealed.returncode == 0, sealed.stderr
    by_arn = sealbox(environment, tmp_path, "decrypt", "-w", f"key={key_arn}", stdin=sealed.stdout)
    assert by_arn.stdout == b"kms!", by_arn.stderr
    found = sealbox(environment, tmp_path, "decrypt", "-w", "discovery=true", stdin=sealed.stdout)
    assert found.stdout == b"kms!", found.stderr
    filtered = sealbox(
        environment, tmp_path, "decrypt", "-w", "discovery=true",
        f"discovery-account={OTHER_ACCOUNT}", "discovery-partition=aws", stdin=sealed.stdout,
    )  # fmt: skip
    assert filtered.returncode == 1
    assert f"the discovery filter excludes {key_arn}".encode() in filtered.stderr
    wrong_context = sealbox(
        environment,
        tmp_path,
        "decrypt",
        "-w",
        f"key={key_arn}",
        "-c",
        "app=other",
        stdin=sealed.stdout,
    )
    assert wrong_context.returncode == 1 and b"encryption context mismatch" in wrong_context.stderr


def test_kms_errors_name_the_problem(
    server: InProcessServer, environment: dict[str, str], key_arn: str, tmp_path: Path
) -> None:
    missing = sealbox(environment, tmp_path, "encrypt", "-w", "key=alias/none", stdin=b"x")
    assert missing.returncode == 1
    assert (
        f"KMS NotFoundException from {server.endpoint} for key alias/none".encode()
        in missing.stderr
    )
    no_credentials = {k: v for k, v in environment.items() if not k.startswith("AWS_ACCESS")}
    no_credentials.pop("AWS_SECRET_ACCESS_KEY")
    anonymous = sealbox(no_credentials, tmp_path, "encrypt", "-w", f"key={key_arn}", stdin=b"x")
    assert anonymous.returncode == 1
    assert b"no AWS credentials to call KMS" in anonymous.stderr
    assert b"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in anonymous.stderr


def test_caching_across_the_files_of_one_command(
    server: InProcessServer, environment: dict[str, str], key_arn: str, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    for n in range(12):
        (tmp_path / "in" / f"f{n}").write_bytes(b"file %d" % n)
    flags = ["-w", f"key={key_arn}", "-r", "-c", "batch=1"]
    cached = sealbox(
        environment, tmp_path, "encrypt", "-i", "in", "-o", "out", *flags,
        "--caching", "capacity=10", "max_age=600", "max_messages_encrypted=5",
    )  # fmt: skip
    assert cached.returncode == 0, cached.stderr
    assert count(server, "GenerateDataKey") == 3  # 12 files, 5 messages per data key
    opened = sealbox(
        environment, tmp_path, "decrypt", "-i", "out", "-o", "back", *flags[:3],
        "--caching", "capacity=10", "max_age=600",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert count(server, "Decrypt") == 3
    assert (tmp_path / "back" / "f7").read_bytes() == b"file 7"  # decrypt strips .encrypted


def test_files_cross_between_sealbox_and_aws_encryption_cli(
    environment: dict[str, str], key_arn: str, tmp_path: Path
) -> None:
    plaintext = os.urandom(300_000)
    (tmp_path / "plain").write_bytes(plaintext)
    common = ["-w", f"key={key_arn}", "--commitment-policy", "require-encrypt-require-decrypt"]
    for frame_length, algorithm in ((4096, None), (1024, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY")):
        suite = ["--algorithm", algorithm] if algorithm else []
        theirs = run(
            [REFERENCE_CLI, "-e", "-i", "plain", "-o", "theirs.sealed", *common, "-S",
             "--frame-length", str(frame_length), *suite, "-c", "from=reference"],
            environment, tmp_path,
        )  # fmt: skip
        assert theirs.returncode == 0, theirs.stderr
        ours = sealbox(
            environment, tmp_path, "-e", "-i", "plain", "-o", "ours.sealed", *common,
            "--frame-length", str(frame_length), *suite, "-c", "from=sealbox",
        )  # fmt: skip
        assert ours.returncode == 0, ours.stderr

        opened_by_us = sealbox(
            environment,
            tmp_path,
            "-d",
            "-i",
            "theirs.sealed",
            "-o",
            "-",
            *common,
            "-c",
            "from=reference",
        )
        assert opened_by_us.stdout == plaintext, opened_by_us.stderr
        opened_by_them = run(
            [REFERENCE_CLI, "-d", "-i", "ours.sealed", "-o", "by-reference", *common,
             "--metadata-output", "meta", "-c", "from=sealbox"],
            environment, tmp_path,
        )  # fmt: skip
        assert opened_by_them.returncode == 0, opened_by_them.stderr
        assert (tmp_path / "by-reference").read_bytes() == plaintext
        record = json.loads((tmp_path / "meta").read_text().splitlines()[-1])
        assert record["header"]["frame_length"] == frame_length
        (tmp_path / "by-reference").unlink()
