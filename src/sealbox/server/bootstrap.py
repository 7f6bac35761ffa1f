"""Opening the store with its root key.

:func:`prepare` runs once, before any worker starts: for a new, empty store it
creates the root key file (if there is none yet) and records the key's id and a
check value in the store. :func:`open_service` runs in each worker and never
creates anything: a missing or different root key leaves the service sealed,
with the reason in its log and its readiness answer.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from pathlib import Path

from sealbox.errors import SealboxError
from sealbox.server import logs
from sealbox.server.audit import CHECKPOINT_DIR, AuditLog, ensure_audit_key
from sealbox.server.clock import Clock, SystemClock
from sealbox.server.config import ServerConfig
from sealbox.server.errors import KMSInternalException
from sealbox.server.hsm import SCHEME, open_pkcs11_root_key
from sealbox.server.passphrase import is_passphrase, passphrase_root_key
from sealbox.server.rekey import DualRootKey
from sealbox.server.rootkey import (
    CHECK_AAD,
    CHECK_PLAINTEXT,
    RootKey,
    RootKeyError,
    UnwrapError,
    close_root_key,
    create_root_key_file,
    load_root_key_file,
)
from sealbox.server.service import KmsService, Settings
from sealbox.server.store.repository import Store


class StartupError(SealboxError):
    """The service cannot start here: a busy port, an unusable directory or file."""


def open_store(config: ServerConfig) -> Store:
    if config.database:
        return Store.open_postgres(config.database)
    try:
        return Store.open_sqlite(config.data_dir)
    except OSError as error:  # e.g. the data directory is a file, or not writable
        raise StartupError(
            f"cannot open the store in {config.data_dir}: {error.strerror or error}; "
            "choose a writable directory with --data-dir"
        ) from None


def has_access_keys(config: ServerConfig) -> bool:
    """Whether anyone can call the service yet (a new store has no access key)."""
    store = open_store(config)
    try:
        return bool(store.access_keys())
    finally:
        store.close()


def is_pkcs11(config: ServerConfig) -> bool:
    return config.root_key.startswith(SCHEME)


def load_root_key(config: ServerConfig, store: Store, *, create: bool = False) -> RootKey:
    """The configured root key; ``create`` (a new store only) may generate a token key or
    a passphrase salt."""
    if is_passphrase(config.root_key):
        return passphrase_root_key(config.root_key, store, create=create)
    if is_pkcs11(config):
        return open_pkcs11_root_key(
            config.root_key,
            module=config.pkcs11_module,
            pin_file=config.pkcs11_pin_file,
            create=create,
        )
    return load_root_key_file(Path(config.root_key).expanduser())


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
    store.put_meta(
        {
            "root_key_id": root_key.key_id,
            "root_key_check": base64.b64encode(
                root_key.wrap(CHECK_PLAINTEXT, aad=CHECK_AAD)
            ).decode(),
        }
    )


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


def prepare(config: ServerConfig) -> None:
    """Initialize a new store's root key; verify an existing one. Raises RootKeyError."""
    store = open_store(config)
    try:
        if store.get_meta("root_key_id") is None:
            if not store.is_empty():
                raise RootKeyError(
                    "the store holds keys but records no root key; refusing to create one"
                )
            root_key: RootKey
            if is_pkcs11(config) or is_passphrase(config.root_key):
                root_key = load_root_key(config, store, create=True)
            else:
                path = Path(config.root_key).expanduser()
                root_key = load_root_key_file(path) if path.exists() else create_root_key_file(path)
            try:
                bind(store, root_key)
                ensure_audit_key(store, root_key)
            finally:
                close_root_key(root_key)
            logs.event(
                logs.SERVICE,
                "initialized the store",
                root_key_id=root_key.key_id,
                root_key=config.root_key,
            )
            return
        root_key = load_serving_root_key(config, store)
        try:
            ensure_audit_key(store, root_key)  # stores made before the audit log existed
        finally:
            close_root_key(root_key)
    finally:
        store.close()


def open_service(config: ServerConfig, clock: Clock | None = None) -> KmsService:
    store = open_store(config)
    settings = Settings(regions=frozenset(config.regions) if config.regions else None)
    clock = clock or SystemClock()
    try:
        root_key: RootKey = load_serving_root_key(config, store)
        audit = AuditLog(store, root_key, config.data_dir / CHECKPOINT_DIR)
    except (RootKeyError, KMSInternalException) as error:
        logs.event(logs.SERVICE, "the service is sealed", 40, reason=error.message)
        return KmsService(
            store=store, root_key=None, clock=clock, settings=settings, sealed_reason=error.message
        )
    service = KmsService(store=store, root_key=root_key, clock=clock, settings=settings)
    service.audit = audit
    return service
