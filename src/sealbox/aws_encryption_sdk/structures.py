"""The legacy API's public data structures, shaped as the reference's.

``MasterKeyInfo`` accepts str or bytes for either field and normalises them (provider id
to str, key info to bytes), as the reference does. The data-key structures are frozen
and hashable, since the reference keeps encrypted data keys in sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sealbox.aws_encryption_sdk.identifiers import (
    AlgorithmSuite,
    ContentType,
    ObjectType,
    SerializationVersion,
)
from sealbox.aws_encryption_sdk.internal.str_ops import to_bytes, to_str

__all__ = ["DataKey", "EncryptedDataKey", "MasterKeyInfo", "MessageHeader", "RawDataKey"]


class MasterKeyInfo:
    """Identifies a master key: its provider id and key info (the EDK's provider info)."""

    __slots__ = ("key_info", "provider_id")

    provider_id: str
    key_info: bytes

    def __init__(self, provider_id: str | bytes, key_info: str | bytes) -> None:
        if not isinstance(provider_id, str | bytes) or not isinstance(key_info, str | bytes):
            raise TypeError("provider_id and key_info must be str or bytes")
        object.__setattr__(self, "provider_id", to_str(provider_id))
        object.__setattr__(self, "key_info", to_bytes(key_info))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"MasterKeyInfo is immutable: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MasterKeyInfo):
            return NotImplemented
        return (self.provider_id, self.key_info) == (other.provider_id, other.key_info)

    def __hash__(self) -> int:
        return hash((self.provider_id, self.key_info))

    def __repr__(self) -> str:
        return f"MasterKeyInfo(provider_id={self.provider_id!r}, key_info={self.key_info!r})"


def _check(value: object, kind: type[Any], name: str) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {kind.__name__}, not {type(value).__name__}")


@dataclass(frozen=True)
class RawDataKey:
    """A plaintext data key and the master key it belongs to."""

    key_provider: MasterKeyInfo
    data_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check(self.key_provider, MasterKeyInfo, "key_provider")
        _check(self.data_key, bytes, "data_key")


@dataclass(frozen=True)
class DataKey:
    """A data key in plaintext and encrypted under the master key ``key_provider``."""

    key_provider: MasterKeyInfo
    data_key: bytes = field(repr=False)
    encrypted_data_key: bytes

    def __post_init__(self) -> None:
        _check(self.key_provider, MasterKeyInfo, "key_provider")
        _check(self.data_key, bytes, "data_key")
        _check(self.encrypted_data_key, bytes, "encrypted_data_key")


@dataclass(frozen=True)
class EncryptedDataKey:
    """A data key encrypted under the master key ``key_provider``."""

    key_provider: MasterKeyInfo
    encrypted_data_key: bytes

    def __post_init__(self) -> None:
        _check(self.key_provider, MasterKeyInfo, "key_provider")
        _check(self.encrypted_data_key, bytes, "encrypted_data_key")


@dataclass
class MessageHeader:
    """A message's header, as the reference returns it from encrypt, decrypt and streams.

    ``type``, ``content_aad_length`` and ``header_iv_length`` are set for version 1
    messages only, ``commitment_key`` for committing suites only.
    """

    version: SerializationVersion
    algorithm: AlgorithmSuite
    message_id: bytes
    encryption_context: dict[str, str]
    encrypted_data_keys: set[EncryptedDataKey]
    content_type: ContentType
    frame_length: int
    type: ObjectType | None = None
    content_aad_length: int | None = None
    header_iv_length: int | None = None
    commitment_key: bytes | None = None
