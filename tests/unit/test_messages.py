"""Library messages a user reads: key names as text, and what a non-message input is."""

from __future__ import annotations

import pytest

import sealbox
from sealbox.errors import ErrorCode, MalformedMessageError, NoDecryptableKeyError
from sealbox.format.header import EncryptedDataKey
from sealbox.keyrings import RawAESKeyring
from sealbox.keyrings.base import describe_edk

CLIENT = sealbox.EncryptionClient()


def test_a_wrong_raw_aes_key_names_the_message_key_as_text() -> None:
    alice = RawAESKeyring(key_namespace="team", key_name="alice", wrapping_key=bytes(32))
    bob = RawAESKeyring(key_namespace="team", key_name="bob", wrapping_key=bytes(32))
    sealed, _ = CLIENT.encrypt(source=b"secret", keyring=alice)
    with pytest.raises(NoDecryptableKeyError) as caught:
        CLIENT.decrypt(source=sealed, keyring=bob)
    assert str(caught.value) == (
        "RawAESKeyring(key_namespace='team', key_name='bob'): none of the message's encrypted "
        "data keys is for this key (the message has keys for: 'team' / 'alice')"
    )


@pytest.mark.parametrize(
    ("info", "shown"),
    [
        (b"arn:aws:kms:eu-west-1:111122223333:key/k", "'arn:aws:kms:eu-west-1:111122223333:key/k'"),
        ("clé-été".encode(), "'clé-été'"),  # printable UTF-8, not only ASCII
        (b"alice" + bytes.fromhex("00000080 0000000c") + bytes(range(12)), "'alice'"),
        (b"\x00\xffbinary", "0x00ff62696e617279"),
    ],
)
def test_provider_info_is_text_when_it_is_text(info: bytes, shown: str) -> None:
    assert describe_edk(EncryptedDataKey("ns", info, b"")) == f"'ns' / {shown}"


@pytest.mark.parametrize(
    ("data", "start"),
    [(b'{"a": 1}', "0x7B, '{'"), (b"\x03rest", "0x03"), (b"\xef\xbb\xbf", "0xEF")],
)
def test_a_non_message_is_called_one(data: bytes, start: str) -> None:
    with pytest.raises(MalformedMessageError) as caught:
        CLIENT.decrypt(
            source=data,
            keyring=RawAESKeyring(key_namespace="n", key_name="k", wrapping_key=bytes(32)),
        )
    assert caught.value.code == ErrorCode.UNSUPPORTED_VERSION
    assert str(caught.value) == (
        f"the input is not an AWS Encryption SDK message (it starts with {start}; "
        "a message starts with 0x01 or 0x02)"
    )
