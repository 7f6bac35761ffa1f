"""ReplicateKey and UpdatePrimaryRegion: multi-Region keys.

A multi-Region key (id ``mrk-…``) has one copy per region, each a row of its own
(``mrk-…@region``) with its own policy, grants, aliases, tags, description and state, and
with the same key material (each copy's stored wrapped under the root key with its own
ARN, so a copy is valid only in its region), spec, usage and rotation. A ciphertext made
with one copy decrypts with any other. The primary's region is kept on every copy.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sealbox.server.access.policy_language import Policy
from sealbox.server.arn import key_arn
from sealbox.server.errors import (
    AlreadyExistsException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from sealbox.server.operations.keys import default_policy, key_metadata
from sealbox.server.operations.policies import check_lockout
from sealbox.server.operations.table import Params, Result, operation
from sealbox.server.operations.tags import check_tags
from sealbox.server.service import Caller, KeyEntry, KmsService, require_usable
from sealbox.server.store.records import KeyRecord, key_row_id, material_aad


def _primary(service: KmsService, caller: Caller, key_param: str, action: str,
             condition_keys: dict[str, Any]) -> KeyEntry:  # fmt: skip
    """The request's key, authorized for ``action``: a multi-Region primary key."""
    entry = service.resolve(caller, key_param, aliases=False)
    service.authorize(caller, action, entry, context=condition_keys)
    record = entry.record
    if not record.multi_region or record.primary_region != record.region:  # AWS's words
        raise UnsupportedOperationException(f"{record.arn} is not a multi-region primary key.")
    require_usable(entry)  # as AWS: Disabled, pending deletion or import cannot be replicated
    return entry


def _served(service: KmsService, region: str) -> None:
    served = service.settings.regions
    if served is not None and region not in served:
        raise ValidationException(
            f"{region} is not a region this Sealbox serves; served: {', '.join(sorted(served))}."
        )


@operation("ReplicateKey", mutating=True)
def replicate_key(service: KmsService, caller: Caller, params: Params) -> Result:
    region = params["ReplicaRegion"]
    entry = _primary(service, caller, params["KeyId"], "ReplicateKey",
                     {"kms:replicaregion": region})  # fmt: skip
    primary = entry.record
    if region == primary.region:
        raise ValidationException(
            f"ReplicaRegion {region} is the region of {primary.arn}; replicate it into another."
        )
    _served(service, region)
    row_id = key_row_id(primary.public_id, region)
    if service.store.keys.get_key(row_id) is not None:
        raise AlreadyExistsException(f"{primary.public_id} already has a replica in {region}.")
    # making a key in the replica region is CreateKey there, as AWS authorizes it
    there = dataclasses.replace(caller, region=region, keys=[])
    service.authorize(there, "CreateKey", None)
    policy = params.get("Policy") or default_policy(caller.account)
    parsed = Policy.parse(policy, key_policy=True)
    now = service.clock.now()
    replica = dataclasses.replace(
        primary,
        key_id=row_id,
        region=region,
        created_at=now,
        description=params.get("Description", ""),
        key_state="Enabled",
        deletion_date=None,
        pending_window=None,
        policy=policy,
        # rotation is the primary's: a replica takes its materials, not its schedule
        rotation_enabled=False,
        rotation_period=None,
        next_rotation=None,
        on_demand_rotations=0,
    )
    if "Policy" in params and not params.get("BypassPolicyLockoutSafetyCheck"):
        check_lockout(service, there, parsed, replica.arn, caller.account)
    tags = check_tags(params.get("Tags", []))
    with service.store.write() as connection:
        service.store.keys.insert_key(replica, None, tags, connection)
        copy_materials(service, entry, replica, connection)
    caller.keys.append(replica.arn)
    service.forget()
    copies = service.store.keys.copies(primary.public_id)
    result: Result = {
        "ReplicaKeyMetadata": key_metadata(replica, copies=copies),
        "ReplicaPolicy": policy,
    }
    if tags:  # as AWS answers: no ReplicaTags without tags
        result["ReplicaTags"] = [{"TagKey": k, "TagValue": v} for k, v in tags.items()]
    return result


def copy_materials(
    service: KmsService, source: KeyEntry, target: KeyRecord, connection: Any
) -> None:
    """Every material of ``source`` that ``target`` lacks, wrapped for ``target``'s ARN."""
    root = service.require_unsealed()
    have = {m.material_id for m in service.store.keys.materials(target.key_id, connection)}
    for row in service.store.keys.materials(source.record.key_id, connection):
        if row.material_id in have:
            continue
        material = service.material(source, row.material_id)
        assert material is not None
        wrapped = root.wrap(material, aad=material_aad(target.arn, row.material_id))
        service.store.keys.insert_material(
            dataclasses.replace(row, key_id=target.key_id, wrapped=wrapped), connection
        )


@operation("UpdatePrimaryRegion", mutating=True)
def update_primary_region(service: KmsService, caller: Caller, params: Params) -> Result:
    region = params["PrimaryRegion"]
    entry = _primary(service, caller, params["KeyId"], "UpdatePrimaryRegion",
                     {"kms:primaryregion": region})  # fmt: skip
    record = entry.record
    if region == record.region:
        raise ValidationException(f"{record.arn} is already the primary key (in {region}).")
    replica = service.store.keys.get_key(key_row_id(record.public_id, region))
    if replica is None:
        raise NotFoundException(
            f"Key '{key_arn(region, record.account, record.public_id)}' does not exist"
        )
    # AWS authorizes the change on the replica too: it becomes the primary
    there = dataclasses.replace(caller, region=region, keys=[])
    replica_entry = service.reach(there, replica.key_id)
    assert replica_entry is not None
    service.authorize(there, "UpdatePrimaryRegion", replica_entry,
                      context={"kms:primaryregion": region})  # fmt: skip
    require_usable(replica_entry)  # as AWS: both keys must be enabled
    schedule = {
        "rotation_enabled": record.rotation_enabled,
        "rotation_period": record.rotation_period,
        "next_rotation": record.next_rotation,
        "on_demand_rotations": record.on_demand_rotations,
    }
    with service.store.write() as connection:
        for copy in service.store.keys.copies(record.public_id, connection):
            service.store.keys.update_key(copy.key_id, connection, primary_region=region)
        # the rotation schedule moves with the primary
        service.store.keys.update_key(replica.key_id, connection, **schedule)
        service.store.keys.update_key(
            record.key_id,
            connection,
            rotation_enabled=False,
            rotation_period=None,
            next_rotation=None,
            on_demand_rotations=0,
        )
    caller.keys.append(replica.arn)
    service.forget()
    return {}
