"""Opening the store with its root key and assembling the service.

:func:`prepare` runs once, before any worker starts: for a new, empty store it
creates the root key file (if there is none yet) and records the key's id and a
check value in the store. :func:`open_service` runs in each worker and never
creates anything: a missing or different root key leaves the service sealed,
with the reason in its log and its readiness answer.
"""

from __future__ import annotations

from sealbox.errors import SealboxError
from sealbox.server import logs
from sealbox.server.audit import CHECKPOINT_DIR, AuditLog, ensure_audit_key
from sealbox.server.clock import Clock, SystemClock
from sealbox.server.config import ServerConfig
from sealbox.server.errors import KMSInternalException
from sealbox.server.rootkey.configured import bind, load_root_key, load_serving_root_key
from sealbox.server.rootkey.core import RootKey, RootKeyError, close_root_key
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
        return bool(store.identities.access_keys())
    finally:
        store.close()


def prepare(config: ServerConfig) -> None:
    """Initialize a new store's root key; verify an existing one. Raises RootKeyError."""
    store = open_store(config)
    try:
        if store.get_meta("root_key_id") is None:
            if not store.is_empty():
                raise RootKeyError(
                    "the store holds keys but records no root key; refusing to create one"
                )
            root_key = load_root_key(config, store, create=True)
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
    return KmsService(store=store, root_key=root_key, clock=clock, settings=settings, audit=audit)
