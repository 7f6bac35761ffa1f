"""Reference behaviour the drop-in keeps: str sources, the RSA unwrap's length check, and the
order of the default CMM (the data key before the verification key, which Sealbox's own
default CMM follows too)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from sealbox import EncryptionClient
from sealbox.errors import ErrorCode, SealboxError, UsageError
from sealbox.format.context import PUBLIC_KEY_FIELD
from sealbox.format.header import EncryptedDataKey, parse_header
from sealbox.keyrings import PaddingScheme, RawAESKeyring, RawRSAKeyring
from sealbox.materials import DecryptionMaterials, EncryptionMaterials
from tests.unit.aws_sdk.helpers import REFERENCE, SDKS, SEALBOX, raw_provider, rsa_pems

AES_KEY = os.urandom(32)
PRIVATE_PEM, PUBLIC_PEM = rsa_pems()
OTHER_PRIVATE_PEM, _ = rsa_pems()


def aes_provider(sdk: ModuleType) -> Any:
    return raw_provider(sdk, {b"k": ("aes", AES_KEY)})


def failure(call: Any, **kwargs: Any) -> str | None:
    """The class name of what ``call(**kwargs)`` raised (None if it returned)."""
    try:
        call(**kwargs)
    except Exception as error:
        return type(error).__name__
    return None


@pytest.mark.parametrize("sdk", SDKS.values(), ids=SDKS.keys())
def test_a_str_source_is_its_utf8_bytes(sdk: ModuleType) -> None:
    text = "tëxt, not a file name"
    client = sdk.EncryptionSDKClient()
    message, _ = client.encrypt(source=text, key_provider=aes_provider(sdk))
    for reader in (SEALBOX, REFERENCE):
        plaintext, _ = reader.EncryptionSDKClient().decrypt(
            source=message, key_provider=aes_provider(reader)
        )
        assert plaintext == text.encode("utf-8")
    with client.stream(mode="e", source=text, key_provider=aes_provider(sdk)) as stream:
        assert stream.stream_length == len(text.encode("utf-8"))
        streamed = stream.read()
    assert client.decrypt(source=streamed, key_provider=aes_provider(sdk))[0] == text.encode()


@pytest.mark.parametrize("source", ["not a message", "\x02\x05x"])
def test_a_str_message_to_decrypt_fails_as_in_the_reference(source: str) -> None:
    """Its UTF-8 bytes are read as the message, one-shot and streamed."""
    for mode in ("one-shot", "stream"):
        names = set()
        for sdk in (SEALBOX, REFERENCE):
            client, provider = sdk.EncryptionSDKClient(), aes_provider(sdk)
            if mode == "one-shot":
                names.add(failure(client.decrypt, source=source, key_provider=provider))
            else:
                stream = client.stream(mode="d", source=source, key_provider=provider)
                names.add(failure(stream.read))
                failure(stream.close)  # "Footer not read", as in the reference
        assert len(names) == 1 and None not in names, names


def test_sealbox_own_api_still_refuses_a_str_source() -> None:
    keyring = RawAESKeyring(key_namespace="ns", key_name="k", wrapping_key=AES_KEY)
    with pytest.raises(UsageError) as caught:
        EncryptionClient().encrypt(source="text", keyring=keyring)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.INVALID_SOURCE


def test_a_wrong_pkcs1_key_unwraps_to_the_wrong_length_as_in_the_reference() -> None:
    """PKCS#1 v1.5 with OpenSSL's implicit rejection turns a wrong key's unwrap into
    pseudo-random bytes; their length is wrong for the suite (InvalidDataKeyError) except,
    rarely, when it is right and the header tag fails. Both packages decide the same way
    on the same message, and release nothing."""
    right = {b"r": ("rsa-pkcs1", PRIVATE_PEM)}
    wrong = {b"r": ("rsa-pkcs1", OTHER_PRIVATE_PEM)}
    seen = set()
    for _ in range(4):
        message, _ = SEALBOX.EncryptionSDKClient().encrypt(
            source=b"secret", key_provider=raw_provider(SEALBOX, right)
        )
        names = {
            failure(
                sdk.EncryptionSDKClient().decrypt,
                source=message,
                key_provider=raw_provider(sdk, wrong),
            )
            for sdk in (SEALBOX, REFERENCE)
        }
        assert len(names) == 1 and None not in names, names
        seen |= names
    assert "InvalidDataKeyError" in seen


def test_an_oaep_wrong_key_is_still_no_decryptable_key() -> None:
    right, wrong = {b"r": ("rsa-private", PRIVATE_PEM)}, {b"r": ("rsa-private", OTHER_PRIVATE_PEM)}
    message, _ = SEALBOX.EncryptionSDKClient().encrypt(
        source=b"secret", key_provider=raw_provider(SEALBOX, right)
    )
    for sdk in (SEALBOX, REFERENCE):
        with pytest.raises(sdk.exceptions.DecryptKeyError):
            sdk.EncryptionSDKClient().decrypt(source=message, key_provider=raw_provider(sdk, wrong))


def altered_public_key(message: bytes) -> bytes:
    """``message`` whose ``aws-crypto-public-key`` is no longer a point: its first Base64
    character, "A" for a compressed point's 0x02 or 0x03, becomes "B" (0x06 or 0x07)."""
    value = parse_header(message).header.encryption_context[PUBLIC_KEY_FIELD].encode()
    at = message.index(value)
    assert message[at : at + 1] == b"A"
    return message[:at] + b"B" + message[at + 1 :]


def test_an_altered_public_key_fails_the_unwrap_first_as_in_the_reference() -> None:
    """The context is the AES wrapping's AAD: the data key's unwrap fails (InvalidTag)
    before the verification key is looked at."""
    for writer in (SEALBOX, REFERENCE):
        message, _ = writer.EncryptionSDKClient().encrypt(
            source=b"x", key_provider=aes_provider(writer)
        )
        bad = altered_public_key(message)
        for sdk in (SEALBOX, REFERENCE):
            with pytest.raises(InvalidTag) as caught:
                sdk.EncryptionSDKClient().decrypt(source=bad, key_provider=aes_provider(sdk))
            assert type(caught.value).__name__ == "InvalidTag"


class Recording:
    """A keyring that records the decrypt calls it delegates."""

    def __init__(self, keyring: RawAESKeyring | RawRSAKeyring) -> None:
        self.keyring = keyring
        self.calls = 0

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        return self.keyring.on_encrypt(materials)

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        self.calls += 1
        return self.keyring.on_decrypt(materials, encrypted_data_keys)


@pytest.mark.parametrize("wrapping", ["aes", "rsa"])
def test_sealbox_default_cmm_unwraps_before_it_reads_the_verification_key(wrapping: str) -> None:
    """AES binds the context, so the unwrap fails first; RSA does not, so the unwrap
    succeeds and the malformed verification key is the error. No plaintext either way."""
    keyring = Recording(
        RawAESKeyring(key_namespace="ns", key_name="k", wrapping_key=AES_KEY)
        if wrapping == "aes"
        else RawRSAKeyring(
            key_namespace="ns",
            key_name="k",
            padding_scheme=PaddingScheme.OAEP_SHA256_MGF1,
            public_key=PUBLIC_PEM,
            private_key=PRIVATE_PEM,
        )
    )
    client = EncryptionClient()
    bad = altered_public_key(client.encrypt(source=b"x", keyring=keyring)[0])
    with pytest.raises(SealboxError) as caught:
        client.decrypt(source=bad, keyring=keyring)
    assert keyring.calls == 1
    expected = ErrorCode.NO_DECRYPTABLE_KEY if wrapping == "aes" else ErrorCode.HEADER_INVALID
    assert caught.value.code is expected
    stream = client.stream(mode="d", source=io.BytesIO(bad), keyring=keyring)
    with pytest.raises(SealboxError):
        stream.read()
    stream.close()
