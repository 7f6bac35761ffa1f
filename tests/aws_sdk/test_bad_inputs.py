"""Issue 13, differential: the same bad input ends the same way in every module, with
the exception class the reference raises (pinned here, so the table also documents the
reference's behaviour, surprising parts included: a wrong raw AES key surfaces as
cryptography's ``InvalidTag``, an unknown stream mode as ``KeyError``)."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from sealbox.errors import SealboxError
from tests.aws_sdk.differential import (
    MODULES,
    REFERENCE,
    assert_alike,
    client,
    name,
    outcome,
    parsed,
)
from tests.aws_sdk.modules import submodule
from tests.aws_sdk.providers import master_key, provider, provider_class

COMMIT_SIGNED = "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"
COMMIT = "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"
LEGACY = "AES_256_GCM_IV12_TAG16_HKDF_SHA256"
LEGACY_SIGNED = "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384"

Case = Callable[[ModuleType], object]
CASES: dict[str, tuple[str, str | None, Case]] = {}


def case(expected: str, *, sealbox: str | None = None) -> Callable[[Case], Case]:
    """Register a bad input and the outcome the reference gives it; ``sealbox``: the
    outcome of Sealbox's drop-in where it is deliberately stricter (each such case is
    listed in docs/migrating.md)."""

    def register(function: Case) -> Case:
        CASES[function.__name__] = (expected, sealbox, function)
        return function

    return register


def aes(m: ModuleType) -> Any:
    return master_key(m, "aes256")


def policy(m: ModuleType, name: str) -> Any:
    return m.EncryptionSDKClient(commitment_policy=m.CommitmentPolicy[name])


def sealed(algorithm: str = COMMIT_SIGNED, **options: Any) -> bytes:
    """A message for the decrypting cases, written by the reference: what one module
    writes is not what another is asked to read."""
    message: bytes = client(REFERENCE, algorithm).encrypt(
        source=b"x" * 5000,
        key_provider=aes(REFERENCE),
        algorithm=REFERENCE.Algorithm[algorithm],
        **options,
    )[0]
    return message


def cache_cmm(m: ModuleType, **options: Any) -> Any:
    return m.CachingCryptoMaterialsManager(cache=m.LocalCryptoMaterialsCache(10), **options)


# -- commitment policy ------------------------------------------------------------------


@case("ActionNotAllowedError")
def non_committing_suite_under_the_default_policy(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(
        source=b"x", key_provider=aes(m), algorithm=m.Algorithm[LEGACY]
    )


@case("ActionNotAllowedError")
def committing_suite_under_forbid_encrypt(m: ModuleType) -> object:
    return policy(m, "FORBID_ENCRYPT_ALLOW_DECRYPT").encrypt(
        source=b"x", key_provider=aes(m), algorithm=m.Algorithm[COMMIT]
    )


@case("ActionNotAllowedError")
def non_committed_message_under_require_decrypt(m: ModuleType) -> object:
    return m.EncryptionSDKClient().decrypt(source=sealed(LEGACY), key_provider=aes(m))


@case("ActionNotAllowedError")
def signed_message_in_decrypt_unsigned_mode(m: ModuleType) -> object:
    with m.EncryptionSDKClient().stream(
        mode="decrypt-unsigned", source=sealed(), key_provider=aes(m)
    ) as decryptor:
        return decryptor.read()


@case("TypeError")
def commitment_policy_not_a_commitment_policy(m: ModuleType) -> object:
    return m.EncryptionSDKClient(commitment_policy="REQUIRE_ENCRYPT_REQUIRE_DECRYPT")


# -- encrypted data keys ----------------------------------------------------------------


@case("MaxEncryptedDataKeysExceeded")
def more_data_keys_than_allowed_on_encrypt(m: ModuleType) -> object:
    return m.EncryptionSDKClient(max_encrypted_data_keys=1).encrypt(
        source=b"x", key_provider=provider(m, ("aes128", "aes256"))
    )


@case("MaxEncryptedDataKeysExceeded")
def more_data_keys_than_allowed_on_decrypt(m: ModuleType) -> object:
    two = provider(m, ("aes128", "aes256"))
    message = m.EncryptionSDKClient().encrypt(source=b"x", key_provider=two)[0]
    return m.EncryptionSDKClient(max_encrypted_data_keys=1).decrypt(
        source=message, key_provider=two
    )


@case("ValueError")
def max_encrypted_data_keys_zero(m: ModuleType) -> object:
    return m.EncryptionSDKClient(max_encrypted_data_keys=0)


@case("MasterKeyProviderError")
def a_provider_without_keys(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(source=b"x", key_provider=provider_class(m)())


@case("DecryptKeyError")
def no_key_of_that_name(m: ModuleType) -> object:
    return client(m).decrypt(source=sealed(), key_provider=master_key(m, "aes128"))


@case("InvalidTag")
def wrong_raw_aes_key(m: ModuleType) -> object:
    return client(m).decrypt(source=sealed(), key_provider=master_key(m, "aes256", wrong=True))


@case("DecryptKeyError")
def wrong_raw_rsa_oaep_key(m: ModuleType) -> object:
    message = client(m).encrypt(source=b"x", key_provider=master_key(m, "rsa-oaep-sha256"))[0]
    wrong = master_key(m, "rsa-oaep-sha256", wrong=True)
    return client(m).decrypt(source=message, key_provider=wrong)


@case("DecryptKeyError")
def public_rsa_key_decrypting(m: ModuleType) -> object:
    message = client(m).encrypt(source=b"x", key_provider=master_key(m, "rsa-oaep-sha1"))[0]
    public = master_key(m, "rsa-oaep-sha1", public=True)
    return client(m).decrypt(source=message, key_provider=public)


# -- call shape -------------------------------------------------------------------------


@case("TypeError")
def neither_key_provider_nor_materials_manager(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(source=b"x")


@case("TypeError")
def both_key_provider_and_materials_manager(m: ModuleType) -> object:
    manager = m.DefaultCryptoMaterialsManager(aes(m))
    return m.EncryptionSDKClient().encrypt(
        source=b"x", key_provider=aes(m), materials_manager=manager
    )


@case("KeyError")
def unknown_stream_mode(m: ModuleType) -> object:
    return m.EncryptionSDKClient().stream(mode="x", source=b"x", key_provider=aes(m))


@case("TypeError")
def algorithm_given_by_name(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(source=b"x", key_provider=aes(m), algorithm=COMMIT)


@case("TypeError")
def context_value_not_a_string(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(
        source=b"x", key_provider=aes(m), encryption_context={"a": 1}
    )


@case("ok", sealbox="UsageError")
def reserved_context_key_is_overwritten_on_a_signed_suite(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(
        source=b"x", key_provider=aes(m), encryption_context={"aws-crypto-public-key": "x"}
    )


@case("ok", sealbox="UsageError")
def context_key_with_the_reserved_prefix(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(
        source=b"x", key_provider=aes(m), encryption_context={"aws-crypto-mine": "x"}
    )


@case("ValueError")
def reading_a_closed_stream(m: ModuleType) -> object:
    stream = m.EncryptionSDKClient().stream(mode="e", source=b"x", key_provider=aes(m))
    stream.close()
    return stream.read()


@case("SerializationError", sealbox="UnknownIdentityError")
def v2_header_naming_a_v1_suite(m: ModuleType) -> object:
    message = bytearray(sealed())
    message[1:3] = (0x0178).to_bytes(2, "big")  # AES_256_GCM_IV12_TAG16_HKDF_SHA256
    return client(m).decrypt(source=bytes(message), key_provider=aes(m))


# -- frames and lengths -----------------------------------------------------------------


@case("SerializationError")
def negative_frame_length(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(source=b"x", key_provider=aes(m), frame_length=-128)


@case("SerializationError")
def frame_length_not_a_multiple_of_128(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(source=b"x", key_provider=aes(m), frame_length=100)


@case("SerializationError")
def frame_length_over_the_format_limit(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(source=b"x", key_provider=aes(m), frame_length=2**31)


@case("ok", sealbox="SerializationError")
def frame_length_zero_writes_a_non_framed_message(m: ModuleType) -> object:
    message = client(m).encrypt(source=b"x" * 5000, key_provider=aes(m), frame_length=0)[0]
    assert parsed(message)[0][5] == "NO_FRAMING"
    return client(m).decrypt(source=message, key_provider=aes(m))


@case("CustomMaximumValueExceeded")
def frame_longer_than_max_body_length(m: ModuleType) -> object:
    return client(m).decrypt(source=sealed(), key_provider=aes(m), max_body_length=100)


@case("CustomMaximumValueExceeded")
def non_framed_body_longer_than_max_body_length(m: ModuleType) -> object:
    message = sealed(frame_length=0)
    return client(m).decrypt(source=message, key_provider=aes(m), max_body_length=100)


@case("CustomMaximumValueExceeded")
def more_plaintext_than_source_length_with_a_manager(m: ModuleType) -> object:
    manager = m.DefaultCryptoMaterialsManager(aes(m))
    return m.EncryptionSDKClient().encrypt(
        source=io.BytesIO(b"x" * 100), materials_manager=manager, source_length=10
    )


@case("ok")
def more_plaintext_than_source_length_with_a_key_provider(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(
        source=io.BytesIO(b"x" * 100), key_provider=aes(m), source_length=10
    )


# -- messages that are not messages -----------------------------------------------------


@case("SerializationError")
def empty_message(m: ModuleType) -> object:
    return client(m).decrypt(source=b"", key_provider=aes(m))


@case("NotSupportedError")
def unknown_version(m: ModuleType) -> object:
    return client(m).decrypt(source=b"\x07" + bytes(200), key_provider=aes(m))


@case("UnknownIdentityError")
def unknown_algorithm_suite(m: ModuleType) -> object:
    return client(m).decrypt(source=b"\x02\x99\x99" + bytes(200), key_provider=aes(m))


@case("NotSupportedError")
def unknown_v1_message_type(m: ModuleType) -> object:
    return client(m).decrypt(source=b"\x01\x81" + bytes(200), key_provider=aes(m))


@case("InvalidSignature")
def altered_signature(m: ModuleType) -> object:
    message = bytearray(sealed())
    message[-1] ^= 1
    return client(m).decrypt(source=bytes(message), key_provider=aes(m))


# -- caching --------------------------------------------------------------------------


@case("ValueError")
def cache_without_room(m: ModuleType) -> object:
    return m.LocalCryptoMaterialsCache(0)


@case("TypeError")
def max_age_given_as_an_int(m: ModuleType) -> object:
    return cache_cmm(m, max_age=60, master_key_provider=aes(m))


@case("ValueError")
def max_age_not_positive(m: ModuleType) -> object:
    return cache_cmm(m, max_age=-1.0, master_key_provider=aes(m))


@case("TypeError")
def caching_cmm_with_nothing_behind_it(m: ModuleType) -> object:
    return cache_cmm(m, max_age=60.0)


@case("ValueError")
def max_messages_encrypted_over_two_to_the_32(m: ModuleType) -> object:
    return cache_cmm(m, max_age=60.0, master_key_provider=aes(m), max_messages_encrypted=2**32 + 1)


# -- KMS providers (no call reaches KMS) -----------------------------------------------


@case("ConfigMismatchError")
def strict_provider_without_key_ids(m: ModuleType) -> object:
    return m.StrictAwsKmsMasterKeyProvider()


@case("ConfigMismatchError")
def discovery_provider_with_key_ids(m: ModuleType) -> object:
    return m.DiscoveryAwsKmsMasterKeyProvider(key_ids=["arn:aws:kms:us-east-1:111122223333:key/x"])


@case("ConfigMismatchError")
def discovery_filter_without_a_partition(m: ModuleType) -> object:
    discovery_filter = submodule(m, "key_providers.kms").DiscoveryFilter(account_ids=["1"])
    return m.DiscoveryAwsKmsMasterKeyProvider(discovery_filter=discovery_filter)


@case("ConfigMismatchError")
def discovery_filter_with_an_empty_account(m: ModuleType) -> object:
    discovery_filter = submodule(m, "key_providers.kms").DiscoveryFilter(
        account_ids=[""], partition="aws"
    )
    return m.DiscoveryAwsKmsMasterKeyProvider(discovery_filter=discovery_filter)


@case("MasterKeyProviderError")
def encrypting_with_a_discovery_provider(m: ModuleType) -> object:
    return m.EncryptionSDKClient().encrypt(
        source=b"x", key_provider=m.DiscoveryAwsKmsMasterKeyProvider()
    )


@pytest.mark.parametrize("label", list(CASES))
def test_the_same_bad_input_fails_alike(label: str) -> None:
    expected, stricter, call = CASES[label]
    results = {module: outcome(functools.partial(call, module)) for module in MODULES}
    if stricter is None:
        assert_alike(results, expected)
        return
    ours = next(module for module in MODULES if module is not REFERENCE)
    assert (name(results[REFERENCE]), name(results[ours])) == (expected, stricter)
    assert isinstance(results[ours], SealboxError)
