"""Ranged gets: refused by default (a range cannot be authenticated); when opted in,
exactly the plaintext bytes asked for, for V2, V3 and legacy CBC objects."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealbox.errors import ErrorCode, PolicyError, UsageError
from sealbox.format.suites import CommitmentPolicy
from sealbox.s3ec import S3EncryptionClient
from tests.s3ec.conftest import BUCKET, World
from tests.s3ec.handmade import hand_v1_cbc

CONTEXT = {"purpose": "ranges"}
RELAXED = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
#: 20 whole blocks and 5 bytes: ranges can start and end on and off block boundaries.
SIZE = 16 * 20 + 5
FORMATS = ["v2", "v3", "cbc"]

few = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Stored:
    key: str
    plaintext: bytes
    reader: S3EncryptionClient
    context: dict[str, str]

    def get(self, header: str) -> bytes:
        answer = self.reader.get_object(
            Bucket=BUCKET, Key=self.key, Range=header, EncryptionContext=self.context
        )
        with answer["Body"] as body:
            data: bytes = body.read()
        assert answer["ContentLength"] == len(data)
        return data


def _reader(world: World, kind: str) -> S3EncryptionClient:
    """A client that allows ranged gets of ``kind`` objects ("aes": any raw AES one)."""
    return S3EncryptionClient(
        s3_client=world.s3(),
        keyring=_keyring_of(world, kind),
        commitment_policy=RELAXED,
        enable_legacy_unauthenticated_modes=True,
        enable_legacy_wrapping_algorithms=kind == "cbc",
    )


def _keyring_of(world: World, kind: str) -> Any:
    return world.kms_keyring() if kind == "v3" else world.aes_keyring()


def _store(world: World, kind: str, key: str, plaintext: bytes) -> Stored:
    """Put ``plaintext`` in format ``kind``: V2 with a raw AES key, V3 with KMS and a
    context, legacy CBC made by hand."""
    context = dict(CONTEXT) if kind == "v3" else {}
    if kind == "cbc":
        meta, body = hand_v1_cbc(world, plaintext)
        world.s3().put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=meta)
    else:
        policy = CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT if kind == "v2" else RELAXED
        writer = S3EncryptionClient(
            s3_client=world.s3(), keyring=_keyring_of(world, kind), commitment_policy=policy
        )
        writer.put_object(Bucket=BUCKET, Key=key, Body=plaintext, EncryptionContext=context)
    return Stored(key, plaintext, _reader(world, kind), context)


@pytest.fixture(scope="module")
def stored(world: World) -> dict[str, Stored]:
    """One object of SIZE bytes per format."""
    return {
        kind: _store(world, kind, f"ranges/{kind}/{os.urandom(4).hex()}", os.urandom(SIZE))
        for kind in FORMATS
    }


def expected(plaintext: bytes, header: str) -> bytes:
    """What an HTTP range of ``plaintext`` is (RFC 9110 §14.1.2)."""
    first, _, last = header.removeprefix("bytes=").partition("-")
    if first == "":
        return plaintext[-int(last) :]
    return plaintext[int(first) : int(last) + 1] if last else plaintext[int(first) :]


@pytest.mark.parametrize("header", ["bytes=0-15", "bytes=16-", "bytes=-1", "bytes=0-"])
@pytest.mark.parametrize("kind", FORMATS)
def test_ranged_get_is_refused_by_default(
    world: World, stored: dict[str, Stored], kind: str, header: str
) -> None:
    item = stored[kind]
    strict = S3EncryptionClient(
        s3_client=world.s3(),
        keyring=_keyring_of(world, kind),
        commitment_policy=RELAXED,
        enable_legacy_wrapping_algorithms=True,
    )
    with pytest.raises(PolicyError) as refused:
        strict.get_object(Bucket=BUCKET, Key=item.key, Range=header, EncryptionContext=item.context)
    assert type(refused.value) is PolicyError
    assert refused.value.code is ErrorCode.UNAUTHENTICATED_RANGE_FORBIDDEN
    assert "enable_legacy_unauthenticated_modes" in str(refused.value)


BOUNDARY_RANGES = [
    "bytes=0-0",  # the first byte
    "bytes=0-15",  # the first block exactly
    "bytes=0-16",  # one byte past it
    "bytes=15-16",  # across the first boundary
    "bytes=16-31",  # the second block exactly
    "bytes=17-17",  # a single byte inside a block
    "bytes=31-32",
    "bytes=15-48",  # several blocks, off boundaries at both ends
    "bytes=32-63",
    "bytes=300-319",  # the last whole block
    "bytes=319-320",  # across the last boundary
    "bytes=320-324",  # the partial last block
    "bytes=324-324",  # the last byte
    "bytes=0-324",  # everything
    "bytes=0-10000",  # past the end: cut to it
    "bytes=100-",
    "bytes=320-",
    "bytes=0-",
    "bytes=-1",
    "bytes=-5",
    "bytes=-16",
    "bytes=-17",
    "bytes=-325",
    "bytes=-100000",  # more than the object: all of it
]


@pytest.mark.parametrize("header", BOUNDARY_RANGES)
@pytest.mark.parametrize("kind", FORMATS)
def test_ranged_get_at_block_boundaries(stored: dict[str, Stored], kind: str, header: str) -> None:
    item = stored[kind]
    assert item.get(header) == expected(item.plaintext, header)


_first = st.integers(min_value=0, max_value=SIZE - 1)
ranges = st.one_of(
    st.tuples(_first, st.integers(min_value=0, max_value=SIZE + 40)).map(
        lambda pair: f"bytes={min(pair)}-{max(pair)}"
    ),
    _first.map(lambda first: f"bytes={first}-"),
    st.integers(min_value=1, max_value=SIZE + 40).map(lambda count: f"bytes=-{count}"),
)


@pytest.mark.parametrize("kind", FORMATS)
@few
@given(header=ranges)
def test_ranged_get_returns_exactly_the_range(
    stored: dict[str, Stored], kind: str, header: str
) -> None:
    item = stored[kind]
    want = expected(item.plaintext, header)
    assert want, header
    assert item.get(header) == want


@pytest.mark.parametrize(
    "header",
    ["bytes=325-", "bytes=400-500", "bytes=10-5", "bytes=-0", "bytes=", "bytes=a-b", "5-6"],
)
@pytest.mark.parametrize("kind", FORMATS)
def test_unsatisfiable_range(stored: dict[str, Stored], kind: str, header: str) -> None:
    with pytest.raises(UsageError) as refused:
        stored[kind].get(header)
    assert type(refused.value) is UsageError
    assert refused.value.code is ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize("kind", FORMATS)
def test_range_of_an_empty_object(world: World, object_key: str, kind: str) -> None:
    item = _store(world, kind, object_key, b"")
    with pytest.raises(UsageError):
        item.get("bytes=0-0")


@pytest.mark.parametrize("kind", FORMATS)
def test_range_across_the_readers_chunks(world: World, object_key: str, kind: str) -> None:
    """A range longer than the 1 MiB the body reads at a time, starting off a block."""
    item = _store(world, kind, object_key, os.urandom(3 * 1024 * 1024 + 7))
    for header in ("bytes=1048571-2097159", "bytes=5-", "bytes=-1048593"):
        assert item.get(header) == expected(item.plaintext, header)


@pytest.mark.parametrize("size", [SIZE, 16 * 20])
def test_range_of_a_cbc_object_without_its_length(world: World, object_key: str, size: int) -> None:
    """Java's clients write no x-amz-unencrypted-content-length: the plaintext length
    must come from the padding, not from the stored length (which counts it)."""
    plaintext = os.urandom(size)
    meta, body = hand_v1_cbc(world, plaintext, with_length=False)
    world.s3().put_object(Bucket=BUCKET, Key=object_key, Body=body, Metadata=meta)
    item = Stored(object_key, plaintext, _reader(world, "cbc"), {})
    for header in ("bytes=0-", "bytes=-5", "bytes=300-", f"bytes=0-{size + 20}", "bytes=310-319"):
        assert item.get(header) == expected(plaintext, header), header
    with pytest.raises(UsageError):  # inside the padding: past the plaintext's end
        item.get(f"bytes={size + 2}-")


def test_range_of_an_object_with_an_instruction_file(world: World, object_key: str) -> None:
    plaintext = os.urandom(SIZE)
    writer = S3EncryptionClient(
        s3_client=world.s3(), keyring=world.aes_keyring(), write_instruction_files=True
    )
    writer.put_object(Bucket=BUCKET, Key=object_key, Body=plaintext)
    item = Stored(object_key, plaintext, _reader(world, "aes"), {})
    assert item.get("bytes=17-40") == plaintext[17:41]


def test_range_of_an_older_version(world: World) -> None:
    """A ranged get of a given VersionId reads that version, as a whole get does."""
    s3 = world.s3()
    bucket = "s3ec-versioned"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client = S3EncryptionClient(
        s3_client=s3, keyring=world.aes_keyring(), enable_legacy_unauthenticated_modes=True
    )
    old, new = os.urandom(100), os.urandom(100)
    first = client.put_object(Bucket=bucket, Key="object", Body=old)
    client.put_object(Bucket=bucket, Key="object", Body=new)
    whole = client.get_object(Bucket=bucket, Key="object", VersionId=first["VersionId"])
    with whole["Body"] as body:
        assert body.read() == old
    ranged = client.get_object(
        Bucket=bucket, Key="object", VersionId=first["VersionId"], Range="bytes=10-19"
    )
    with ranged["Body"] as body:
        assert body.read() == old[10:20]
