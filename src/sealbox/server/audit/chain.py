"""The audit key and the MAC chain.

A record's MAC is ``HMAC-SHA256(audit key, previous MAC ‖ chain ‖ seq ‖ record)``,
starting from a per-chain genesis value. The audit key is random and stored
wrapped under the root key, so rewriting the log takes the root key.
"""

from __future__ import annotations

import base64
import hmac
import os
import uuid

from sealbox.server.errors import KMSInternalException
from sealbox.server.rootkey.core import RootKey
from sealbox.server.store.repository import Store

KEY_META = "audit_key"
KEY_AAD = b"sealbox/audit-key"
STORE_ID_META = "store_id"


def ensure_audit_key(store: Store, root_key: RootKey) -> None:
    """Create the store's audit MAC key and its identity once (the key wrapped under the
    root key). The identity goes into every checkpoint, so a checkpoint directory mixing
    two stores' files tells them apart (a restored store keeps its source's identity)."""
    # Read and written in one transaction each: nodes starting together on a new
    # PostgreSQL store agree on one key instead of the last writer's replacing the first's.
    if store.get_meta(KEY_META) is None:
        wrapped = base64.b64encode(root_key.wrap(os.urandom(32), aad=KEY_AAD)).decode()
        with store.write() as connection:
            store.put_meta_if_absent(KEY_META, wrapped, connection)
    with store.write() as connection:
        store.put_meta_if_absent(STORE_ID_META, uuid.uuid4().hex, connection)


def store_id(store: Store) -> str | None:
    """The store's identity (None for a store not prepared since identities exist)."""
    return store.get_meta(STORE_ID_META)


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


def checkpoint_tag_v3(
    key: bytes, store: str, chain: str, number: int, seq: int, mac: bytes, closed: bool
) -> bytes:
    """As :func:`checkpoint_tag_v2`, also binding the store's identity."""
    prefix = f"checkpoint/v3\x00{store}\x00{chain}\x00{number}\x00{seq}\x00{int(closed)}\x00"
    return hmac.digest(key, prefix.encode() + mac, "sha256")


def checkpoint_tag_v2(
    key: bytes, chain: str, number: int, seq: int, mac: bytes, closed: bool
) -> bytes:
    """A checkpoint slot's tag: binds the chain, write number, head and closed flag."""
    prefix = f"checkpoint/v2\x00{chain}\x00{number}\x00{seq}\x00{int(closed)}\x00".encode()
    return hmac.digest(key, prefix + mac, "sha256")
