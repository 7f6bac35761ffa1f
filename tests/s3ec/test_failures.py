"""Reading an object that was altered, or with the wrong key or context: the exact error
and code, and nothing left behind — get_object returns nothing, download_file leaves no
file (not even its temporary one)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from sealbox.errors import (
    AuthenticationError,
    ErrorCode,
    KeyringError,
    MalformedMessageError,
    NoDecryptableKeyError,
    PolicyError,
)
from sealbox.format.suites import CommitmentPolicy
from sealbox.keyrings import MultiKeyring
from sealbox.s3ec import S3EncryptionClient
from tests.s3ec.checks import (
    client_of,
    flip,
    legacy_reader,
    other_b64,
    put_raw,
    raw,
    refused,
)
from tests.s3ec.conftest import BUCKET, World
from tests.s3ec.handmade import hand_v1_cbc

CONTEXT = {"purpose": "failures", "team": "sealbox"}
RELAXED = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
V2_WRITER = CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
MiB = 1024 * 1024


# Keys and encryption contexts


@pytest.mark.parametrize("policy", [V2_WRITER, CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT])
@pytest.mark.parametrize(
    "supplied",
    [
        {"purpose": "other", "team": "sealbox"},
        {"purpose": "failures"},
        {**CONTEXT, "extra": "x"},
        {},
    ],
    ids=["other-value", "missing-key", "extra-key", "none"],
)
def test_wrong_encryption_context(
    world: World,
    object_key: str,
    tmp_path: Path,
    policy: CommitmentPolicy,
    supplied: dict[str, str],
) -> None:
    client_of(world, "kms", commitment_policy=policy).put_object(
        Bucket=BUCKET, Key=object_key, Body=b"secret", EncryptionContext=CONTEXT
    )
    reader = client_of(world, "kms", commitment_policy=RELAXED)
    error = refused(
        reader,
        object_key,
        tmp_path,
        PolicyError,
        ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
        EncryptionContext=supplied,
    )
    assert "secret" not in str(error)


def test_context_for_an_object_that_has_none(world: World, object_key: str, tmp_path: Path) -> None:
    client = client_of(world, "kms")
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"no context")
    refused(
        client,
        object_key,
        tmp_path,
        PolicyError,
        ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
        EncryptionContext={"purpose": "x"},
    )


def test_stored_context_altered_to_match_the_callers(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    """The context is bound to the wrapped key by KMS: rewriting x-amz-t to what the
    caller supplies does not make the object readable."""
    client_of(world, "kms").put_object(
        Bucket=BUCKET, Key=object_key, Body=b"bound", EncryptionContext=CONTEXT
    )
    meta, body = raw(s3, object_key)
    forged = {"purpose": "forged", "team": "sealbox"}
    meta["x-amz-t"] = json.dumps({**forged, "aws:x-amz-cek-alg": "115"})
    put_raw(s3, object_key, meta, body)
    error = refused(
        client_of(world, "kms"),
        object_key,
        tmp_path,
        NoDecryptableKeyError,
        ErrorCode.NO_DECRYPTABLE_KEY,
        EncryptionContext=forged,
    )
    assert "InvalidCiphertextException" in str(error)


def test_stored_cipher_in_the_context_altered(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    client_of(world, "kms").put_object(Bucket=BUCKET, Key=object_key, Body=b"x")
    meta, body = raw(s3, object_key)
    meta["x-amz-t"] = json.dumps({"aws:x-amz-cek-alg": "AES/GCM/NoPadding"})
    put_raw(s3, object_key, meta, body)
    refused(
        client_of(world, "kms"),
        object_key,
        tmp_path,
        PolicyError,
        ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
    )


@pytest.mark.parametrize("policy", [V2_WRITER, CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT])
def test_wrong_aes_key(
    world: World, object_key: str, tmp_path: Path, policy: CommitmentPolicy
) -> None:
    client_of(world, "aes", commitment_policy=policy).put_object(
        Bucket=BUCKET, Key=object_key, Body=b"aes"
    )
    other = S3EncryptionClient(
        s3_client=world.s3(), keyring=world.aes_keyring(os.urandom(32)), commitment_policy=RELAXED
    )
    refused(other, object_key, tmp_path, NoDecryptableKeyError, ErrorCode.NO_DECRYPTABLE_KEY)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("policy", [V2_WRITER, CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT])
def test_wrong_rsa_key(
    world: World,
    object_key: str,
    tmp_path: Path,
    policy: CommitmentPolicy,
    other_rsa_key: rsa.RSAPrivateKey,
) -> None:
    client_of(world, "rsa", commitment_policy=policy).put_object(
        Bucket=BUCKET, Key=object_key, Body=b"rsa"
    )
    other = S3EncryptionClient(
        s3_client=world.s3(), keyring=world.rsa_keyring(other_rsa_key), commitment_policy=RELAXED
    )
    refused(other, object_key, tmp_path, NoDecryptableKeyError, ErrorCode.NO_DECRYPTABLE_KEY)


def test_other_kms_key(world: World, object_key: str, tmp_path: Path) -> None:
    """KMS refuses to decrypt with a KeyId other than the one that wrapped the key
    (IncorrectKeyException): no key of the client's unwraps it, and KMS's answer is
    the cause."""
    client_of(world, "kms").put_object(
        Bucket=BUCKET, Key=object_key, Body=b"kms", EncryptionContext=CONTEXT
    )
    other = S3EncryptionClient(s3_client=world.s3(), keyring=world.kms_keyring(world.other_key_arn))
    error = refused(
        other,
        object_key,
        tmp_path,
        NoDecryptableKeyError,
        ErrorCode.NO_DECRYPTABLE_KEY,
        EncryptionContext=CONTEXT,
    )
    assert "IncorrectKeyException" in str(error)
    assert world.other_key_arn in str(error)


def test_no_key_of_a_multi_keyring_unwraps(world: World, object_key: str, tmp_path: Path) -> None:
    """Each key is tried; the error lists why each failed (KMS named, not called: the
    object's key is not a KMS one)."""
    client_of(world, "aes").put_object(Bucket=BUCKET, Key=object_key, Body=b"aes")
    keyring = MultiKeyring(
        generator=world.kms_keyring(world.other_key_arn),
        children=[world.aes_keyring(os.urandom(32))],
    )
    reader = S3EncryptionClient(s3_client=world.s3(), keyring=keyring)
    error = refused(
        reader, object_key, tmp_path, NoDecryptableKeyError, ErrorCode.NO_DECRYPTABLE_KEY
    )
    assert isinstance(error, NoDecryptableKeyError)
    assert len(error.causes) == 2


def test_key_of_another_kind(world: World, object_key: str, tmp_path: Path) -> None:
    client_of(world, "aes").put_object(Bucket=BUCKET, Key=object_key, Body=b"aes")
    refused(
        client_of(world, "rsa"), object_key, tmp_path, KeyringError, ErrorCode.NO_DECRYPTABLE_KEY
    )


# Tampered and truncated objects


@pytest.mark.parametrize("policy", [V2_WRITER, CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT])
@pytest.mark.parametrize("where", ["first", "middle", "tag"])
def test_tampered_body_byte(
    world: World,
    s3: Any,
    object_key: str,
    tmp_path: Path,
    policy: CommitmentPolicy,
    where: str,
) -> None:
    client_of(world, "aes", commitment_policy=policy).put_object(
        Bucket=BUCKET, Key=object_key, Body=os.urandom(1_000)
    )
    meta, body = raw(s3, object_key)
    at = {"first": 0, "middle": 500, "tag": len(body) - 1}[where]
    put_raw(s3, object_key, meta, flip(body, at))
    refused(
        client_of(world, "aes", commitment_policy=RELAXED),
        object_key,
        tmp_path,
        AuthenticationError,
        ErrorCode.CONTENT_AUTH_FAILED,
    )


def test_tampered_body_of_a_multipart_object(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    """Past the 8 MiB held in memory: the spool is on disk when the tag fails."""
    plaintext = os.urandom(11 * MiB)
    writer = S3EncryptionClient(
        s3_client=world.s3(), keyring=world.aes_keyring(), part_size=5 * MiB
    )
    writer.put_object(Bucket=BUCKET, Key=object_key, Body=plaintext)
    meta, body = raw(s3, object_key)
    put_raw(s3, object_key, meta, flip(body, 10 * MiB))
    refused(writer, object_key, tmp_path, AuthenticationError, ErrorCode.CONTENT_AUTH_FAILED)


def test_tampered_v2_iv(world: World, s3: Any, object_key: str, tmp_path: Path) -> None:
    client_of(world, "kms", commitment_policy=V2_WRITER).put_object(
        Bucket=BUCKET, Key=object_key, Body=b"iv"
    )
    meta, body = raw(s3, object_key)
    meta["x-amz-iv"] = other_b64(meta["x-amz-iv"])
    put_raw(s3, object_key, meta, body)
    refused(
        client_of(world, "kms", commitment_policy=RELAXED),
        object_key,
        tmp_path,
        AuthenticationError,
        ErrorCode.CONTENT_AUTH_FAILED,
    )


@pytest.mark.parametrize("field", ["x-amz-d", "x-amz-i"])
@pytest.mark.parametrize("kind", ["aes", "kms"])
def test_tampered_v3_commitment_or_message_id(
    world: World, s3: Any, object_key: str, tmp_path: Path, field: str, kind: str
) -> None:
    client_of(world, kind).put_object(Bucket=BUCKET, Key=object_key, Body=b"committed")
    meta, body = raw(s3, object_key)
    meta[field] = other_b64(meta[field])
    put_raw(s3, object_key, meta, body)
    refused(
        client_of(world, kind),
        object_key,
        tmp_path,
        AuthenticationError,
        ErrorCode.COMMITMENT_MISMATCH,
    )


def test_v3_key_swapped_from_another_object(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    """Another object's wrapped key (valid under the same key) fails the commitment."""
    client = client_of(world, "aes")
    client.put_object(Bucket=BUCKET, Key=object_key, Body=b"one")
    client.put_object(Bucket=BUCKET, Key=object_key + "-2", Body=b"two")
    meta, body = raw(s3, object_key)
    meta["x-amz-3"] = raw(s3, object_key + "-2")[0]["x-amz-3"]
    put_raw(s3, object_key, meta, body)
    refused(client, object_key, tmp_path, AuthenticationError, ErrorCode.COMMITMENT_MISMATCH)


@pytest.mark.parametrize("policy", [V2_WRITER, CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT])
@pytest.mark.parametrize("cut", [1, 16, 17, 500])
def test_truncated_body(
    world: World,
    s3: Any,
    object_key: str,
    tmp_path: Path,
    policy: CommitmentPolicy,
    cut: int,
) -> None:
    """Still at least a tag long: the tag (whatever 16 bytes now end it) does not verify."""
    client_of(world, "aes", commitment_policy=policy).put_object(
        Bucket=BUCKET, Key=object_key, Body=os.urandom(1_000)
    )
    meta, body = raw(s3, object_key)
    put_raw(s3, object_key, meta, body[:-cut])
    refused(
        client_of(world, "aes", commitment_policy=RELAXED),
        object_key,
        tmp_path,
        AuthenticationError,
        ErrorCode.CONTENT_AUTH_FAILED,
    )


@pytest.mark.parametrize("length", [0, 1, 15])
@pytest.mark.parametrize("policy", [V2_WRITER, CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT])
def test_body_shorter_than_a_tag(
    world: World, s3: Any, object_key: str, tmp_path: Path, length: int, policy: CommitmentPolicy
) -> None:
    client_of(world, "aes", commitment_policy=policy).put_object(
        Bucket=BUCKET, Key=object_key, Body=b"abc"
    )
    meta, body = raw(s3, object_key)
    put_raw(s3, object_key, meta, body[:length])
    refused(
        client_of(world, "aes", commitment_policy=RELAXED),
        object_key,
        tmp_path,
        MalformedMessageError,
        ErrorCode.TRUNCATED,
    )


def test_truncated_cbc_body_not_whole_blocks(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    meta, body = hand_v1_cbc(world, os.urandom(100))
    put_raw(s3, object_key, meta, body[:-5])
    refused(legacy_reader(world), object_key, tmp_path, MalformedMessageError, ErrorCode.TRUNCATED)


def test_truncated_cbc_body_caught_by_the_stored_length(
    world: World, s3: Any, object_key: str, tmp_path: Path
) -> None:
    """A CBC body cut by its padding block still unpads (here: the data ends in 0x01);
    x-amz-unencrypted-content-length is what tells."""
    plaintext = os.urandom(31) + b"\x01"
    meta, body = hand_v1_cbc(world, plaintext)
    assert len(body) == 48
    put_raw(s3, object_key, meta, body[:32])
    refused(legacy_reader(world), object_key, tmp_path, MalformedMessageError, ErrorCode.TRUNCATED)


def test_cbc_body_with_bad_padding(world: World, s3: Any, object_key: str, tmp_path: Path) -> None:
    """40 bytes end in eight 0x08 padding bytes; flipping the last bit of the cipher block
    before them turns the last into 0x09, which no padding ends in here. (Flipping the
    last block itself would garble it, and a garbled block ends in valid padding 1 in
    256 times.)"""
    meta, body = hand_v1_cbc(world, os.urandom(40))
    put_raw(s3, object_key, meta, flip(body, len(body) - 17))
    refused(
        legacy_reader(world),
        object_key,
        tmp_path,
        AuthenticationError,
        ErrorCode.CONTENT_AUTH_FAILED,
    )
