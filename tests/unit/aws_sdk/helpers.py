"""Raw master key providers written once against either package, the way users write them.

``sdk`` is the reference ``aws_encryption_sdk`` or Sealbox's ``sealbox.aws_encryption_sdk``:
the same provider code runs on both, which is the point of the drop-in.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the reference's dependencies warn on import
    REFERENCE: ModuleType = importlib.import_module("aws_encryption_sdk")
SEALBOX: ModuleType = importlib.import_module("sealbox.aws_encryption_sdk")

SDKS = {"reference": REFERENCE, "sealbox": SEALBOX}


def sub(sdk: ModuleType, path: str) -> ModuleType:
    """``sdk``'s module ``path`` (e.g. "key_providers.raw")."""
    return importlib.import_module(f"{sdk.__name__}.{path}")


def raw_provider(
    sdk: ModuleType,
    keys: dict[bytes, tuple[str, bytes]],
    *,
    provider_id: str = "static-keys",
    key_ids: tuple[str | bytes, ...] = (),
) -> Any:
    """A RawMasterKeyProvider subclass instance serving ``keys``: key id -> (kind, material).

    kind is "aes" (material: the key), "rsa-private" or "rsa-public" (material: PEM),
    which wrap with OAEP-SHA256, or "rsa-pkcs1" (a private PEM, PKCS#1 v1.5). The class is
    written as the SDK's documentation writes it: ``__init__`` does not call ``super``.
    """
    ids = sub(sdk, "identifiers")
    wrapping_keys = sub(sdk, "internal.crypto.wrapping_keys")
    raw = sub(sdk, "key_providers.raw")
    kinds = {
        "aes": (
            ids.WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            ids.EncryptionKeyType.SYMMETRIC,
        ),
        "rsa-private": (ids.WrappingAlgorithm.RSA_OAEP_SHA256_MGF1, ids.EncryptionKeyType.PRIVATE),
        "rsa-public": (ids.WrappingAlgorithm.RSA_OAEP_SHA256_MGF1, ids.EncryptionKeyType.PUBLIC),
        "rsa-pkcs1": (ids.WrappingAlgorithm.RSA_PKCS1, ids.EncryptionKeyType.PRIVATE),
    }

    chosen_id = provider_id

    class StaticKeysProvider(raw.RawMasterKeyProvider):  # type: ignore[misc,name-defined]
        provider_id = chosen_id

        def __init__(self, **kwargs: Any) -> None:
            self._keys = keys

        def _get_raw_key(self, key_id: bytes) -> Any:
            kind, material = self._keys[key_id]
            algorithm, key_type = kinds[kind]
            return wrapping_keys.WrappingKey(
                wrapping_algorithm=algorithm, wrapping_key=material, wrapping_key_type=key_type
            )

    provider = StaticKeysProvider()
    provider.add_master_keys_from_list(key_ids or tuple(k.decode() for k in keys))
    return provider


def rsa_pems(bits: int = 2048) -> tuple[bytes, bytes]:
    """A new RSA key pair as (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def header_summary(header: Any) -> tuple[Any, ...]:
    """What two packages' headers for one message must agree on (by value, not class)."""
    return (
        header.version.value,
        header.algorithm.algorithm_id,
        header.message_id,
        dict(header.encryption_context),
        sorted(
            (e.key_provider.provider_id, e.key_provider.key_info, e.encrypted_data_key)
            for e in header.encrypted_data_keys
        ),
        header.content_type.value,
        header.frame_length,
        None if header.type is None else header.type.value,
        header.content_aad_length,
        header.header_iv_length,
        header.commitment_key,
    )
