"""Whether a client may decrypt signed messages (``mode="decrypt-unsigned"`` forbids it)."""

from __future__ import annotations

from enum import Enum


class SignaturePolicy(Enum):
    ALLOW_ENCRYPT_ALLOW_DECRYPT = 0
    ALLOW_ENCRYPT_FORBID_DECRYPT = 1
