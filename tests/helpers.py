"""Shared test helpers: vector locations, keyrings for official vectors, the reference SDK."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sealbox
from sealbox.format.header import EncryptedDataKey
from sealbox.materials import DecryptionMaterials, EncryptionMaterials

VECTORS = Path(__file__).parent / "vectors" / "data"


def load_json(relative: str) -> Any:
    return json.loads((VECTORS / relative).read_text(encoding="utf-8"))


def b64(text: str) -> bytes:
    return base64.b64decode(text)


class StaticKeyring:
    """Answers every decrypt with a fixed data key: how the official vectors inject keys."""

    def __init__(self, data_key: bytes) -> None:
        self.data_key = data_key

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        raise AssertionError("StaticKeyring is for decrypting vectors only")

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        return materials.with_data_key(self.data_key)


def permissive_client() -> sealbox.EncryptionClient:
    return sealbox.EncryptionClient(
        commitment_policy=sealbox.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
    )


def quiet_reference() -> Any:
    """Import the reference SDK without its dependency warnings failing the run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import aws_encryption_sdk

    return aws_encryption_sdk
