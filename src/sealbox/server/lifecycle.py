"""Time-driven key changes: deletion after the waiting period, automatic rotation,
expiry of imported key material. Also on-demand rotation, which shares the mechanics.

Each change is decided and made inside one write transaction that re-reads the
key, so when several workers (or nodes) find the same change due, exactly one
makes it and the others see it made.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from sealbox.server.store.records import KeyRecord, MaterialRecord, material_aad

if TYPE_CHECKING:
    from sealbox.server.service import KmsService

DAY = 86400.0
ON_DEMAND_ROTATION_LIMIT = 10  # per key; the API reference says 10 (a developer-guide page says 25)


def apply_due(service: KmsService, key_id: str) -> None:
    """Make every change to ``key_id`` that is due now."""
    store = service.store
    with service.change() as connection:
        record = store.get_key(key_id, connection)
        now = service.clock.now()
        if record is None:
            return
        if record.key_state == "PendingDeletion" and record.deletion_date is not None:
            if record.deletion_date <= now:
                store.delete_key(key_id, connection)
                service.record_event(connection, "DeleteKey", record.arn)
            return
        _expire_materials(service, record, now, connection)
        record = store.get_key(key_id, connection) or record
        if (
            record.rotation_enabled
            and record.key_state == "Enabled"
            and record.next_rotation is not None
            and record.next_rotation <= now
        ):
            material_id = new_material(service, record, "AUTOMATIC", now, connection)
            period = (record.rotation_period or 365) * DAY
            store.update_key(key_id, connection, next_rotation=now + period)
            service.record_event(
                connection, "RotateKey", record.arn, {"keyMaterialId": material_id}
            )
    service.drop_key(key_id)


def _expire_materials(
    service: KmsService, record: KeyRecord, now: float, connection: Connection
) -> None:
    for material in service.store.materials(record.key_id, connection):
        if material.present and material.valid_to is not None and material.valid_to <= now:
            service.store.update_material(
                record.key_id, material.material_id, connection, wrapped=b""
            )
            service.record_event(
                connection,
                "DeleteExpiredKeyMaterial",
                record.arn,
                {"keyMaterialId": material.material_id},
            )
            if material.material_id == record.current_material_id and record.key_state in (
                "Enabled",
                "Disabled",
            ):
                service.store.update_key(record.key_id, connection, key_state="PendingImport")


def new_material(
    service: KmsService, record: KeyRecord, rotation_type: str, now: float, connection: Connection
) -> str:
    """A fresh random material becomes the key's current one; older ones keep decrypting."""
    material_id = os.urandom(32).hex()
    wrapped = service.require_unsealed().wrap(
        os.urandom(32), aad=material_aad(record.arn, material_id)
    )
    service.store.insert_material(
        MaterialRecord(record.key_id, material_id, now, wrapped, rotation_type=rotation_type),
        connection,
    )
    service.store.update_key(record.key_id, connection, current_material_id=material_id)
    return material_id


def sweep(service: KmsService) -> int:
    """Apply every due change in the store (the periodic task); returns how many keys changed."""
    now = service.clock.now()
    store = service.store
    due = set(store.keys_due_for_deletion(now)) | set(store.keys_due_for_rotation(now))
    due |= set(store.keys_with_expiring_material(now))
    for key_id in sorted(due):
        apply_due(service, key_id)
    return len(due)
