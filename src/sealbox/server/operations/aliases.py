"""CreateAlias, UpdateAlias, DeleteAlias, ListAliases."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from sealbox.server.arn import alias_arn
from sealbox.server.errors import (
    AlreadyExistsException,
    KMSInvalidStateException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)
from sealbox.server.operations.paging import page_request, page_result
from sealbox.server.operations.table import Params, Result, operation
from sealbox.server.service import Caller, KeyEntry, KmsService
from sealbox.server.store.records import AliasRecord

PREFIX = "alias/"
RESERVED = "alias/aws/"
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
    if entry.record.key_state == "PendingDeletion":
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
    rows = service.store.keys.list_aliases(caller.account, caller.region, target, after, limit + 1)
    shown, more = page_result(rows, limit, lambda a: a.alias_name)
    return {
        "Aliases": [
            {
                "AliasName": a.alias_name,
                "AliasArn": a.arn,
                "TargetKeyId": a.target_key_id,
                "CreationDate": a.created_at,
                "LastUpdatedDate": a.updated_at,
            }
            for a in shown
        ],
        **more,
    }
