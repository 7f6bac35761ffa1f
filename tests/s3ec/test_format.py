"""Known-answer tests of the S3 encryption client's object format.

Every expected value is computed here, from the format's published description
(HKDF-SHA512 written out with hmac, AES-GCM and RSA-OAEP from pyca/cryptography, KMS
Decrypt called directly), never with sealbox.s3ec's own helpers: objects Sealbox
writes are taken apart by hand, and objects made by hand are read by Sealbox.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealbox.errors import ErrorCode, SealboxError
from sealbox.format.suites import CommitmentPolicy
from sealbox.s3ec import S3EncryptionClient
from sealbox.s3ec.envelope import decode_s3_header
from tests.s3ec.conftest import BUCKET, World
from tests.s3ec.handmade import (
    OAEP_SHA1,
    RELAXED,
    SUITE_V3,
    V2_CIPHER,
    V2_REQUIRED,
    V2_WRAP_NAMES,
    V2_WRITER,
    V3_CIPHER,
    V3_IV,
    V3_REQUIRED,
    V3_WRAP_CODES,
    b64,
    hand_v1_cbc,
    hand_v2,
    hand_v3,
    hkdf_sha512_expand,
    hkdf_sha512_extract,
    s3_double_encoded,
    unb64,
    v3_commitment_and_key,
)

CONTEXT = {"purpose": "format", "team": "sealbox"}


# Fixtures and small helpers


def _keyring(world: World, kind: str) -> Any:
    if kind == "kms":
        return world.kms_keyring()
    return world.aes_keyring() if kind == "aes" else world.rsa_keyring()


def _client(world: World, kind: str, **options: Any) -> S3EncryptionClient:
    return S3EncryptionClient(s3_client=world.s3(), keyring=_keyring(world, kind), **options)


def _context(kind: str) -> dict[str, str]:
    return dict(CONTEXT) if kind == "kms" else {}


def _raw(s3: Any, key: str) -> tuple[dict[str, str], bytes]:
    """The object's metadata and stored bytes, as plain S3 answers them."""
    head = s3.head_object(Bucket=BUCKET, Key=key)
    with s3.get_object(Bucket=BUCKET, Key=key)["Body"] as body:
        data: bytes = body.read()
    assert head["ContentLength"] == len(data)
    return dict(head["Metadata"]), data


def _instruction_file(s3: Any, key: str, suffix: str = ".instruction") -> dict[str, str]:
    with s3.get_object(Bucket=BUCKET, Key=key + suffix)["Body"] as body:
        loaded: dict[str, str] = json.loads(body.read())
    return loaded


def _read(client: S3EncryptionClient, key: str, **options: Any) -> bytes:
    with client.get_object(Bucket=BUCKET, Key=key, **options)["Body"] as body:
        data: bytes = body.read()
    return data


def _unwrap_by_hand(world: World, kind: str, meta: dict[str, str], cipher_name: str) -> bytes:
    """The data key, unwrapped as the format describes (not with Sealbox)."""
    wrapped = unb64(meta["x-amz-3"] if cipher_name == V3_CIPHER else meta["x-amz-key-v2"])
    if kind == "aes":
        assert len(wrapped) == 12 + 32 + 16
        return AESGCM(world.aes_key).decrypt(wrapped[:12], wrapped[12:], cipher_name.encode())
    if kind == "rsa":
        pseudo = world.rsa_private.decrypt(wrapped, OAEP_SHA1)
        assert pseudo[0] == 32
        assert pseudo[33:] == cipher_name.encode()
        return pseudo[1:33]
    stored = json.loads(meta["x-amz-t"] if cipher_name == V3_CIPHER else meta["x-amz-matdesc"])
    answer = world.kms_client().decrypt(CiphertextBlob=wrapped, EncryptionContext=stored)
    assert answer["KeyId"] == world.key_arn
    data_key: bytes = answer["Plaintext"]
    return data_key


def _decrypt_v3_by_hand(world: World, kind: str, meta: dict[str, str], body: bytes) -> bytes:
    data_key = _unwrap_by_hand(world, kind, meta, V3_CIPHER)
    message_id = unb64(meta["x-amz-i"])
    assert len(message_id) == 28
    commitment, content_key = v3_commitment_and_key(data_key, message_id)
    assert unb64(meta["x-amz-d"]) == commitment
    return AESGCM(content_key).decrypt(V3_IV, body, SUITE_V3)


def _decrypt_v2_by_hand(world: World, kind: str, meta: dict[str, str], body: bytes) -> bytes:
    data_key = _unwrap_by_hand(world, kind, meta, V2_CIPHER)
    iv = unb64(meta["x-amz-iv"])
    assert len(iv) == 12
    return AESGCM(data_key).decrypt(iv, body, None)


# Objects Sealbox writes, taken apart by hand


def test_v3_raw_aes_object_decrypts_by_hand(world: World, s3: Any, object_key: str) -> None:
    plaintext = os.urandom(1_007)
    _client(world, "aes").put_object(Bucket=BUCKET, Key=object_key, Body=plaintext)
    meta, body = _raw(s3, object_key)
    assert set(meta) == V3_REQUIRED
    assert meta["x-amz-c"] == "115"
    assert meta["x-amz-w"] == "02"
    assert len(unb64(meta["x-amz-3"])) == 60
    assert len(unb64(meta["x-amz-d"])) == 28
    assert len(body) == len(plaintext) + 16
    # unwrap step by step, as the facts file describes it
    wrapped = unb64(meta["x-amz-3"])
    data_key = AESGCM(world.aes_key).decrypt(wrapped[:12], wrapped[12:], b"115")
    prk = hkdf_sha512_extract(unb64(meta["x-amz-i"]), data_key)
    assert hkdf_sha512_expand(prk, b"\x00\x73COMMITKEY", 28) == unb64(meta["x-amz-d"])
    content_key = hkdf_sha512_expand(prk, b"\x00\x73DERIVEKEY", 32)
    assert AESGCM(content_key).decrypt(b"\x01" * 12, body, b"\x00\x73") == plaintext


def test_v3_raw_aes_object_stores_a_given_material_description(
    world: World, s3: Any, object_key: str
) -> None:
    described = {"key": "backup-2024", "owner": "ops"}
    writer = _client(world, "aes", material_description=described)
    writer.put_object(Bucket=BUCKET, Key=object_key, Body=b"described")
    meta, body = _raw(s3, object_key)
    assert set(meta) == V3_REQUIRED | {"x-amz-m"}
    assert json.loads(meta["x-amz-m"]) == described
    assert _decrypt_v3_by_hand(world, "aes", meta, body) == b"described"
    assert _read(writer, object_key) == b"described"


def test_v3_kms_object_decrypts_by_hand(world: World, s3: Any, object_key: str) -> None:
    plaintext = os.urandom(4_099)
    writer = _client(world, "kms")
    writer.put_object(Bucket=BUCKET, Key=object_key, Body=plaintext, EncryptionContext=CONTEXT)
    meta, body = _raw(s3, object_key)
    assert set(meta) == V3_REQUIRED | {"x-amz-t"}
    assert meta["x-amz-c"] == "115"
    assert meta["x-amz-w"] == "12"
    assert json.loads(meta["x-amz-t"]) == {**CONTEXT, "aws:x-amz-cek-alg": "115"}
    assert _decrypt_v3_by_hand(world, "kms", meta, body) == plaintext


def test_v3_kms_object_without_context_still_stores_the_cipher(
    world: World, s3: Any, object_key: str
) -> None:
    _client(world, "kms").put_object(Bucket=BUCKET, Key=object_key, Body=b"abc")
    meta, body = _raw(s3, object_key)
    assert json.loads(meta["x-amz-t"]) == {"aws:x-amz-cek-alg": "115"}
    assert _decrypt_v3_by_hand(world, "kms", meta, body) == b"abc"


def test_v3_rsa_object_decrypts_by_hand(world: World, s3: Any, object_key: str) -> None:
    plaintext = os.urandom(333)
    _client(world, "rsa").put_object(Bucket=BUCKET, Key=object_key, Body=plaintext)
    meta, body = _raw(s3, object_key)
    assert set(meta) == V3_REQUIRED
    assert meta["x-amz-w"] == "22"
    pseudo = world.rsa_private.decrypt(unb64(meta["x-amz-3"]), OAEP_SHA1)
    assert len(pseudo) == 1 + 32 + 3
    assert pseudo[0] == 32
    assert pseudo[33:] == b"115"
    assert _decrypt_v3_by_hand(world, "rsa", meta, body) == plaintext


@pytest.mark.parametrize("kind", ["aes", "kms", "rsa"])
def test_v2_object_decrypts_by_hand(world: World, s3: Any, object_key: str, kind: str) -> None:
    plaintext = os.urandom(2_049)
    writer = _client(world, kind, commitment_policy=V2_WRITER)
    writer.put_object(
        Bucket=BUCKET, Key=object_key, Body=plaintext, EncryptionContext=_context(kind)
    )
    meta, body = _raw(s3, object_key)
    assert set(meta) == V2_REQUIRED | {"x-amz-unencrypted-content-length"}
    assert meta["x-amz-cek-alg"] == "AES/GCM/NoPadding"
    assert meta["x-amz-wrap-alg"] == V2_WRAP_NAMES[kind]
    assert meta["x-amz-tag-len"] == "128"
    assert meta["x-amz-unencrypted-content-length"] == str(len(plaintext))
    assert len(unb64(meta["x-amz-iv"])) == 12
    matdesc = json.loads(meta["x-amz-matdesc"])
    if kind == "kms":
        assert matdesc == {**CONTEXT, "aws:x-amz-cek-alg": "AES/GCM/NoPadding"}
    else:
        assert matdesc == {}
    if kind == "rsa":
        pseudo = world.rsa_private.decrypt(unb64(meta["x-amz-key-v2"]), OAEP_SHA1)
        assert pseudo[33:] == b"AES/GCM/NoPadding"
    assert len(body) == len(plaintext) + 16
    assert _decrypt_v2_by_hand(world, kind, meta, body) == plaintext


def test_v2_raw_key_object_stores_its_material_description(
    world: World, s3: Any, object_key: str
) -> None:
    writer = _client(world, "rsa", commitment_policy=V2_WRITER, material_description={"k": "v"})
    writer.put_object(Bucket=BUCKET, Key=object_key, Body=b"rsa")
    meta, body = _raw(s3, object_key)
    assert json.loads(meta["x-amz-matdesc"]) == {"k": "v"}
    assert _decrypt_v2_by_hand(world, "rsa", meta, body) == b"rsa"


# Objects made by hand, read by Sealbox


@pytest.mark.parametrize("kind", ["aes", "kms", "rsa"])
def test_sealbox_reads_a_v3_object_made_by_hand(
    world: World, s3: Any, object_key: str, kind: str
) -> None:
    plaintext = os.urandom(5_003)
    meta, body = hand_v3(world, kind, plaintext, _context(kind))
    s3.put_object(Bucket=BUCKET, Key=object_key, Body=body, Metadata=meta)
    got = _client(world, kind).get_object(
        Bucket=BUCKET, Key=object_key, EncryptionContext=_context(kind)
    )
    with got["Body"] as plain:
        assert plain.read() == plaintext
    assert got["ContentLength"] == len(plaintext)


@pytest.mark.parametrize("kind", ["aes", "kms", "rsa"])
def test_sealbox_reads_a_v2_object_made_by_hand(
    world: World, s3: Any, object_key: str, kind: str
) -> None:
    plaintext = os.urandom(5_003)
    meta, body = hand_v2(world, kind, plaintext, _context(kind))
    s3.put_object(Bucket=BUCKET, Key=object_key, Body=body, Metadata=meta)
    reader = _client(world, kind, commitment_policy=RELAXED)
    assert _read(reader, object_key, EncryptionContext=_context(kind)) == plaintext


def test_sealbox_reads_a_v3_object_with_an_empty_material_description_written(
    world: World, s3: Any, object_key: str
) -> None:
    """Ruby's V3 client writes x-amz-m="{}" where Java leaves it out; both must read."""
    meta, body = hand_v3(world, "aes", b"ruby style")
    s3.put_object(Bucket=BUCKET, Key=object_key, Body=body, Metadata={**meta, "x-amz-m": "{}"})
    assert _read(_client(world, "aes"), object_key) == b"ruby style"


@pytest.mark.parametrize("size", [0, 15, 16, 1_000])
def test_sealbox_reads_a_legacy_cbc_object_made_by_hand(
    world: World, s3: Any, object_key: str, size: int
) -> None:
    plaintext = os.urandom(size)
    meta, body = hand_v1_cbc(world, plaintext)
    assert len(body) == (size // 16 + 1) * 16
    s3.put_object(Bucket=BUCKET, Key=object_key, Body=body, Metadata=meta)
    reader = _client(
        world,
        "aes",
        commitment_policy=RELAXED,
        enable_legacy_unauthenticated_modes=True,
        enable_legacy_wrapping_algorithms=True,
    )
    assert _read(reader, object_key) == plaintext


# Instruction files


def test_v2_instruction_file_holds_the_envelope(world: World, s3: Any, object_key: str) -> None:
    plaintext = os.urandom(777)
    writer = _client(world, "kms", commitment_policy=V2_WRITER, write_instruction_files=True)
    writer.put_object(Bucket=BUCKET, Key=object_key, Body=plaintext, EncryptionContext=CONTEXT)
    meta, body = _raw(s3, object_key)
    assert meta == {"x-amz-unencrypted-content-length": str(len(plaintext))}
    instruction = _instruction_file(s3, object_key)
    assert set(instruction) == V2_REQUIRED
    assert instruction["x-amz-wrap-alg"] == "kms+context"
    assert _decrypt_v2_by_hand(world, "kms", instruction, body) == plaintext
    reader = _client(world, "kms", commitment_policy=RELAXED)
    assert _read(reader, object_key, EncryptionContext=CONTEXT) == plaintext


@pytest.mark.parametrize("kind", ["aes", "kms"])
def test_v3_instruction_file_holds_the_key_and_the_object_the_commitment(
    world: World, s3: Any, object_key: str, kind: str
) -> None:
    plaintext = os.urandom(778)
    writer = _client(world, kind, material_description={"key": "k1"} if kind == "aes" else None)
    writer.put_object(
        Bucket=BUCKET,
        Key=object_key,
        Body=plaintext,
        EncryptionContext=_context(kind),
        InstructionFile=True,
    )
    meta, body = _raw(s3, object_key)
    assert set(meta) == {"x-amz-c", "x-amz-d", "x-amz-i"}
    assert meta["x-amz-c"] == "115"
    instruction = _instruction_file(s3, object_key)
    described = "x-amz-t" if kind == "kms" else "x-amz-m"
    assert set(instruction) == {"x-amz-3", "x-amz-w", described}
    assert instruction["x-amz-w"] == V3_WRAP_CODES[kind]
    assert _decrypt_v3_by_hand(world, kind, {**meta, **instruction}, body) == plaintext
    assert _read(_client(world, kind), object_key, EncryptionContext=_context(kind)) == plaintext


def test_sealbox_reads_a_java_style_v2_instruction_file(
    world: World, s3: Any, object_key: str
) -> None:
    """Java keeps no S3EC key at all on the object; the instruction file has them all."""
    meta, body = hand_v2(world, "aes", b"java v3 client")
    s3.put_object(Bucket=BUCKET, Key=object_key, Body=body, Metadata={"owner": "ops"})
    s3.put_object(Bucket=BUCKET, Key=object_key + ".instruction", Body=json.dumps(meta).encode())
    got = _client(world, "aes", commitment_policy=RELAXED).get_object(Bucket=BUCKET, Key=object_key)
    with got["Body"] as plain:
        assert plain.read() == b"java v3 client"
    assert got["Metadata"] == {"owner": "ops"}


def test_instruction_file_with_a_custom_suffix(world: World, s3: Any, object_key: str) -> None:
    meta, body = hand_v3(world, "rsa", b"re-wrapped")
    on_object = {k: meta[k] for k in ("x-amz-c", "x-amz-d", "x-amz-i")}
    in_file = {k: v for k, v in meta.items() if k not in on_object}
    s3.put_object(Bucket=BUCKET, Key=object_key, Body=body, Metadata=on_object)
    s3.put_object(Bucket=BUCKET, Key=object_key + ".rewrap", Body=json.dumps(in_file).encode())
    reader = _client(world, "rsa")
    assert _read(reader, object_key, InstructionFileSuffix=".rewrap") == b"re-wrapped"
    with pytest.raises(SealboxError) as missing:  # its exact class: test_failures.py
        reader.get_object(Bucket=BUCKET, Key=object_key)
    assert missing.value.code is ErrorCode.OBJECT_METADATA_INVALID


# S3's double encoding of non-ASCII metadata


def test_decode_s3_header_undoes_the_double_encoding() -> None:
    text = '{"name":"Zoë","city":"Kraków","kanji":"鍵","emoji":"🔐"}'
    assert decode_s3_header(s3_double_encoded(text)) == text


def test_decode_s3_header_joins_encoded_words() -> None:
    text = '{"å":"ø"}'
    doubled = text.encode("utf-8").decode("latin-1").encode("utf-8")
    middle = len(doubled) // 2
    while doubled[middle] & 0xC0 == 0x80:  # split between characters
        middle += 1
    words = [f"=?UTF-8?B?{b64(part)}?=" for part in (doubled[:middle], doubled[middle:])]
    assert decode_s3_header(" ".join(words)) == text


def test_decode_s3_header_reads_q_encoding() -> None:
    doubled = "é".encode().decode("latin-1").encode("utf-8")
    quoted = "".join(f"={byte:02X}" for byte in doubled)
    assert decode_s3_header(f"=?UTF-8?Q?{quoted}?=") == "é"


@pytest.mark.parametrize("value", ["{}", '{"a":"b"}', "=not an encoded word", ""])
def test_decode_s3_header_leaves_other_values_alone(value: str) -> None:
    assert decode_s3_header(value) == value


def test_non_ascii_context_is_stored_as_ascii_json(world: World, s3: Any, object_key: str) -> None:
    context = {"名前": "値", "ville": "Montréal"}
    writer = _client(world, "kms")
    writer.put_object(Bucket=BUCKET, Key=object_key, Body=b"unicode", EncryptionContext=context)
    meta, body = _raw(s3, object_key)
    assert meta["x-amz-t"].isascii()
    assert json.loads(meta["x-amz-t"]) == {**context, "aws:x-amz-cek-alg": "115"}
    assert _decrypt_v3_by_hand(world, "kms", meta, body) == b"unicode"
    assert _read(writer, object_key, EncryptionContext=context) == b"unicode"


def test_sealbox_reads_a_double_encoded_context(world: World, s3: Any, object_key: str) -> None:
    """The stored context as S3 answers it to other clients' non-ASCII JSON."""
    context = {"name": "Zoë", "鍵": "🔐"}
    meta, body = hand_v3(world, "kms", b"double", context)
    stored = {**context, "aws:x-amz-cek-alg": "115"}
    meta["x-amz-t"] = s3_double_encoded(json.dumps(stored, ensure_ascii=False))
    s3.put_object(Bucket=BUCKET, Key=object_key, Body=body, Metadata=meta)
    assert _read(_client(world, "kms"), object_key, EncryptionContext=context) == b"double"


# Sizes: empty, one byte, around the 16-byte block


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 31, 32, 33])
@pytest.mark.parametrize("policy", [V2_WRITER, CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT])
def test_small_sizes_round_trip(
    world: World, s3: Any, object_key: str, size: int, policy: CommitmentPolicy
) -> None:
    plaintext = os.urandom(size)
    client = _client(world, "aes", commitment_policy=policy)
    client.put_object(Bucket=BUCKET, Key=object_key, Body=plaintext)
    meta, body = _raw(s3, object_key)
    assert len(body) == size + 16
    if policy is V2_WRITER:
        assert _decrypt_v2_by_hand(world, "aes", meta, body) == plaintext
        reader = _client(world, "aes", commitment_policy=RELAXED)
    else:
        assert _decrypt_v3_by_hand(world, "aes", meta, body) == plaintext
        reader = client
    got = reader.get_object(Bucket=BUCKET, Key=object_key)
    with got["Body"] as plain:
        assert plain.read() == plaintext
    assert got["ContentLength"] == size


def test_sealbox_reads_an_empty_object_made_by_hand(world: World, s3: Any, object_key: str) -> None:
    meta, body = hand_v3(world, "aes", b"")
    assert len(body) == 16
    s3.put_object(Bucket=BUCKET, Key=object_key, Body=body, Metadata=meta)
    assert _read(_client(world, "aes"), object_key) == b""
