"""The configured root key, and the check that it is the one the store was sealed with.

``--root-key`` names the kind by its form: ``passphrase:…`` (passphrase.py),
``pkcs11:…`` (hsm.py), anything else a key file (core.py). A new kind of root key
is a module beside those and one branch in :func:`load_root_key`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from sealbox.server.rootkey.core import (
    CHECK_AAD,
    CHECK_PLAINTEXT,
    RootKey,
    RootKeyError,
    UnwrapError,
    create_root_key_file,
    load_root_key_file,
)
from sealbox.server.rootkey.hsm import SCHEME, open_pkcs11_root_key
from sealbox.server.rootkey.passphrase import is_passphrase, passphrase_root_key
from sealbox.server.rootkey.rekey import DualRootKey

if TYPE_CHECKING:
    from sealbox.server.config import ServerConfig
    from sealbox.server.store.repository import Store


def is_pkcs11(config: ServerConfig) -> bool:
    return config.root_key.startswith(SCHEME)


def load_root_key(config: ServerConfig, store: Store, *, create: bool = False) -> RootKey:
    """The configured root key; ``create`` (a new store only) may generate a key file, a
    token key or a passphrase salt."""
    if is_passphrase(config.root_key):
        return passphrase_root_key(config.root_key, store, create=create)
    if is_pkcs11(config):
        return open_pkcs11_root_key(
            config.root_key,
            module=config.pkcs11_module,
            pin_file=config.pkcs11_pin_file,
            create=create,
        )
    path = Path(config.root_key).expanduser()
    if create and not path.exists():
        return create_root_key_file(path)
    return load_root_key_file(path)


def load_serving_root_key(config: ServerConfig, store: Store) -> RootKey:
    """The root key a service uses, checked against the store. With ``previous_root_key``
    (a rotation in progress) new values are wrapped under ``root_key`` and old ones still
    unwrap, whichever of the two the store is bound to at the moment."""
    root_key = load_root_key(config, store)
    if config.previous_root_key is None:
        check_binding(store, root_key)
        return root_key
    previous = load_root_key(dataclasses.replace(config, root_key=config.previous_root_key), store)
    try:
        check_binding(store, root_key)
    except RootKeyError:
        check_binding(store, previous)
    return DualRootKey(root_key, previous)


def bind(store: Store, root_key: RootKey) -> None:
    check = base64.b64encode(root_key.wrap(CHECK_PLAINTEXT, aad=CHECK_AAD)).decode()
    with store.write() as connection:
        store.put_meta({"root_key_id": root_key.key_id, "root_key_check": check}, connection)


def check_binding(store: Store, root_key: RootKey) -> None:
    """Raise RootKeyError unless ``root_key`` is the key this store was sealed with."""
    recorded = store.get_meta("root_key_id")
    check = store.get_meta("root_key_check")
    if recorded is None or check is None:
        raise RootKeyError(
            "the store records no root key; start it once with 'sealbox serve' to initialize it"
        )
    if recorded != root_key.key_id:
        raise RootKeyError(
            f"the root key given ({root_key.key_id}) is not this store's root key ({recorded})"
        )
    try:
        if root_key.unwrap(base64.b64decode(check), aad=CHECK_AAD) != CHECK_PLAINTEXT:
            raise UnwrapError("check value mismatch")
    except (UnwrapError, binascii.Error):
        raise RootKeyError(
            f"the root key's check value does not verify against this store ({recorded})"
        ) from None
