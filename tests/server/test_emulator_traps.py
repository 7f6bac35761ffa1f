"""The conformance traps of kms-api.md section 12 not covered elsewhere.

Covered in test_kms_operations.py: 1 (context collision), 2 (aws-crypto-public-key bound),
3 (key states), 4 (IncorrectKeyException), 6 (unimplemented operations), 11 (pending window),
12 (real deletion), 13 (alias/aws/). In test_protocol.py: 5 (unknown target), 16 (authentication),
17 (content type). In test_root_key_and_store.py: 20 (material at rest). Rotation (7-10),
policies and grants (14, 15, 23) belong to key governance.
"""

from __future__ import annotations

import os
from typing import Any


def test_trap_21_real_authenticated_encryption(kms: Any) -> None:
    """Same plaintext, key and context twice: different blobs (random salt and nonce), both open."""
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blobs = [
        kms.encrypt(KeyId=key, Plaintext=b"same", EncryptionContext={"c": "1"})["CiphertextBlob"]
        for _ in range(2)
    ]
    assert blobs[0] != blobs[1]
    assert all(
        kms.decrypt(CiphertextBlob=b, EncryptionContext={"c": "1"})["Plaintext"] == b"same"
        for b in blobs
    )


def test_trap_22_no_account_or_region_inside_the_blob(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    assert (
        b"111122223333" not in blob and b"us-east-1" not in blob and key["Arn"].encode() not in blob
    )
    assert bytes.fromhex(key["KeyId"].replace("-", "")) in blob  # the key id, as 16 raw bytes
    assert (
        bytes.fromhex(key["CurrentKeyMaterialId"]) in blob
    )  # which material: one unwrap, no trial (trap 8)


def test_trap_24_dates_are_epoch_numbers(kms: Any) -> None:
    raw = kms.create_key()
    assert (
        raw["KeyMetadata"]["CreationDate"].year >= 2024
    )  # botocore parsed a number as a timestamp


def test_trap_25_the_same_blob_decrypts_every_time(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    plaintext = os.urandom(32)
    blob = kms.encrypt(KeyId=key, Plaintext=plaintext)["CiphertextBlob"]
    for _ in range(50):
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
