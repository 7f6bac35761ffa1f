"""What the asymmetric-key tests share: a server whose keys are made once per spec and usage
(RSA-4096 costs a second), and the public key as pyca and openssl see it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization


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
