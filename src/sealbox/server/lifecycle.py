"""Time-driven key changes: deletion after the waiting period, automatic rotation,
expiry of imported key material. Also on-demand rotation, which shares the mechanics.

Each change is decided and made inside one write transaction that re-reads the
key, so when several workers (or nodes) find the same change due, exactly one
makes it and the others see it made. These functions take only what they use (the
store and audit log through :class:`Changes`, the root key); dropping a worker's
cached copy of a changed key is the caller's business.
"""

from __future__ import annotations

import os

from sqlalchemy import Connection

from sealbox.server.changes import Changes
from sealbox.server.rootkey.core import RootKey
from sealbox.server.store.records import KeyRecord, MaterialRecord, material_aad
from sealbox.server.store.repository import Store

DAY = 86400.0
ON_DEMAND_ROTATION_LIMIT = 10  # per key; the API reference says 10 (a developer-guide page says 25)


def apply_due(changes: Changes, root_key: RootKey, key_id: str) -> None:
    """Make every change to ``key_id`` that is due now."""
    store = changes.store
    with changes.transaction() as connection:
        record = store.keys.get_key(key_id, connection)
        now = changes.clock.now()
        if record is None:
            return
        if record.key_state == "PendingDeletion" and record.deletion_date is not None:
            if record.deletion_date <= now:
                store.keys.delete_key(key_id, connection)
                changes.record_event(connection, "DeleteKey", record.arn)
                if record.multi_region:
                    _after_replica_deleted(store, record, now, connection)
            return
        _expire_materials(changes, record, now, connection)
        record = store.keys.get_key(key_id, connection) or record
        if (
            record.rotation_enabled
            and record.key_state == "Enabled"
            and record.next_rotation is not None
            and record.next_rotation <= now
        ):
            material_id = new_material(store, root_key, record, "AUTOMATIC", now, connection)
            period = (record.rotation_period or 365) * DAY
            store.keys.update_key(key_id, connection, next_rotation=now + period)
            changes.record_event(
                connection, "RotateKey", record.arn, {"keyMaterialId": material_id}
            )


def _after_replica_deleted(
    store: Store, deleted: KeyRecord, now: float, connection: Connection
) -> None:
    """A primary waiting for its replicas' deletion starts its own waiting period once the
    last of them is gone (as AWS: PendingReplicaDeletion, then PendingDeletion)."""
    left = store.keys.copies(deleted.public_id, connection)
    primary = [c for c in left if c.key_state == "PendingReplicaDeletion"]
    if primary and len(left) == 1:
        window = primary[0].pending_window or 30
        store.keys.update_key(
            primary[0].key_id,
            connection,
            key_state="PendingDeletion",
            deletion_date=now + window * DAY,
        )


def _expire_materials(
    changes: Changes, record: KeyRecord, now: float, connection: Connection
) -> None:
    keys = changes.store.keys
    for material in keys.materials(record.key_id, connection):
        if material.present and material.valid_to is not None and material.valid_to <= now:
            keys.update_material(record.key_id, material.material_id, connection, wrapped=b"")
            changes.record_event(
                connection,
                "DeleteExpiredKeyMaterial",
                record.arn,
                {"keyMaterialId": material.material_id},
            )
            if material.material_id == record.current_material_id and record.key_state in (
                "Enabled",
                "Disabled",
            ):
                keys.update_key(record.key_id, connection, key_state="PendingImport")


def new_material(
    store: Store,
    root_key: RootKey,
    record: KeyRecord,
    rotation_type: str,
    now: float,
    connection: Connection,
) -> str:
    """A fresh random material becomes the key's current one; older ones keep decrypting.
    A multi-Region key's copies all take it (each wrapped for its own ARN)."""
    material_id = os.urandom(32).hex()
    material = os.urandom(32)
    for copy in copies_of(store, record, connection):
        wrapped = root_key.wrap(material, aad=material_aad(copy.arn, material_id))
        store.keys.insert_material(
            MaterialRecord(copy.key_id, material_id, now, wrapped, rotation_type=rotation_type),
            connection,
        )
        store.keys.update_key(copy.key_id, connection, current_material_id=material_id)
    return material_id


def copies_of(store: Store, record: KeyRecord, connection: Connection) -> list[KeyRecord]:
    """The key's rows: every region's copy of a multi-Region key, else the key itself."""
    return store.keys.copies(record.public_id, connection) if record.multi_region else [record]


def sweep(changes: Changes, root_key: RootKey) -> list[str]:
    """Apply every due change in the store (the periodic task); returns the keys changed."""
    now = changes.clock.now()
    keys = changes.store.keys
    due = set(keys.due_for_deletion(now)) | set(keys.due_for_rotation(now))
    due |= set(keys.with_expiring_material(now))
    for key_id in sorted(due):
        apply_due(changes, root_key, key_id)
    return sorted(due)
