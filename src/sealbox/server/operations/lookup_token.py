"""LookupEvents' NextToken: where the next page starts, sealed so only this service can
have made it, for this account, region and filters.

The position (event time, chain, sequence number) is encrypted and authenticated with
AES-256-GCM under a key derived from the audit key (so every worker and node of a store
reads every other's tokens), with the account, the region and the filters as associated
data. A token altered, made up, or used by another account, in another region or with
other filters is refused; its content (chain names hold the host name) is not readable.
Even a valid token only moves where a lookup starts: the account filter comes from the
caller's credentials, never from the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealbox.server.audit.lookup import Position
from sealbox.server.errors import ValidationException

KEY_LABEL = b"sealbox/LookupEvents/NextToken/v1"
NONCE = 12
INVALID = (
    "The NextToken is invalid. Pass the NextToken of a previous LookupEvents answer, with the "
    "same LookupAttributes, StartTime and EndTime, in the same region and account."
)


def token_key(audit_key: bytes) -> bytes:
    """The tokens' AES-256 key: the audit key itself is used for nothing but MACs."""
    return hmac.digest(audit_key, KEY_LABEL, "sha256")


def binding(account: str, region: str, filters: Any) -> bytes:
    """What a token is bound to: the account, the region and the (normalized) filters."""
    text = json.dumps([account, region, filters], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).digest()


def seal(key: bytes, position: Position, bound: bytes) -> str:
    nonce = os.urandom(NONCE)
    plain = json.dumps([position.event_time, position.chain, position.seq]).encode()
    sealed = AESGCM(key).encrypt(nonce, plain, bound)
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(key: bytes, token: str, bound: bytes) -> Position:
    """The position ``token`` names; ValidationException for any token this service did not
    make for ``bound``."""
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        plain = AESGCM(key).decrypt(raw[:NONCE], raw[NONCE:], bound)
        moment, chain, seq = json.loads(plain)
    except (binascii.Error, ValueError, InvalidTag, TypeError):
        raise ValidationException(INVALID) from None
    if not (
        isinstance(moment, float | int)
        and not isinstance(moment, bool)
        and isinstance(chain, str)
        and isinstance(seq, int)
        and not isinstance(seq, bool)
    ):
        raise ValidationException(INVALID)  # ours never look so: a changed key derivation
    return Position(float(moment), chain, seq)
