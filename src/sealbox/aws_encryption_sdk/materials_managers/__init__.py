"""The requests and materials legacy crypto materials managers exchange, as the reference shapes them.

They are plain mutable records, like the reference's. Sealbox converts them to and from its
own materials at the boundary (:mod:`sealbox.aws_encryption_sdk._bridge.materials`), so a
user's manager written against these shapes runs inside Sealbox's pipeline.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from sealbox.aws_encryption_sdk.identifiers import AlgorithmSuite, CommitmentPolicy
from sealbox.aws_encryption_sdk.structures import DataKey, EncryptedDataKey

__all__ = [
    "DecryptionMaterials",
    "DecryptionMaterialsRequest",
    "EncryptionMaterials",
    "EncryptionMaterialsRequest",
]


@dataclass(eq=False)
class EncryptionMaterialsRequest:
    """What ``get_encryption_materials`` is asked for.

    ``plaintext_rostream`` is always None under Sealbox (the pipeline reads the source
    itself); ``commitment_policy`` defaults to FORBID_ENCRYPT_ALLOW_DECRYPT, as in the
    reference, but clients always set it.
    """

    encryption_context: dict[str, str]
    frame_length: int
    commitment_policy: CommitmentPolicy = CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    plaintext_rostream: Any = None
    algorithm: AlgorithmSuite | None = None
    plaintext_length: int | None = None


@dataclass(eq=False)
class EncryptionMaterials:
    """What ``get_encryption_materials`` returns.

    ``signing_key`` is the DER (PKCS #8) private key for signed suites.
    """

    algorithm: AlgorithmSuite
    data_encryption_key: DataKey
    encrypted_data_keys: Set[EncryptedDataKey]
    encryption_context: dict[str, str]
    signing_key: bytes | None = field(default=None, repr=False)


@dataclass(eq=False)
class DecryptionMaterialsRequest:
    """What ``decrypt_materials`` is asked for: the message's suite, keys and context."""

    algorithm: AlgorithmSuite
    encrypted_data_keys: Set[EncryptedDataKey]
    encryption_context: dict[str, str]
    commitment_policy: CommitmentPolicy = CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT


@dataclass(eq=False)
class DecryptionMaterials:
    """What ``decrypt_materials`` returns; ``verification_key`` is DER SubjectPublicKeyInfo."""

    data_key: DataKey
    verification_key: bytes | None = None
