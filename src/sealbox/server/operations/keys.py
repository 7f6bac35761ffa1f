"""CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion,
CancelKeyDeletion, UpdateKeyDescription."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sealbox.server import keypairs
from sealbox.server.access.authorization import create_key_keys, request_alias_keys
from sealbox.server.access.conditions import ContextValue
from sealbox.server.access.policy_language import Policy
from sealbox.server.arn import account_root_arn, key_arn
from sealbox.server.errors import (
    KMSInvalidStateException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from sealbox.server.key_specs import (
    ENCRYPT_DECRYPT,
    NOT_SERVED,
    SPECS,
    SYMMETRIC_DEFAULT,
    KeySpec,
    spec_of,
)
from sealbox.server.operations.paging import page_request, page_result
from sealbox.server.operations.policies import check_lockout
from sealbox.server.operations.table import Params, Result, operation
from sealbox.server.operations.tags import check_tags
from sealbox.server.service import Caller, KeyEntry, KmsService, new_key_id
from sealbox.server.store.records import KeyRecord, MaterialRecord, key_row_id, material_aad
from sealbox.server.workpool import prepared

DAY = 86400.0
DEFAULT_PENDING_WINDOW = 30
PENDING_DELETION = ("PendingDeletion", "PendingReplicaDeletion")


def default_policy(account: str) -> str:
    """The key policy AWS gives a key created without one: the account root may do
    everything, which delegates to the account's identity policies."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": account_root_arn(account)},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        },
        indent=2,
    )


def key_metadata(
    record: KeyRecord,
    current: MaterialRecord | None = None,
    copies: Sequence[KeyRecord] = (),
) -> dict[str, Any]:
    """KeyMetadata as AWS returns it; ``current`` (the current material) adds import details,
    ``copies`` (every region's copy of a multi-Region key) its MultiRegionConfiguration."""
    metadata: dict[str, Any] = {
        "AWSAccountId": record.account,
        "KeyId": record.public_id,
        "Arn": record.arn,
        "CreationDate": record.created_at,
        "Enabled": record.key_state == "Enabled",
        "Description": record.description,
        "KeyUsage": record.key_usage,
        "KeyState": record.key_state,
        "Origin": record.origin,
        "KeyManager": record.key_manager,
        "CustomerMasterKeySpec": record.key_spec,
        "KeySpec": record.key_spec,
        "MultiRegion": record.multi_region,
    }
    if record.multi_region:
        metadata["MultiRegionConfiguration"] = _multi_region_configuration(record, copies)
    field, algorithms = spec_of(record.key_spec).algorithms(record.key_usage)
    metadata[field] = list(algorithms)
    if record.key_state == "PendingDeletion":
        metadata["DeletionDate"] = record.deletion_date
    if record.key_state in PENDING_DELETION:
        metadata["PendingDeletionWindowInDays"] = record.pending_window
    if record.current_material_id is not None and record.key_spec == SYMMETRIC_DEFAULT:
        metadata["CurrentKeyMaterialId"] = record.current_material_id  # as AWS: symmetric only
    # as AWS: no ExpirationModel while the imported material is deleted or expired
    if (
        current is not None
        and current.origin == "EXTERNAL"
        and current.present
        and (current.expiration_model)
    ):
        metadata["ExpirationModel"] = current.expiration_model
        if current.valid_to is not None:
            metadata["ValidTo"] = current.valid_to
    return metadata


def _multi_region_configuration(record: KeyRecord, copies: Sequence[KeyRecord]) -> dict[str, Any]:
    primary = record.primary_region or record.region
    replicas = [c for c in copies if c.region != primary]
    return {
        "MultiRegionKeyType": "PRIMARY" if record.region == primary else "REPLICA",
        "PrimaryKey": {
            "Arn": key_arn(primary, record.account, record.public_id),
            "Region": primary,
        },
        "ReplicaKeys": [{"Arn": c.arn, "Region": c.region} for c in replicas],
    }


def _unsupported(what: str) -> UnsupportedOperationException:
    return UnsupportedOperationException(
        f"{what} is not supported by this Sealbox version (see the README)."
    )


@dataclass(frozen=True)
class _NewKey:
    spec: KeySpec
    usage: str
    origin: str


def _new_key(service: KmsService, caller: Caller, params: Params) -> _NewKey:
    """CreateKey's checks, in AWS's order, before anything is made."""
    service.authorize(caller, "CreateKey", None, context=create_key_keys(params))
    if "KeySpec" in params and "CustomerMasterKeySpec" in params:
        raise ValidationException(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request."
        )
    name = params.get("KeySpec") or params.get("CustomerMasterKeySpec") or SYMMETRIC_DEFAULT
    origin = params.get("Origin", "AWS_KMS")
    if name in NOT_SERVED:  # AWS's answer for a spec a Region does not offer
        raise UnsupportedOperationException(
            f"KeySpec {name} is not supported in this Region{NOT_SERVED[name]}"
        )
    if name not in SPECS:
        raise ValidationException(f"KeySpec {name} is not a valid key spec.")
    spec = SPECS[name]
    if "KeyUsage" not in params and name != SYMMETRIC_DEFAULT:
        raise ValidationException(
            "You must specify a KeyUsage value for all KMS keys except for symmetric "
            "encryption keys."
        )
    usage = params.get("KeyUsage", ENCRYPT_DECRYPT)
    if usage not in spec.usages:
        raise ValidationException(f"KeyUsage {usage} is not compatible with KeySpec {name}")
    if params.get("MultiRegion") and origin == "EXTERNAL":
        raise _unsupported("A multi-Region key with imported key material")
    if (
        params.get("CustomKeyStoreId")
        or params.get("XksKeyId")
        or origin in ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
    ):
        raise _unsupported("A custom key store")
    return _NewKey(spec, usage, origin)


def _new_material(spec: KeySpec) -> bytes:
    """Random bytes for symmetric and HMAC keys; a PKCS#8 private key for key pairs."""
    return keypairs.generate(spec.name) if spec.asymmetric else os.urandom(spec.material_bytes)


def _prepare_key_pair(
    service: KmsService, caller: Caller, params: Params
) -> Callable[[], tuple[str, bytes]] | None:
    """An RSA key pair takes up to seconds of CPU: made in the work pool, once the request
    has passed every check (a scratch copy of the caller: the handler records the key)."""
    new = _new_key(service, dataclasses.replace(caller, keys=[]), params)
    if not (new.spec.costly and new.origin == "AWS_KMS"):
        return None
    return lambda: (new.spec.name, _new_material(new.spec))


@operation("CreateKey", mutating=True, prepare=_prepare_key_pair)
def create_key(service: KmsService, caller: Caller, params: Params) -> Result:
    new = _new_key(service, caller, params)
    spec, usage, origin = new.spec, new.usage, new.origin
    tags = check_tags(params.get("Tags", []))
    root = service.require_unsealed()
    now = service.clock.now()
    multi_region = bool(params.get("MultiRegion"))
    key_id = f"mrk-{uuid.uuid4().hex}" if multi_region else new_key_id()
    policy = params.get("Policy") or default_policy(caller.account)
    parsed = Policy.parse(policy, key_policy=True)
    if "Policy" in params and not params.get("BypassPolicyLockoutSafetyCheck"):
        check_lockout(
            service, caller, parsed, key_arn(caller.region, caller.account, key_id), caller.account
        )
    material = None
    if origin == "AWS_KMS":
        material_id = os.urandom(32).hex()
        generated = prepared()
        if not (isinstance(generated, tuple) and generated[0] == spec.name):
            generated = (spec.name, _new_material(spec))  # called directly, or not costly
        wrapped = root.wrap(
            generated[1],
            aad=material_aad(key_arn(caller.region, caller.account, key_id), material_id),
        )
        material = MaterialRecord(key_row_id(key_id, caller.region), material_id, now, wrapped)
    record = KeyRecord(
        key_id=key_row_id(key_id, caller.region),
        account=caller.account,
        region=caller.region,
        created_at=now,
        description=params.get("Description", ""),
        key_usage=usage,
        key_spec=spec.name,
        origin=origin,
        key_state="Enabled" if material is not None else "PendingImport",
        deletion_date=None,
        pending_window=None,
        policy=policy,
        current_material_id=material.material_id if material is not None else None,
        primary_region=caller.region if multi_region else None,
    )
    with service.store.write() as connection:
        service.store.keys.insert_key(record, material, tags, connection)
    caller.keys.append(record.arn)
    return {"KeyMetadata": key_metadata(record, copies=[record])}


@operation("DescribeKey")
def describe_key(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = service.resolve(caller, params["KeyId"])
    service.authorize(caller, "DescribeKey", entry, context=request_alias_keys(params["KeyId"]))
    record = entry.record
    current = entry.wrapped.get(record.current_material_id or "")
    copies = service.store.keys.copies(record.public_id) if record.multi_region else ()
    return {"KeyMetadata": key_metadata(record, current, copies)}


@operation("ListKeys")
def list_keys(service: KmsService, caller: Caller, params: Params) -> Result:
    service.authorize(caller, "ListKeys", None)
    limit, after = page_request(params, 100)
    now = service.clock.now()
    records = [
        r
        for r in service.store.keys.list_keys(caller.account, caller.region, after, limit + 1)
        if not (
            r.key_state == "PendingDeletion"
            and r.deletion_date is not None
            and r.deletion_date <= now
        )
    ]
    shown, more = page_result(records, limit, lambda r: r.key_id)
    return {"Keys": [{"KeyId": r.public_id, "KeyArn": r.arn} for r in shown], **more}


def transition(
    service: KmsService,
    caller: Caller,
    key_param: str,
    action: str,
    allowed: tuple[str, ...],
    condition_keys: dict[str, ContextValue] | None = None,
    **changes: Any,
) -> KeyRecord:
    """Change a key's state inside one write transaction, checking its current state there."""
    entry = service.resolve(caller, key_param, aliases=False)
    service.authorize(caller, action, entry, context=condition_keys)
    with service.store.write() as connection:
        record = service.store.keys.get_key(entry.record.key_id, connection)
        if record is None:
            raise NotFoundException(f"Key '{entry.record.arn}' does not exist")
        if record.key_state not in allowed:
            state = {
                "PendingDeletion": "pending deletion",
                "PendingReplicaDeletion": "pending replica deletion",
                "PendingImport": "pending import",
            }.get(record.key_state, record.key_state.lower())
            raise KMSInvalidStateException(f"{record.arn} is {state}.")
        values = {k: (v(record) if callable(v) else v) for k, v in changes.items()}
        service.store.keys.update_key(record.key_id, connection, **values)
    service.forget()
    fresh = service.reach(caller, record.key_id)
    assert fresh is not None
    return fresh.record


@operation("EnableKey", mutating=True)
def enable_key(service: KmsService, caller: Caller, params: Params) -> Result:
    transition(
        service, caller, params["KeyId"], "EnableKey", ("Enabled", "Disabled"), key_state="Enabled"
    )
    return {}


@operation("DisableKey", mutating=True)
def disable_key(service: KmsService, caller: Caller, params: Params) -> Result:
    transition(
        service,
        caller,
        params["KeyId"],
        "DisableKey",
        ("Enabled", "Disabled"),
        key_state="Disabled",
    )
    return {}


@operation("ScheduleKeyDeletion", mutating=True)
def schedule_key_deletion(service: KmsService, caller: Caller, params: Params) -> Result:
    days = params.get("PendingWindowInDays", DEFAULT_PENDING_WINDOW)
    when = service.clock.now() + days * DAY
    # as AWS, a multi-Region primary with replicas waits for their deletion first, and its
    # own waiting period starts when the last one is gone
    peek = service.resolve(dataclasses.replace(caller, keys=[]), params["KeyId"], aliases=False)
    waits = _has_replicas(service, peek.record)
    state = "PendingReplicaDeletion" if waits else "PendingDeletion"
    record = transition(
        service,
        caller,
        params["KeyId"],
        "ScheduleKeyDeletion",
        ("Enabled", "Disabled", "PendingImport"),
        {"kms:schedulekeydeletionpendingwindowindays": str(days)},
        key_state=state,
        deletion_date=None if waits else when,
        pending_window=days,
    )
    result: Result = {"KeyId": record.arn, "KeyState": state, "PendingWindowInDays": days}
    if not waits:
        result["DeletionDate"] = when
    return result


def _has_replicas(service: KmsService, record: KeyRecord) -> bool:
    if not record.multi_region or record.primary_region != record.region:
        return False
    return len(service.store.keys.copies(record.public_id)) > 1


def _state_after_cancel(record: KeyRecord) -> str:
    return "Disabled" if record.current_material_id is not None else "PendingImport"


@operation("CancelKeyDeletion", mutating=True)
def cancel_key_deletion(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = service.resolve(caller, params["KeyId"], aliases=False)
    service.authorize(caller, "CancelKeyDeletion", entry)
    if entry.record.key_state not in PENDING_DELETION:
        raise KMSInvalidStateException(f"{entry.record.arn} is not pending deletion.")
    record = transition(
        service,
        caller,
        params["KeyId"],
        "CancelKeyDeletion",
        PENDING_DELETION,
        key_state=_state_after_cancel,
        deletion_date=None,
        pending_window=None,
    )
    return {"KeyId": record.arn}


@operation("UpdateKeyDescription", mutating=True)
def update_key_description(service: KmsService, caller: Caller, params: Params) -> Result:
    transition(
        service,
        caller,
        params["KeyId"],
        "UpdateKeyDescription",
        ("Enabled", "Disabled", "PendingImport"),
        description=params["Description"],
    )
    return {}


def entry_for_listing(
    service: KmsService, caller: Caller, key_param: str | None
) -> KeyEntry | None:
    return None if key_param is None else service.resolve(caller, key_param, aliases=False)
