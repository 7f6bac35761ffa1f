"""Multi-keyring: one generator plus any number of children.

spec: framework/multi-keyring.md. On encrypt the generator makes (and wraps)
the data key and every child wraps it too; on decrypt each keyring is tried
in turn until one unwraps a key, and if none does, every cause is reported.
"""

from __future__ import annotations

from collections.abc import Sequence

from sealbox.errors import ErrorCode, KeyringError, NoDecryptableKeyError, SealboxError, UsageError
from sealbox.format.header import EncryptedDataKey
from sealbox.keyrings.base import Keyring, unchanged_if_decrypted
from sealbox.materials import DecryptionMaterials, EncryptionMaterials


class MultiKeyring:
    """Combine keyrings: the message gets one encrypted data key per keyring."""

    def __init__(
        self, *, generator: Keyring | None = None, children: Sequence[Keyring] = ()
    ) -> None:
        if generator is None and not children:
            raise UsageError("MultiKeyring needs a generator, children, or both")
        for keyring in (generator, *children):
            if keyring is not None and not isinstance(keyring, Keyring):
                raise UsageError(f"{keyring!r} is not a keyring (it lacks on_encrypt/on_decrypt)")
        self.generator = generator
        self.children = tuple(children)

    def __repr__(self) -> str:
        return f"MultiKeyring(generator={self.generator!r}, children={list(self.children)!r})"

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        if self.generator is not None:
            materials = self.generator.on_encrypt(materials)
        elif materials.plaintext_data_key is None:
            raise KeyringError(
                "MultiKeyring has no generator and the materials have no data key; "
                "set generator= to a keyring that can generate one",
                code=ErrorCode.NO_ENCRYPTION_KEY,
            )
        for child in self.children:
            materials = child.on_encrypt(materials)
        return materials

    @unchanged_if_decrypted
    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        causes: list[str | SealboxError] = []
        keyrings = [k for k in (self.generator, *self.children) if k is not None]
        for keyring in keyrings:
            try:
                result = keyring.on_decrypt(materials, encrypted_data_keys)
            except NoDecryptableKeyError as error:
                causes.extend(error.causes or (error.message,))
                continue
            except SealboxError as error:
                causes.append(f"{keyring!r}: {error.message}")
                continue
            if result.plaintext_data_key is not None:
                return result
        raise NoDecryptableKeyError("no keyring could decrypt a data key", causes=causes)
