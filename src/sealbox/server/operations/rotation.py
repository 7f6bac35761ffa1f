"""EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations.

Every rotation adds a new key material; new encryptions use it, every older
ciphertext still decrypts with the material its blob names.
"""

from __future__ import annotations

from typing import Any

from sealbox.server.access.conditions import ContextValue
from sealbox.server.errors import (
    DisabledException,
    KMSInvalidStateException,
    LimitExceededException,
    NotFoundException,
    UnsupportedOperationException,
)
from sealbox.server.key_specs import spec_of
from sealbox.server.lifecycle import DAY, ON_DEMAND_ROTATION_LIMIT, new_material
from sealbox.server.operations.paging import page_request, page_result
from sealbox.server.operations.table import Params, Result, operation
from sealbox.server.service import Caller, KeyEntry, KmsService
from sealbox.server.store.records import KeyRecord, MaterialRecord, key_row_id

DEFAULT_PERIOD_DAYS = 365


def _rotatable(
    service: KmsService,
    caller: Caller,
    key_param: str,
    action: str,
    condition_keys: dict[str, ContextValue] | None = None,
) -> KeyEntry:
    entry = service.resolve(caller, key_param, aliases=False)
    service.authorize(caller, action, entry, context=condition_keys)
    _refuse_unrotatable(entry)
    record = entry.record
    if record.multi_region and record.primary_region != record.region:
        raise UnsupportedOperationException(
            f"{record.arn} is a replica key: a multi-Region key rotates from its primary key "
            f"in {record.primary_region}."
        )
    state = entry.record.key_state
    if state == "Disabled":
        raise DisabledException(f"{entry.record.arn} is disabled.")
    if state in ("PendingDeletion", "PendingReplicaDeletion", "PendingImport"):
        what = "pending import" if state == "PendingImport" else "pending deletion"
        raise KMSInvalidStateException(f"{entry.record.arn} is {what}.")
    return entry


def _refuse_unrotatable(entry: KeyEntry) -> None:
    if not spec_of(entry.record.key_spec).rotates:
        raise UnsupportedOperationException(
            f"{entry.record.arn} has key spec {entry.record.key_spec}: only symmetric "
            "encryption keys rotate."
        )


def _rotation_owner(service: KmsService, record: KeyRecord) -> KeyRecord:
    """The row that holds the key's rotation settings: a multi-Region replica's primary."""
    if not record.multi_region or record.primary_region in (None, record.region):
        return record
    primary = service.store.keys.get_key(key_row_id(record.public_id, record.primary_region))
    return primary or record


def _last_rotation(service: KmsService, record: KeyRecord) -> float:
    dates = [m.created_at for m in service.store.keys.materials(record.key_id) if m.rotation_type]
    return max(dates, default=record.created_at)


@operation("EnableKeyRotation", mutating=True)
def enable_key_rotation(service: KmsService, caller: Caller, params: Params) -> Result:
    period = params.get("RotationPeriodInDays", DEFAULT_PERIOD_DAYS)
    entry = _rotatable(
        service,
        caller,
        params["KeyId"],
        "EnableKeyRotation",
        {"kms:rotationperiodindays": str(period)},
    )
    if entry.record.origin != "AWS_KMS":
        raise UnsupportedOperationException(
            f"{entry.record.arn} has imported key material: it rotates on demand only (RotateKeyOnDemand)."
        )
    # AWS schedules the next rotation from the last one (or the key's creation).
    next_rotation = _last_rotation(service, entry.record) + period * DAY
    service.change_key(
        entry.record.key_id,
        rotation_enabled=True,
        rotation_period=period,
        next_rotation=next_rotation,
    )
    return {}


@operation("DisableKeyRotation", mutating=True)
def disable_key_rotation(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = _rotatable(service, caller, params["KeyId"], "DisableKeyRotation")
    service.change_key(entry.record.key_id, rotation_enabled=False, next_rotation=None)
    return {}


@operation("GetKeyRotationStatus")
def get_key_rotation_status(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = service.resolve(caller, params["KeyId"], aliases=False)
    service.authorize(caller, "GetKeyRotationStatus", entry)
    record = _rotation_owner(service, entry.record)
    result: dict[str, Any] = {
        "KeyRotationEnabled": record.rotation_enabled,
        "KeyId": entry.record.arn,
    }
    if record.rotation_enabled:
        result["RotationPeriodInDays"] = record.rotation_period
        result["NextRotationDate"] = record.next_rotation
    return result


@operation("RotateKeyOnDemand", mutating=True)
def rotate_key_on_demand(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = _rotatable(service, caller, params["KeyId"], "RotateKeyOnDemand")
    key_id = entry.record.key_id
    with service.store.write() as connection:
        record = service.store.keys.get_key(key_id, connection)
        if record is None:
            raise NotFoundException(f"Key '{entry.record.arn}' does not exist")
        if record.on_demand_rotations >= ON_DEMAND_ROTATION_LIMIT:
            raise LimitExceededException(  # AWS's words
                "The on-demand rotations limit has been reached for the given keyId. "
                f"No more on-demand rotations can be performed for this key: {record.arn}"
            )
        now = service.clock.now()
        if record.origin == "AWS_KMS":
            new_material(
                service.store, service.require_unsealed(), record, "ON_DEMAND", now, connection
            )
        else:
            pending = [
                m
                for m in service.store.keys.materials(key_id, connection)
                if m.pending_rotation and m.present
            ]
            if not pending:
                raise KMSInvalidStateException(
                    f"{record.arn} has no imported key material pending rotation; "
                    "import NEW_KEY_MATERIAL first."
                )
            service.store.keys.update_material(
                key_id,
                pending[-1].material_id,
                connection,
                pending_rotation=False,
                rotation_type="ON_DEMAND",
                created_at=now,
                position=service.store.keys.next_material_position(key_id, connection),
            )
            service.store.keys.update_key(
                key_id, connection, current_material_id=pending[-1].material_id
            )
        service.store.keys.update_key(
            key_id, connection, on_demand_rotations=record.on_demand_rotations + 1
        )
    service.forget()
    return {"KeyId": entry.record.arn}


def material_entry(record: KeyRecord, material: MaterialRecord) -> dict[str, Any]:
    if material.material_id == record.current_material_id:
        state = "CURRENT"
    else:
        state = "PENDING_ROTATION" if material.pending_rotation else "NON_CURRENT"
    entry: dict[str, Any] = {
        "KeyId": record.arn,
        "KeyMaterialId": material.material_id,
        "KeyMaterialState": state,
    }
    if material.rotation_type:
        entry["RotationDate"] = material.created_at
        entry["RotationType"] = material.rotation_type
    if material.origin == "EXTERNAL":
        entry["ImportState"] = "IMPORTED" if material.present else "PENDING_IMPORT"
        if material.expiration_model:
            entry["ExpirationModel"] = material.expiration_model
        if material.valid_to is not None:
            entry["ValidTo"] = material.valid_to
        if material.description:
            entry["KeyMaterialDescription"] = material.description
    return entry


@operation("ListKeyRotations")
def list_key_rotations(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = service.resolve(caller, params["KeyId"], aliases=False)
    service.authorize(caller, "ListKeyRotations", entry)
    _refuse_unrotatable(entry)
    limit, after = page_request(params, 100, valid=lambda position: position.isdigit())
    materials = service.store.keys.materials(entry.record.key_id)
    if params.get("IncludeKeyMaterial", "ROTATIONS_ONLY") == "ROTATIONS_ONLY":
        materials = [m for m in materials if m.rotation_type]
    # positions as fixed-width text: a marker compares as text, and a forged one cannot crash us
    listed = [(f"{i:08d}", m) for i, m in enumerate(materials)]
    if after is not None:
        listed = [(i, m) for i, m in listed if i > after]
    shown, more = page_result(listed, limit, lambda item: item[0])
    return {"Rotations": [material_entry(entry.record, m) for _, m in shown], **more}
