"""CreateAlias, UpdateAlias, DeleteAlias, ListAliases."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from sealbox.server.arn import alias_arn
from sealbox.server.errors import (
    AlreadyExistsException,
    KMSInvalidStateException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)
from sealbox.server.managed_keys import ALIASES as MANAGED_ALIASES
from sealbox.server.operations.paging import page_request, page_result
from sealbox.server.operations.table import Params, Result, operation
from sealbox.server.service import Caller, KeyEntry, KmsService
from sealbox.server.store.records import AliasRecord

PREFIX = "alias/"
RESERVED = "alias/aws/"
BEFORE_RESERVED = "alias/aws."  # sorts just before every alias/aws/ name (no alias has a '.')
# AWS's own words (the model's pattern for AliasName is checked before a handler runs).
MISSING_PREFIX = (
    'Alias must start with the prefix "alias/". '
    "Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
)


def _alias_arn(caller: Caller, name: str) -> str:
    return alias_arn(caller.region, caller.account, name)


def _check_name(name: str, *, new: bool) -> None:
    """AWS's answers for a name no customer alias can have. ``new``: the name is being
    given to a key (CreateAlias, UpdateAlias), where AWS also refuses a ':' that the
    model's pattern lets through."""
    if not name.startswith(PREFIX):
        raise ValidationException(MISSING_PREFIX)
    if name == PREFIX:
        raise ValidationException(f'Alias must have a name after the prefix "{PREFIX}".')
    if name.startswith(RESERVED):
        # AWS answers a reserved name with this (unmodelled) error and no message at all
        raise NotAuthorizedException("")
    if new and ":" in name:
        raise ValidationException(f"{name} contains invalid characters for an alias")


def _target(service: KmsService, caller: Caller, key_param: str, action: str) -> KeyEntry:
    if key_param.startswith("alias/") or (key_param.startswith("arn:") and ":alias/" in key_param):
        raise ValidationException("Aliases must refer to keys. Not aliases")
    entry = service.resolve(caller, key_param, aliases=False)
    service.authorize(caller, action, entry)  # the key policy must allow it on the key...
    if entry.record.key_state in ("PendingDeletion", "PendingReplicaDeletion"):
        raise KMSInvalidStateException(f"{entry.record.arn} is pending deletion.")
    return entry


@operation("CreateAlias", mutating=True)
def create_alias(service: KmsService, caller: Caller, params: Params) -> Result:
    name = params["AliasName"]
    _check_name(name, new=True)
    service.authorize(
        caller, "CreateAlias", None, resource=_alias_arn(caller, name)
    )  # ...and IAM on the alias
    target = _target(service, caller, params["TargetKeyId"], "CreateAlias")
    now = service.clock.now()
    try:
        with service.store.write() as connection:
            existing = service.store.keys.get_alias(caller.account, caller.region, name, connection)
            if existing is not None:
                raise AlreadyExistsException(
                    f"An alias with the name {_alias_arn(caller, name)} already exists"
                )
            service.store.keys.insert_alias(
                AliasRecord(caller.account, caller.region, name, target.record.key_id, now, now),
                connection,
            )
    except IntegrityError:  # a concurrent CreateAlias won the race
        raise AlreadyExistsException(
            f"An alias with the name {_alias_arn(caller, name)} already exists"
        ) from None
    return {}


@operation("UpdateAlias", mutating=True)
def update_alias(service: KmsService, caller: Caller, params: Params) -> Result:
    name = params["AliasName"]
    _check_name(name, new=True)
    service.authorize(caller, "UpdateAlias", None, resource=_alias_arn(caller, name))
    target = _target(service, caller, params["TargetKeyId"], "UpdateAlias")
    with service.store.write() as connection:
        current = service.store.keys.get_alias(caller.account, caller.region, name, connection)
        if current is None:
            raise NotFoundException(f"Alias {_alias_arn(caller, name)} is not found.")
        previous = service.reach(caller, current.target_key_id)
        if previous is not None:  # as in AWS: permission on the key it leaves too
            caller.keys.append(previous.record.arn)  # the audit record names both keys
            service.authorize(caller, "UpdateAlias", previous)
        service.store.keys.retarget_alias(
            caller.account,
            caller.region,
            name,
            target.record.key_id,
            service.clock.now(),
            connection,
        )
    return {}


@operation("DeleteAlias", mutating=True)
def delete_alias(service: KmsService, caller: Caller, params: Params) -> Result:
    name = params["AliasName"]
    _check_name(name, new=False)
    service.authorize(caller, "DeleteAlias", None, resource=_alias_arn(caller, name))
    alias = service.store.keys.get_alias(caller.account, caller.region, name)
    if alias is None:
        raise NotFoundException(f"Alias {_alias_arn(caller, name)} is not found.")
    target = service.reach(caller, alias.target_key_id)
    if target is not None:
        caller.keys.append(target.record.arn)  # the audit record names the key, as AWS's
        service.authorize(caller, "DeleteAlias", target)
    with service.store.write() as connection:
        if not service.store.keys.delete_alias(caller.account, caller.region, name, connection):
            raise NotFoundException(f"Alias {_alias_arn(caller, name)} is not found.")
    return {}


@operation("ListAliases")
def list_aliases(service: KmsService, caller: Caller, params: Params) -> Result:
    service.authorize(caller, "ListAliases", None)
    target = None
    if "KeyId" in params:
        target = service.resolve(caller, params["KeyId"], aliases=False).record.key_id
    limit, after = page_request(params, 50)
    rows: list[AliasRecord | str] = [
        *service.store.keys.list_aliases(caller.account, caller.region, target, after, limit + 1)
    ]
    if target is None:  # AWS's predefined aliases, listed before their keys exist
        rows = sorted([*rows, *_unused_managed_aliases(service, caller, after)], key=_name)
    shown, more = page_result(rows[: limit + 1], limit, _name)
    return {"Aliases": [_listed(caller, row) for row in shown], **more}


def _name(row: AliasRecord | str) -> str:
    return row if isinstance(row, str) else row.alias_name


def _unused_managed_aliases(service: KmsService, caller: Caller, after: str | None) -> list[str]:
    """The predefined alias/aws/ names after ``after`` whose AWS managed key is not made yet."""
    made = {
        a.alias_name
        for a in service.store.keys.list_aliases(
            caller.account, caller.region, None, BEFORE_RESERVED, len(MANAGED_ALIASES)
        )
        if a.alias_name.startswith(RESERVED)
    }
    return [n for n in MANAGED_ALIASES if n not in made and (after is None or n > after)]


def _listed(caller: Caller, row: AliasRecord | str) -> dict[str, Any]:
    if isinstance(row, str):
        return {"AliasName": row, "AliasArn": _alias_arn(caller, row)}
    return {
        "AliasName": row.alias_name,
        "AliasArn": row.arn,
        "TargetKeyId": row.target_key_id.partition("@")[0],  # a multi-Region copy's row id
        "CreationDate": row.created_at,
        "LastUpdatedDate": row.updated_at,
    }
