"""Bad inputs raise the reference's exception classes; where Sealbox is stricter, it says so."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature, InvalidTag

from sealbox.errors import ErrorCode, SealboxError, UsageError
from tests.unit.aws_sdk.helpers import REFERENCE, SEALBOX, raw_provider

KEY, OTHER_KEY = os.urandom(32), os.urandom(32)
UNSIGNED = "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"


class Setup:
    """The providers, clients and messages one package's case needs."""

    def __init__(self, sdk: ModuleType) -> None:
        self.sdk = sdk
        self.provider = raw_provider(sdk, {b"k1": ("aes", KEY)})
        self.wrong_key = raw_provider(sdk, {b"k1": ("aes", OTHER_KEY)})
        self.wrong_name = raw_provider(sdk, {b"other": ("aes", KEY)})
        self.client = sdk.EncryptionSDKClient()
        self.forbid = sdk.EncryptionSDKClient(
            commitment_policy=sdk.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
        )
        self.signed = self.encrypt(b"x" * 5000)
        self.unsigned = self.encrypt(b"x" * 5000, algorithm=sdk.Algorithm[UNSIGNED])

    def encrypt(self, data: bytes, **kwargs: Any) -> bytes:
        ciphertext: bytes = self.client.encrypt(source=data, key_provider=self.provider, **kwargs)[
            0
        ]
        return ciphertext

    def decrypt(self, message: bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("key_provider", self.provider)
        return self.client.decrypt(source=message, **kwargs)


def flip(message: bytes, index: int) -> bytes:
    return message[:index] + bytes([message[index] ^ 1]) + message[index + 1 :]


def _two_keys(s: Setup) -> Any:
    s.provider.add_master_key("k2")
    return s.provider


CASES: dict[str, Callable[[Setup], Any]] = {
    "wrong raw AES key": lambda s: s.decrypt(s.signed, key_provider=s.wrong_key),
    "no key for the message": lambda s: s.decrypt(s.signed, key_provider=s.wrong_name),
    "altered signature": lambda s: s.decrypt(flip(s.signed, len(s.signed) - 3)),
    "altered frame": lambda s: s.decrypt(flip(s.unsigned, len(s.unsigned) - 3)),
    "altered message id": lambda s: s.decrypt(flip(s.signed, 5)),
    "truncated body": lambda s: s.decrypt(s.signed[: len(s.signed) // 2]),
    "truncated header": lambda s: s.decrypt(s.signed[:30]),
    "empty": lambda s: s.decrypt(b""),
    "unknown version": lambda s: s.decrypt(b"\x09" + s.signed[1:]),
    "unknown suite": lambda s: s.decrypt(s.signed[:1] + b"\x12\x34" + s.signed[3:]),
    "uncommitted message, strict policy": lambda s: s.decrypt(
        s.forbid.encrypt(source=b"x", key_provider=s.provider)[0]
    ),
    "uncommitted suite, strict policy": lambda s: s.encrypt(
        b"x", algorithm=s.sdk.Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA256
    ),
    "committed suite, forbidding policy": lambda s: s.forbid.encrypt(
        source=b"x", key_provider=s.provider, algorithm=s.sdk.Algorithm[UNSIGNED]
    ),
    "too many keys to encrypt": lambda s: s.sdk.EncryptionSDKClient(
        max_encrypted_data_keys=1
    ).encrypt(source=b"x", key_provider=_two_keys(s)),
    "too many keys to decrypt": lambda s: s.sdk.EncryptionSDKClient(
        max_encrypted_data_keys=1
    ).decrypt(
        source=s.client.encrypt(source=b"x", key_provider=_two_keys(s))[0],
        key_provider=s.provider,
    ),
    "signed message, unsigned mode": lambda s: s.client.stream(
        mode="decrypt-unsigned", source=io.BytesIO(s.signed), key_provider=s.provider
    ).read(),
    "frame length not a multiple of 128": lambda s: s.encrypt(b"x", frame_length=100),
    "negative frame length": lambda s: s.encrypt(b"x", frame_length=-128),
    "frame length too large": lambda s: s.encrypt(b"x", frame_length=2**31),
    "frame over max_body_length": lambda s: s.decrypt(s.signed, max_body_length=100),
    "both provider and manager": lambda s: s.client.encrypt(
        source=b"x",
        key_provider=s.provider,
        materials_manager=s.sdk.DefaultCryptoMaterialsManager(s.provider),
    ),
    "neither provider nor manager": lambda s: s.client.encrypt(source=b"x"),
    "context not a dict": lambda s: s.encrypt(b"x", encryption_context=[("a", "b")]),
    "algorithm not a suite": lambda s: s.encrypt(b"x", algorithm=0x0578),
    "policy not a policy": lambda s: s.sdk.EncryptionSDKClient(commitment_policy="strict"),
    "zero keys allowed": lambda s: s.sdk.EncryptionSDKClient(max_encrypted_data_keys=0),
    "no master keys": lambda s: s.client.encrypt(
        source=b"x", key_provider=raw_provider(s.sdk, {}, key_ids=())
    ),
    "read after close": lambda s: _closed_read(s),
    "decryptor closed early": lambda s: _closed_early(s),
    "capacity zero": lambda s: s.sdk.LocalCryptoMaterialsCache(0),
}


def _closed_read(s: Setup) -> Any:
    stream = s.client.stream(mode="e", source=b"x", key_provider=s.provider)
    stream.close()
    return stream.read()


def _closed_early(s: Setup) -> Any:
    stream = s.client.stream(mode="d", source=io.BytesIO(s.signed), key_provider=s.provider)
    stream.read(10)
    stream.close()


def outcome(sdk: ModuleType, case: str) -> type[BaseException] | None:
    try:
        CASES[case](Setup(sdk))
    except Exception as error:
        return type(error)
    return None


@pytest.mark.parametrize("case", list(CASES))
def test_the_same_bad_input_raises_the_same_class(case: str) -> None:
    theirs, ours = outcome(REFERENCE, case), outcome(SEALBOX, case)
    assert theirs is not None, "the reference accepted it"
    assert ours is not None and ours.__name__ == theirs.__name__
    if ours.__module__.startswith("sealbox"):
        assert issubclass(ours, SealboxError)


def test_translated_errors_keep_the_message_code_and_cause() -> None:
    setup = Setup(SEALBOX)
    with pytest.raises(SEALBOX.exceptions.SerializationError) as caught:
        setup.decrypt(setup.signed[:30])
    error = caught.value
    assert error.code is ErrorCode.TRUNCATED
    assert "truncated" in str(error) and error.message == str(error)
    assert isinstance(error.__cause__, SealboxError)
    assert error.__cause__.code is ErrorCode.TRUNCATED


def test_tag_and_signature_failures_are_also_pycas_exceptions() -> None:
    setup = Setup(SEALBOX)
    with pytest.raises(InvalidTag):
        setup.decrypt(flip(setup.unsigned, len(setup.unsigned) - 3))
    with pytest.raises(InvalidSignature):
        setup.decrypt(flip(setup.signed, len(setup.signed) - 3))
    with pytest.raises(InvalidTag):
        setup.decrypt(setup.signed, key_provider=setup.wrong_key)


def test_legacy_exceptions_take_plain_messages() -> None:
    exceptions = SEALBOX.exceptions
    for name in dir(REFERENCE.exceptions):
        theirs = getattr(REFERENCE.exceptions, name)
        if not (isinstance(theirs, type) and issubclass(theirs, Exception)):
            continue
        ours = getattr(exceptions, name)
        assert [base.__name__ for base in theirs.__bases__ if base is not Exception] == [
            base.__name__ for base in ours.__bases__ if base.__module__ == exceptions.__name__
        ]
        error = ours(3, 4) if name == "MaxEncryptedDataKeysExceeded" else ours("plain message")
        assert isinstance(error, SealboxError)
        assert str(error) == str(
            theirs(3, 4) if name == "MaxEncryptedDataKeysExceeded" else theirs("plain message")
        )


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("trailing bytes", ErrorCode.TRAILING_DATA),
        ("reserved context key", ErrorCode.RESERVED_ENCRYPTION_CONTEXT_KEY),
        ("non-framed message", ErrorCode.INVALID_FRAME_LENGTH),
    ],
)
def test_where_sealbox_is_stricter_than_the_reference(case: str, code: ErrorCode) -> None:
    """The reference accepts these; Sealbox refuses them (docs/migrating.md says why)."""
    attempts: dict[str, Callable[[Setup], Any]] = {
        "trailing bytes": lambda s: s.decrypt(s.signed + b"\x00"),
        "reserved context key": lambda s: s.encrypt(b"x", encryption_context={"aws-crypto-x": "y"}),
        "non-framed message": lambda s: s.encrypt(b"x", frame_length=0),
    }
    attempts[case](Setup(REFERENCE))
    with pytest.raises(SealboxError) as caught:
        attempts[case](Setup(SEALBOX))
    assert caught.value.code is code
    if code is ErrorCode.RESERVED_ENCRYPTION_CONTEXT_KEY:
        assert isinstance(caught.value, UsageError)


def test_an_unknown_stream_mode_is_the_built_in_key_error_as_in_the_reference() -> None:
    for sdk in (REFERENCE, SEALBOX):
        setup = Setup(sdk)
        with pytest.raises(KeyError) as caught:
            setup.client.stream(mode="X", source=b"", key_provider=setup.provider)
        assert type(caught.value) is KeyError
    assert "unsupported stream mode 'x'" in str(caught.value)
    assert "'decrypt-unsigned'" in str(caught.value)
