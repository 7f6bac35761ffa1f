"""Raw key ids that are not text: the reference takes any bytes (its guide uses os.urandom(8)).

The drop-in's raw master keys and Sealbox's raw keyrings write such a key name as given,
so messages cross both ways with the same encrypted data key layout.
"""

from __future__ import annotations

import os
import struct
from types import ModuleType
from typing import Any

import pytest

from sealbox import EncryptionClient
from sealbox.errors import UsageError
from sealbox.format.header import parse_header
from sealbox.keyrings import PaddingScheme, RawAESKeyring, RawRSAKeyring
from tests.unit.aws_sdk.helpers import REFERENCE, SEALBOX, raw_provider, rsa_pems

AES_KEY = os.urandom(32)
PRIVATE_PEM, PUBLIC_PEM = rsa_pems()
KEY_ID = b"\xff\xfe" + os.urandom(6)  # never UTF-8: 0xFF starts no UTF-8 sequence
AES_TAIL = struct.pack(">II", 128, 12)


def provider(sdk: ModuleType, kind: str) -> Any:
    material = AES_KEY if kind == "aes" else PRIVATE_PEM
    return raw_provider(sdk, {KEY_ID: (kind, material)}, key_ids=(KEY_ID,))


@pytest.mark.parametrize("kind", ["aes", "rsa-private", "rsa-pkcs1"])
def test_a_key_id_that_is_not_text_works_both_ways(kind: str) -> None:
    data = os.urandom(3000)
    context = {"purpose": "binary key ids"}
    for writer, reader in ((SEALBOX, REFERENCE), (REFERENCE, SEALBOX)):
        message, _ = writer.EncryptionSDKClient().encrypt(
            source=data, key_provider=provider(writer, kind), encryption_context=context
        )
        (edk,) = parse_header(message).header.encrypted_data_keys
        assert edk.provider_id == "static-keys"
        if kind == "aes":
            assert edk.provider_info[: len(KEY_ID) + 8] == KEY_ID + AES_TAIL
            assert len(edk.provider_info) == len(KEY_ID) + 8 + 12
        else:
            assert edk.provider_info == KEY_ID
        plaintext, header = reader.EncryptionSDKClient().decrypt(
            source=message, key_provider=provider(reader, kind)
        )
        assert plaintext == data
        (read_edk,) = header.encrypted_data_keys
        assert read_edk.key_provider.key_info == edk.provider_info


def test_the_master_key_keeps_the_bytes_id() -> None:
    master_key = provider(SEALBOX, "aes").master_key(KEY_ID)
    assert master_key.key_id == KEY_ID
    assert master_key.key_provider == SEALBOX.structures.MasterKeyInfo("static-keys", KEY_ID)


def test_sealbox_raw_keyrings_take_a_bytes_key_name() -> None:
    client = EncryptionClient()
    aes = RawAESKeyring(key_namespace="static-keys", key_name=KEY_ID, wrapping_key=AES_KEY)
    rsa = RawRSAKeyring(
        key_namespace="ns",
        key_name=KEY_ID,
        padding_scheme=PaddingScheme.OAEP_SHA256_MGF1,
        public_key=PUBLIC_PEM,
        private_key=PRIVATE_PEM,
    )
    for keyring in (aes, rsa):
        message, header = client.encrypt(source=b"data", keyring=keyring)
        assert header.encrypted_data_keys[0].provider_info.startswith(KEY_ID)
        assert client.decrypt(source=message, keyring=keyring)[0] == b"data"
        assert keyring.key_name == KEY_ID and repr(KEY_ID) in repr(keyring)
    # and the drop-in's provider reads the keyring's message: the same EDK layout
    message, _ = client.encrypt(source=b"data", keyring=aes)
    plaintext, _ = SEALBOX.EncryptionSDKClient().decrypt(
        source=message, key_provider=provider(SEALBOX, "aes")
    )
    assert plaintext == b"data"


def test_a_text_key_name_is_its_utf8_bytes() -> None:
    client = EncryptionClient()
    text = RawAESKeyring(key_namespace="ns", key_name="clé", wrapping_key=AES_KEY)
    raw = RawAESKeyring(key_namespace="ns", key_name="clé".encode(), wrapping_key=AES_KEY)
    assert (
        text.key_name == "clé" and repr(text) == "RawAESKeyring(key_namespace='ns', key_name='clé')"
    )
    assert (
        client.decrypt(source=client.encrypt(source=b"x", keyring=text)[0], keyring=raw)[0] == b"x"
    )
    assert (
        client.decrypt(source=client.encrypt(source=b"x", keyring=raw)[0], keyring=text)[0] == b"x"
    )


@pytest.mark.parametrize("name", [b"", 7, bytearray(b"k")])
def test_a_key_name_must_be_non_empty_str_or_bytes(name: object) -> None:
    with pytest.raises(UsageError, match="key_name"):
        RawAESKeyring(key_namespace="ns", key_name=name, wrapping_key=AES_KEY)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="key_name"):
        RawRSAKeyring(
            key_namespace="ns",
            key_name=name,  # type: ignore[arg-type]
            padding_scheme=PaddingScheme.PKCS1,
            public_key=PUBLIC_PEM,
        )
