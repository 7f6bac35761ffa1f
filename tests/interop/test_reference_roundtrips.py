"""Differential round trips with the reference aws-encryption-sdk, in both directions.

Matrix: 11 suites x frame lengths (128, 4096, 65536; and 0 = non-framed, reference
to ours only) x plaintext lengths around the frame boundary x keyrings (raw AES,
raw RSA OAEP-SHA256 and PKCS#1) x encryption contexts. Same plaintext and context
every time, one-shot and streaming.
"""

from __future__ import annotations

import os

import pytest

import sealbox
from sealbox.format.context import PUBLIC_KEY_FIELD
from tests.interop.reference import clients_for, ours, reference_algorithm, reference_provider

CONTEXTS = [
    {},
    {"purpose": "тест", "ключ": "значение", "emoji": "😀", "\x01\x02\x03": ' "D'},
    {f"key-{i:03}": f"value-{i}" for i in range(40)},
]
KEYRINGS = ["aes", "OAEP_SHA256_MGF1", "PKCS1"]


def lengths(frame: int) -> list[int]:
    size = frame or 4096
    return sorted({0, 1, size - 1, size, size + 1, 3 * size + 7})


def _stored(header: sealbox.MessageHeader) -> dict[str, str]:
    return {k: v for k, v in header.encryption_context.items() if k != PUBLIC_KEY_FIELD}


@pytest.mark.parametrize("kind", KEYRINGS)
@pytest.mark.parametrize("frame", [0, 128, 4096, 65536])
@pytest.mark.parametrize("algorithm", list(sealbox.Algorithm), ids=lambda a: f"{a.suite_id:04x}")
def test_reference_to_ours(algorithm: sealbox.Algorithm, frame: int, kind: str) -> None:
    clients = clients_for(algorithm)
    keyring, provider = ours(kind), reference_provider(kind)
    for length in lengths(frame):
        for context in CONTEXTS:
            plaintext = os.urandom(length)
            ciphertext, _ = clients.reference.encrypt(
                source=plaintext,
                key_provider=provider,
                encryption_context=context,
                algorithm=reference_algorithm(algorithm),
                frame_length=frame,
            )
            result, header = clients.ours.decrypt(source=ciphertext, keyring=keyring)
            where = f"length={length} context={list(context)[:2]}"
            assert result == plaintext, where
            assert _stored(header) == context, where
            assert header.algorithm is algorithm
            streamed = clients.ours.stream(mode="d", source=ciphertext, keyring=keyring)
            assert b"".join(streamed) == plaintext, where


@pytest.mark.parametrize("kind", KEYRINGS)
@pytest.mark.parametrize("frame", [128, 4096, 65536])
@pytest.mark.parametrize("algorithm", list(sealbox.Algorithm), ids=lambda a: f"{a.suite_id:04x}")
def test_ours_to_reference(algorithm: sealbox.Algorithm, frame: int, kind: str) -> None:
    clients = clients_for(algorithm)
    keyring, provider = ours(kind), reference_provider(kind)
    for length in lengths(frame):
        for context in CONTEXTS:
            plaintext = os.urandom(length)
            ciphertext, written = clients.ours.encrypt(
                source=plaintext,
                keyring=keyring,
                encryption_context=context,
                algorithm=algorithm,
                frame_length=frame,
            )
            result, header = clients.reference.decrypt(source=ciphertext, key_provider=provider)
            where = f"length={length} context={list(context)[:2]}"
            assert result == plaintext, where
            assert {
                k: v for k, v in header.encryption_context.items() if k != PUBLIC_KEY_FIELD
            } == context
            assert dict(header.encryption_context) == dict(written.encryption_context)


@pytest.mark.parametrize("algorithm", list(sealbox.Algorithm), ids=lambda a: f"{a.suite_id:04x}")
def test_streamed_encrypt_to_reference(algorithm: sealbox.Algorithm) -> None:
    clients = clients_for(algorithm)
    plaintext = os.urandom(3 * 4096 + 7)
    stream = clients.ours.stream(
        mode="e", source=plaintext, keyring=ours("aes"), algorithm=algorithm
    )
    ciphertext = b"".join(stream)
    result, _ = clients.reference.decrypt(source=ciphertext, key_provider=reference_provider("aes"))
    assert result == plaintext


@pytest.mark.parametrize(
    "algorithm",
    [
        sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
        sealbox.Algorithm.AES_128_GCM_IV12_TAG16_HKDF_SHA256,
    ],
)
def test_two_encrypted_data_keys_both_ways(algorithm: sealbox.Algorithm) -> None:
    clients = clients_for(algorithm)
    plaintext = os.urandom(5000)
    ciphertext, header = clients.ours.encrypt(
        source=plaintext, keyring=ours("aes+rsa"), algorithm=algorithm
    )
    assert [edk.provider_info[:3] for edk in header.encrypted_data_keys] == [b"aes", b"OAE"]
    assert (
        clients.reference.decrypt(source=ciphertext, key_provider=reference_provider("aes+rsa"))[0]
        == plaintext
    )
    # each key alone opens the message
    assert clients.ours.decrypt(source=ciphertext, keyring=ours("OAEP_SHA256_MGF1"))[0] == plaintext
    theirs, _ = clients.reference.encrypt(
        source=plaintext,
        key_provider=reference_provider("aes+rsa"),
        algorithm=reference_algorithm(algorithm),
    )
    assert len(clients.ours.decrypt(source=theirs, keyring=ours("aes"))[1].encrypted_data_keys) == 2
    assert clients.ours.decrypt(source=theirs, keyring=ours("OAEP_SHA256_MGF1"))[0] == plaintext
