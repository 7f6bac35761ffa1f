"""The audit key and the MAC chain.

A record's MAC is ``HMAC-SHA256(audit key, previous MAC ‖ chain ‖ seq ‖ record)``,
starting from a per-chain genesis value. The audit key is random and stored
wrapped under the root key, so rewriting the log takes the root key.
"""

from __future__ import annotations

import base64
import hmac
import os

from sealbox.server.errors import KMSInternalException
from sealbox.server.rootkey import RootKey
from sealbox.server.store.repository import Store

KEY_META = "audit_key"
KEY_AAD = b"sealbox/audit-key"


def ensure_audit_key(store: Store, root_key: RootKey) -> None:
    """Create the store's audit MAC key once (wrapped under the root key)."""
    if store.get_meta(KEY_META) is None:
        wrapped = root_key.wrap(os.urandom(32), aad=KEY_AAD)
        store.put_meta({KEY_META: base64.b64encode(wrapped).decode()})


def load_audit_key(store: Store, root_key: RootKey) -> bytes:
    value = store.get_meta(KEY_META)
    if value is None:
        raise KMSInternalException(
            "the store has no audit key; start the service once to create it"
        )
    return root_key.unwrap(base64.b64decode(value), aad=KEY_AAD)


def record_mac(key: bytes, previous: bytes, chain: str, seq: int, body: bytes) -> bytes:
    return hmac.digest(key, previous + f"\x00{chain}\x00{seq}\x00".encode() + body, "sha256")


def genesis(key: bytes, chain: str) -> bytes:
    return hmac.digest(key, b"sealbox audit chain\x00" + chain.encode(), "sha256")


def checkpoint_tag(key: bytes, chain: str, seq: int, mac: bytes) -> bytes:
    return hmac.digest(key, f"checkpoint\x00{chain}\x00{seq}\x00".encode() + mac, "sha256")


def checkpoint_tag_v2(
    key: bytes, chain: str, number: int, seq: int, mac: bytes, closed: bool
) -> bytes:
    """A checkpoint slot's tag: binds the chain, write number, head and closed flag."""
    prefix = f"checkpoint/v2\x00{chain}\x00{number}\x00{seq}\x00{int(closed)}\x00".encode()
    return hmac.digest(key, prefix + mac, "sha256")
