"""Internal structures the legacy API's users meet through :class:`WrappingKey`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EncryptedData:
    """A wrapped data key: IV and tag for AES-GCM wrapping, both None for RSA."""

    iv: bytes | None
    ciphertext: bytes
    tag: bytes | None
