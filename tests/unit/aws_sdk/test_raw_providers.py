"""Raw AES and RSA master key providers: round trips, and messages each package reads of the other."""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import pytest

from tests.unit.aws_sdk.helpers import (
    REFERENCE,
    SEALBOX,
    header_summary,
    raw_provider,
    rsa_pems,
    sub,
)

AES_KEY = os.urandom(32)
PRIVATE_PEM, PUBLIC_PEM = rsa_pems()
ALL_SUITES = [suite.name for suite in REFERENCE.Algorithm]


def aes_keys() -> dict[bytes, tuple[str, bytes]]:
    return {b"aes-key": ("aes", AES_KEY)}


def rsa_keys(kind: str = "rsa-private") -> dict[bytes, tuple[str, bytes]]:
    return {b"rsa-key": (kind, PRIVATE_PEM if kind == "rsa-private" else PUBLIC_PEM)}


def client(sdk: ModuleType, algorithm: str | None = None, **config: Any) -> Any:
    """A client whose policy allows ``algorithm`` to encrypt and anything to decrypt."""
    policy = sdk.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
    if algorithm is not None and not sdk.Algorithm[algorithm].is_committing():
        policy = sdk.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    return sdk.EncryptionSDKClient(commitment_policy=policy, **config)


def encrypt(
    sdk: ModuleType, provider: Any, data: bytes, algorithm: str | None = None, **kw: Any
) -> Any:
    extra = {} if algorithm is None else {"algorithm": sdk.Algorithm[algorithm]}
    return client(sdk, algorithm).encrypt(source=data, key_provider=provider, **extra, **kw)


@pytest.mark.parametrize("algorithm", ALL_SUITES)
@pytest.mark.parametrize("keys", ["aes", "rsa"])
def test_every_suite_round_trips_and_reads_across(algorithm: str, keys: str) -> None:
    data = os.urandom(5000)
    context = {"purpose": "test", "ünïcode": "välue"}
    make = aes_keys if keys == "aes" else rsa_keys
    ours, theirs = raw_provider(SEALBOX, make()), raw_provider(REFERENCE, make())

    ciphertext, header = encrypt(SEALBOX, ours, data, algorithm, encryption_context=context)
    assert header.algorithm is SEALBOX.Algorithm[algorithm]
    plaintext, read_header = client(SEALBOX).decrypt(source=ciphertext, key_provider=ours)
    assert plaintext == data
    assert header_summary(read_header) == header_summary(header)
    plaintext, their_header = client(REFERENCE).decrypt(source=ciphertext, key_provider=theirs)
    assert plaintext == data
    assert header_summary(their_header) == header_summary(header)

    ciphertext, their_header = encrypt(
        REFERENCE, theirs, data, algorithm, encryption_context=context
    )
    plaintext, header = client(SEALBOX).decrypt(source=ciphertext, key_provider=ours)
    assert plaintext == data
    assert header_summary(header) == header_summary(their_header)


def test_unsigned_messages_have_the_reference_size() -> None:
    """Same header fields and framing: an unsigned message is as long as the reference's."""
    ours, theirs = raw_provider(SEALBOX, aes_keys()), raw_provider(REFERENCE, aes_keys())
    for length in (0, 1, 4095, 4096, 4097, 20000):
        data = os.urandom(length)
        for frame_length in (128, 4096):
            mine, _ = encrypt(
                SEALBOX, ours, data, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", frame_length=frame_length
            )
            reference, _ = encrypt(
                REFERENCE,
                theirs,
                data,
                "AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
                frame_length=frame_length,
            )
            assert len(mine) == len(reference)


def test_several_master_keys_each_decrypt_alone() -> None:
    keys = {**aes_keys(), **rsa_keys(), b"second-aes": ("aes", os.urandom(16))}
    provider = raw_provider(SEALBOX, keys)
    ciphertext, header = encrypt(SEALBOX, provider, b"secret")
    assert len(header.encrypted_data_keys) == 3
    for key_id in keys:
        alone = raw_provider(REFERENCE, {key_id: keys[key_id]})
        assert client(REFERENCE).decrypt(source=ciphertext, key_provider=alone)[0] == b"secret"
        alone = raw_provider(SEALBOX, {key_id: keys[key_id]})
        assert client(SEALBOX).decrypt(source=ciphertext, key_provider=alone)[0] == b"secret"


def test_the_primary_master_key_comes_first_in_the_header() -> None:
    """The reference writes its EDK set in no set order; Sealbox keeps the provider's order."""
    keys = {b"first": ("aes", os.urandom(32)), b"second": ("aes", os.urandom(32))}
    ciphertext, _ = encrypt(SEALBOX, raw_provider(SEALBOX, keys, key_ids=("first", "second")), b"x")
    from sealbox.format.header import parse_header

    parsed = parse_header(ciphertext)
    assert parsed is not None
    names = [edk.provider_info[: len(b"second")] for edk in parsed.header.encrypted_data_keys]
    assert names == [b"first\x00", b"second"]


def test_an_rsa_public_key_encrypts_and_only_the_private_key_decrypts() -> None:
    public_only = raw_provider(SEALBOX, rsa_keys("rsa-public"))
    ciphertext, _ = encrypt(SEALBOX, public_only, b"for the holder of the private key")
    with pytest.raises(SEALBOX.exceptions.DecryptKeyError):
        client(SEALBOX).decrypt(source=ciphertext, key_provider=public_only)
    private = raw_provider(REFERENCE, rsa_keys("rsa-private"))
    assert client(REFERENCE).decrypt(source=ciphertext, key_provider=private)[0].startswith(b"for")


@pytest.mark.parametrize(
    "algorithm",
    [
        "RSA_PKCS1",
        "RSA_OAEP_SHA1_MGF1",
        "RSA_OAEP_SHA256_MGF1",
        "RSA_OAEP_SHA384_MGF1",
        "RSA_OAEP_SHA512_MGF1",
    ],
)
def test_wrapping_keys_unwrap_each_others_rsa(algorithm: str) -> None:
    """WrappingKey.encrypt/decrypt, called directly as some users do, interoperate."""
    ours = sub(SEALBOX, "internal.crypto.wrapping_keys").WrappingKey(
        wrapping_algorithm=SEALBOX.identifiers.WrappingAlgorithm[algorithm],
        wrapping_key=PRIVATE_PEM,
        wrapping_key_type=SEALBOX.identifiers.EncryptionKeyType.PRIVATE,
    )
    theirs = sub(REFERENCE, "internal.crypto.wrapping_keys").WrappingKey(
        wrapping_algorithm=REFERENCE.identifiers.WrappingAlgorithm[algorithm],
        wrapping_key=PRIVATE_PEM,
        wrapping_key_type=REFERENCE.identifiers.EncryptionKeyType.PRIVATE,
    )
    wrapped = ours.encrypt(plaintext_data_key=b"k" * 32, encryption_context={})
    assert wrapped.iv is None and wrapped.tag is None
    assert theirs.decrypt(encrypted_wrapped_data_key=wrapped, encryption_context={}) == b"k" * 32
    wrapped = theirs.encrypt(plaintext_data_key=b"j" * 32, encryption_context={})
    assert ours.decrypt(encrypted_wrapped_data_key=wrapped, encryption_context={}) == b"j" * 32


def test_aes_wrapping_keys_bind_the_encryption_context() -> None:
    wrapping_keys = sub(SEALBOX, "internal.crypto.wrapping_keys")
    ids = SEALBOX.identifiers
    key = wrapping_keys.WrappingKey(
        wrapping_algorithm=ids.WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
        wrapping_key=AES_KEY,
        wrapping_key_type=ids.EncryptionKeyType.SYMMETRIC,
    )
    theirs = sub(REFERENCE, "internal.crypto.wrapping_keys").WrappingKey(
        wrapping_algorithm=REFERENCE.identifiers.WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
        wrapping_key=AES_KEY,
        wrapping_key_type=REFERENCE.identifiers.EncryptionKeyType.SYMMETRIC,
    )
    wrapped = key.encrypt(plaintext_data_key=b"d" * 32, encryption_context={"a": "b"})
    assert (len(wrapped.iv), len(wrapped.tag)) == (12, 16)
    assert (
        theirs.decrypt(encrypted_wrapped_data_key=wrapped, encryption_context={"a": "b"})
        == b"d" * 32
    )
    with pytest.raises(SEALBOX.exceptions.InvalidTag):
        key.decrypt(encrypted_wrapped_data_key=wrapped, encryption_context={"a": "c"})


def test_raw_master_key_edks_are_owned_by_the_right_key() -> None:
    provider = raw_provider(SEALBOX, {**aes_keys(), **rsa_keys()})
    aes = provider.master_key(b"aes-key")
    rsa_key = provider.master_key("rsa-key")
    algorithm = SEALBOX.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
    data_key = aes.generate_data_key(algorithm, {"c": "d"})
    edk = SEALBOX.structures.EncryptedDataKey(data_key.key_provider, data_key.encrypted_data_key)
    assert aes.owns_data_key(edk) and not rsa_key.owns_data_key(edk)
    assert aes.decrypt_data_key(edk, algorithm, {"c": "d"}) == data_key
    rewrapped = rsa_key.encrypt_data_key(data_key, algorithm, {"c": "d"})
    assert rsa_key.owns_data_key(rewrapped) and not aes.owns_data_key(rewrapped)
    assert rsa_key.decrypt_data_key(rewrapped, algorithm, {}).data_key == data_key.data_key
    with pytest.raises(SEALBOX.exceptions.IncorrectMasterKeyError):
        aes.decrypt_data_key(rewrapped, algorithm, {})
