"""Raw master keys and providers with the same key material in any module under test.

A *kind* names one wrapping key: ``aes128``/``aes192``/``aes256`` or an RSA padding
(``rsa-pkcs1``, ``rsa-oaep-sha1`` … ``rsa-oaep-sha512``). Each module gets its own
objects built only from its own public names, as a user's code would build them.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.aws_sdk.modules import submodule

NAMESPACE = "sealbox-differential"
AES_KINDS = {"aes128": 16, "aes192": 24, "aes256": 32}
RSA_KINDS = {
    "rsa-pkcs1": "RSA_PKCS1",
    "rsa-oaep-sha1": "RSA_OAEP_SHA1_MGF1",
    "rsa-oaep-sha256": "RSA_OAEP_SHA256_MGF1",
    "rsa-oaep-sha384": "RSA_OAEP_SHA384_MGF1",
    "rsa-oaep-sha512": "RSA_OAEP_SHA512_MGF1",
}
KINDS = (*AES_KINDS, *RSA_KINDS)


@functools.cache
def rsa_pems(wrong: bool = False) -> tuple[bytes, bytes]:
    """A (private, public) PEM pair; ``wrong`` gives a second, unrelated pair."""
    del wrong  # only the cache key: one pair per value
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def wrapping_key(sdk: ModuleType, kind: str, *, wrong: bool = False, public: bool = False) -> Any:
    """``sdk``'s WrappingKey for ``kind``; ``wrong`` swaps in other key material under
    the same name, ``public`` gives an RSA key that can only encrypt."""
    ids = submodule(sdk, "identifiers")
    make = submodule(sdk, "internal.crypto.wrapping_keys").WrappingKey
    if kind in AES_KINDS:
        size = AES_KINDS[kind]
        return make(
            wrapping_algorithm=ids.WrappingAlgorithm[f"AES_{size * 8}_GCM_IV12_TAG16_NO_PADDING"],
            wrapping_key=bytes([0xEE if wrong else 0x11]) * size,
            wrapping_key_type=ids.EncryptionKeyType.SYMMETRIC,
        )
    private, public_pem = rsa_pems(wrong)
    return make(
        wrapping_algorithm=ids.WrappingAlgorithm[RSA_KINDS[kind]],
        wrapping_key=public_pem if public else private,
        wrapping_key_type=ids.EncryptionKeyType.PUBLIC if public else ids.EncryptionKeyType.PRIVATE,
    )


def master_key(sdk: ModuleType, kind: str, *, wrong: bool = False, public: bool = False) -> Any:
    """A RawMasterKey: a master key is itself a one-key provider."""
    return submodule(sdk, "key_providers.raw").RawMasterKey(
        provider_id=NAMESPACE,
        key_id=kind.encode(),
        wrapping_key=wrapping_key(sdk, kind, wrong=wrong, public=public),
    )


@functools.cache
def provider_class(sdk: ModuleType) -> Any:
    """A RawMasterKeyProvider subclass written the way the SDK's examples write one."""
    base = submodule(sdk, "key_providers.raw").RawMasterKeyProvider

    class KindsProvider(base):  # type: ignore[misc,valid-type]
        provider_id = NAMESPACE
        wrong = False

        def __init__(self, **kwargs: Any) -> None:
            pass

        def _get_raw_key(self, key_id: bytes) -> Any:
            # on decrypt a provider may be asked for an EDK's whole key info (for AES, the
            # key name followed by the IV): the key is the kind it starts with
            kind = next(kind for kind in KINDS if key_id.startswith(kind.encode()))
            return wrapping_key(sdk, kind, wrong=self.wrong)

    return KindsProvider


def provider(sdk: ModuleType, kinds: tuple[str, ...], *, wrong: bool = False) -> Any:
    """One key as a RawMasterKey, several as a provider subclass (one EDK per key)."""
    if len(kinds) == 1:
        return master_key(sdk, kinds[0], wrong=wrong)
    made = provider_class(sdk)()
    made.wrong = wrong
    for kind in kinds:
        made.add_master_key(kind.encode())
    return made
