"""The legacy client's and streams' configuration objects, checked as the reference checks them.

A wrong type is a ``TypeError`` and a bad value a ``ValueError``, as the reference's
attrs validators raise. A ``str`` source is its UTF-8 bytes, as in the reference (kept
for compatibility: Sealbox's own API refuses ``str``, which could be meant as a file
name); any other ``source`` is kept as given: Sealbox reads bytes-like objects, binary
file objects and ``os.PathLike`` paths.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import Any

from sealbox.aws_encryption_sdk.exceptions import CustomMaximumValueExceeded, SerializationError
from sealbox.aws_encryption_sdk.identifiers import AlgorithmSuite, CommitmentPolicy
from sealbox.aws_encryption_sdk.internal.defaults import FRAME_LENGTH, LINE_LENGTH, MAX_FRAME_SIZE
from sealbox.aws_encryption_sdk.internal.utils.signature import SignaturePolicy
from sealbox.aws_encryption_sdk.key_providers.base import MasterKeyProvider
from sealbox.aws_encryption_sdk.materials_managers.base import CryptoMaterialsManager
from sealbox.aws_encryption_sdk.materials_managers.default import DefaultCryptoMaterialsManager
from sealbox.format.suites import Algorithm as SealboxAlgorithm

# The reference checks against AES.block_size, which pyca gives in bits: frame lengths
# must be multiples of 128 bytes.
_BLOCK_SIZE = 128


def _check(name: str, value: object, kind: type[Any] | tuple[type[Any], ...]) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"'{name}' must be {kind!r} (got {value!r} that is a {type(value)!r}).")


def _check_optional_int(name: str, value: object) -> None:
    if value is not None:
        _check(name, value, int)


@dataclass
class EncryptionSDKClientConfig:
    """The client's commitment policy and limit on encrypted data keys (None: no limit)."""

    commitment_policy: CommitmentPolicy = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    max_encrypted_data_keys: int | None = None

    def __post_init__(self) -> None:
        _check("commitment_policy", self.commitment_policy, CommitmentPolicy)
        _check_optional_int("max_encrypted_data_keys", self.max_encrypted_data_keys)
        if self.max_encrypted_data_keys is not None and self.max_encrypted_data_keys < 1:
            raise ValueError("max_encrypted_data_keys cannot be less than 1")


@dataclass
class _ClientConfig:
    """What both streams take: exactly one of ``materials_manager`` or ``key_provider``."""

    source: Any
    commitment_policy: CommitmentPolicy
    signature_policy: SignaturePolicy = SignaturePolicy.ALLOW_ENCRYPT_ALLOW_DECRYPT
    max_encrypted_data_keys: int | None = None
    materials_manager: CryptoMaterialsManager | None = None
    key_provider: MasterKeyProvider | None = None
    source_length: int | None = None
    #: accepted and ignored, as in the reference (streams use their ``line_length``)
    line_length: int = LINE_LENGTH

    def __post_init__(self) -> None:
        if isinstance(self.source, str):
            self.source = self.source.encode("utf-8")
        _check("commitment_policy", self.commitment_policy, CommitmentPolicy)
        _check("signature_policy", self.signature_policy, SignaturePolicy)
        _check_optional_int("max_encrypted_data_keys", self.max_encrypted_data_keys)
        _check_optional_int("source_length", self.source_length)
        _check("line_length", self.line_length, int)
        if self.materials_manager is not None:
            _check("materials_manager", self.materials_manager, CryptoMaterialsManager)
        if self.key_provider is not None:
            _check("key_provider", self.key_provider, MasterKeyProvider)
        if (self.materials_manager is None) == (self.key_provider is None):
            raise TypeError("Exactly one of materials_manager or key_provider must be provided")
        if self.materials_manager is None:
            assert self.key_provider is not None
            self.materials_manager = DefaultCryptoMaterialsManager(self.key_provider)

    @property
    def cmm(self) -> CryptoMaterialsManager:
        """The materials manager (a default one over ``key_provider`` if that was given)."""
        assert self.materials_manager is not None
        return self.materials_manager


@dataclass
class EncryptorConfig(_ClientConfig):
    """A streaming encryptor's configuration.

    ``frame_length`` must be a multiple of 128, as in the reference; 0 (a non-framed
    message) is refused."""

    encryption_context: dict[str, str] = field(default_factory=dict)
    algorithm: AlgorithmSuite | None = None
    frame_length: int = FRAME_LENGTH

    def __post_init__(self) -> None:
        super().__post_init__()
        _check("encryption_context", self.encryption_context, dict)
        self.encryption_context = {
            _context_text(key): _context_text(value)
            for key, value in self.encryption_context.items()
        }
        if self.algorithm is not None:
            _check("algorithm", self.algorithm, (AlgorithmSuite, SealboxAlgorithm))
        _check("frame_length", self.frame_length, int)
        # The reference's own rule (the format allows any length from 1); 0 asks for a
        # non-framed message, which Sealbox refuses to write (the specification forbids it).
        if self.frame_length < 0 or self.frame_length % _BLOCK_SIZE:
            raise SerializationError(
                "Frame size must be a non-negative multiple of the block size of the crypto "
                f"algorithm: {_BLOCK_SIZE}"
            )
        if self.frame_length > MAX_FRAME_SIZE:
            raise SerializationError(
                f"Frame size too large: {self.frame_length} > {MAX_FRAME_SIZE}"
            )


@dataclass
class DecryptorConfig(_ClientConfig):
    """A streaming decryptor's configuration; ``max_body_length`` None means no limit."""

    max_body_length: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_optional_int("max_body_length", self.max_body_length)


def _context_text(value: object) -> str:
    """An encryption context key or value: str, or UTF-8 bytes (which the reference takes)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise SerializationError("Cannot encode dictionary key or value using utf-8.") from None
    raise TypeError(f"encryption context keys and values must be str, not {type(value).__name__}")


def source_length_of(source: object) -> int | None:
    """The bytes left in ``source``, if that can be known without reading it."""
    if isinstance(source, bytes | bytearray):
        return len(source)
    if isinstance(source, memoryview):
        return source.nbytes
    if isinstance(source, os.PathLike):
        return os.path.getsize(source)
    try:
        position = source.tell()  # type: ignore[attr-defined]
        end = source.seek(0, os.SEEK_END)  # type: ignore[attr-defined]
        source.seek(position, os.SEEK_SET)  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None
    return int(end) - int(position)


class _BoundedReader:
    """Reads ``source``, refusing more than ``limit`` bytes in all."""

    def __init__(self, source: Any, limit: int) -> None:
        self._source = source
        self._limit = limit
        self._total = 0

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self._source.read(size)
        self.count(len(data))
        return data

    def count(self, length: int) -> None:
        self._total += length
        if self._total > self._limit:
            raise CustomMaximumValueExceeded(
                "Bytes encrypted has exceeded stated source length estimate:\n"
                f"{self._total:d} > {self._limit:d}"
            )


def bounded_source(source: Any, limit: int) -> Any:
    """``source``, failing with CustomMaximumValueExceeded past ``limit`` bytes.

    The reference enforces a caller's ``source_length`` this way when it was given a
    materials manager (not a key provider)."""
    if isinstance(source, os.PathLike):  # a Sealbox extension: checked up front
        _BoundedReader(io.BytesIO(), limit).count(os.path.getsize(source))
        return source
    if isinstance(source, bytes | bytearray | memoryview):
        source = io.BytesIO(source)
    return _BoundedReader(source, limit)
