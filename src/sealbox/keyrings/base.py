"""The keyring interface.

spec: framework/keyring-interface.md. A keyring wraps the data key on encrypt
(generating it first when the materials have none and it can) and unwraps one
of the message's encrypted data keys on decrypt.

``on_decrypt`` returns the materials unchanged if they already hold a data
key; otherwise it returns them with the data key or raises
:class:`~sealbox.errors.NoDecryptableKeyError` whose ``causes`` say why each
candidate failed. Failures to unwrap never reveal why a key did not decrypt
beyond "did not decrypt".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from sealbox.errors import NoDecryptableKeyError
from sealbox.format.header import EncryptedDataKey
from sealbox.materials import DecryptionMaterials, EncryptionMaterials

RESERVED_PROVIDER_PREFIX = "aws-kms"


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


def describe_edk(edk: EncryptedDataKey) -> str:
    """A short, non-secret description of an EDK for error messages."""
    info = edk.provider_info
    shown = (
        info.decode("ascii")
        if info.isascii() and info.decode("ascii").isprintable()
        else info.hex()
    )
    if len(shown) > 120:
        shown = shown[:117] + "..."
    return f"{edk.provider_id!r} / {shown!r}"


def no_match(
    keyring: str, encrypted_data_keys: Sequence[EncryptedDataKey]
) -> NoDecryptableKeyError:
    keys = ", ".join(describe_edk(edk) for edk in encrypted_data_keys[:8])
    more = f" and {len(encrypted_data_keys) - 8} more" if len(encrypted_data_keys) > 8 else ""
    return NoDecryptableKeyError(
        f"{keyring}: none of the message's encrypted data keys is for this key "
        f"(the message has keys for: {keys}{more})"
    )
