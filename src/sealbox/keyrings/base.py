"""The keyring interface.

spec: framework/keyring-interface.md. A keyring wraps the data key on encrypt
(generating it first when the materials have none and it can) and unwraps one
of the message's encrypted data keys on decrypt.

``on_decrypt`` returns the materials unchanged if they already hold a data
key (Sealbox's keyrings say so with :func:`unchanged_if_decrypted`); otherwise
it returns them with the data key or raises
:class:`~sealbox.errors.NoDecryptableKeyError` whose ``causes`` say why each
candidate failed. Failures to unwrap never reveal why a key did not decrypt
beyond "did not decrypt".
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar, cast, runtime_checkable

from sealbox.errors import NoDecryptableKeyError
from sealbox.format.header import EncryptedDataKey
from sealbox.format.suites import IV_LENGTH, TAG_LENGTH
from sealbox.materials import DecryptionMaterials, EncryptionMaterials

RESERVED_PROVIDER_PREFIX = "aws-kms"
# what a raw AES keyring writes after the key name: tag length in bits, IV length
_AES_INFO_TAIL = struct.pack(">II", TAG_LENGTH * 8, IV_LENGTH)
_OnDecrypt = TypeVar("_OnDecrypt", bound=Callable[..., DecryptionMaterials])


@runtime_checkable
class Keyring(Protocol):
    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        """Return ``materials`` with a data key (generated if absent) and one more EDK."""
        ...

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        """Return ``materials`` with the plaintext data key, or raise NoDecryptableKeyError."""
        ...


def unchanged_if_decrypted(on_decrypt: _OnDecrypt) -> _OnDecrypt:
    """Wrap a keyring's ``on_decrypt`` with the interface's first rule: materials that
    already hold a data key come back unchanged, and the keyring is not asked."""

    @functools.wraps(on_decrypt)
    def checked(
        self: object,
        materials: DecryptionMaterials,
        encrypted_data_keys: Sequence[EncryptedDataKey],
    ) -> DecryptionMaterials:
        if materials.plaintext_data_key is not None:
            return materials
        return on_decrypt(self, materials, encrypted_data_keys)

    return cast(_OnDecrypt, checked)


def _printable_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text and text.isprintable() else None


def _raw_aes_key_name(info: bytes) -> str | None:
    """The key name of a raw AES keyring's provider info (name ‖ 128 ‖ 12 ‖ IV), if it is one."""
    tail = 8 + IV_LENGTH
    if len(info) <= tail or info[-tail:-IV_LENGTH] != _AES_INFO_TAIL:
        return None
    return _printable_text(info[:-tail])


def readable_provider_info(info: bytes) -> str:
    """Provider info as people know it: the key name or ARN as text, hex only if it is not text."""
    text = _printable_text(info)
    if text is None:
        text = _raw_aes_key_name(info)
    shown = repr(text) if text is not None else "0x" + info.hex()
    return shown if len(shown) <= 120 else shown[:117] + "..."


def describe_edk(edk: EncryptedDataKey) -> str:
    """A short, non-secret description of an EDK for error messages."""
    return f"{edk.provider_id!r} / {readable_provider_info(edk.provider_info)}"


def no_match(
    keyring: str, encrypted_data_keys: Sequence[EncryptedDataKey]
) -> NoDecryptableKeyError:
    keys = ", ".join(describe_edk(edk) for edk in encrypted_data_keys[:8])
    more = f" and {len(encrypted_data_keys) - 8} more" if len(encrypted_data_keys) > 8 else ""
    return NoDecryptableKeyError(
        f"{keyring}: none of the message's encrypted data keys is for this key "
        f"(the message has keys for: {keys}{more})"
    )
