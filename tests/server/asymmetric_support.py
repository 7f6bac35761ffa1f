"""What the asymmetric-key tests share: a server whose keys are made once per spec and usage
(RSA-4096 costs a second), the public key as pyca and openssl see it, and the aws CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from tests.server.harness import REGION, Credentials, InProcessServer

AWS = str(Path(sys.executable).with_name("aws"))


class Keys:
    """Keys of one server, made on first use and kept: (spec, usage) -> KeyMetadata."""

    def __init__(self, kms: Any) -> None:
        self.kms = kms
        self._made: dict[tuple[str, str], dict[str, Any]] = {}

    def __call__(self, spec: str, usage: str) -> dict[str, Any]:
        if (spec, usage) not in self._made:
            made = self.kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
            self._made[spec, usage] = made
        return self._made[spec, usage]

    def public(self, spec: str, usage: str) -> Any:
        der = self.kms.get_public_key(KeyId=self(spec, usage)["KeyId"])["PublicKey"]
        return serialization.load_der_public_key(der)

    def public_pem(self, spec: str, usage: str, directory: Path) -> Path:
        path = directory / f"{spec}-{usage}.pem"
        path.write_bytes(
            self.public(spec, usage).public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return path


def openssl(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=60)


def aws_cli(server: InProcessServer, credentials: Credentials) -> Any:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL_KMS": server.endpoint,
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AWS, "kms", *args, "--output", "json"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return aws
