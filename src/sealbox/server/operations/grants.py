"""CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

Grants are enforced like key policy statements naming the grantee (see
authorization.py). A grant token names its grant; since Sealbox's store is
consistent, a grant is usable at once with or without its token.
"""

from __future__ import annotations

import base64
import os
import re
from typing import Any

from sealbox.server.access.grant_rules import GRANT_OPERATIONS, Grant
from sealbox.server.arn import PRINCIPAL, account_root_arn, is_account_id
from sealbox.server.errors import (
    AccessDeniedException,
    InvalidGrantIdException,
    InvalidGrantTokenException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from sealbox.server.operations.paging import page_request, page_result
from sealbox.server.operations.table import Params, Result, operation, stop_if_dry_run
from sealbox.server.service import Caller, KeyEntry, KmsService

TOKEN_PREFIX = "sbx-grant-token-v1."  # noqa: S105 - a format marker, not a secret
GRANT_ID = re.compile(r"^[0-9a-f]{64}$")


def check_grant_tokens(params: Params) -> None:
    """GrantTokens are accepted wherever AWS accepts them; malformed ones are refused."""
    for token in params.get("GrantTokens", ()):
        if not token.startswith(TOKEN_PREFIX):
            raise InvalidGrantTokenException("The grant token is not valid.")


def _principal(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if is_account_id(value):
        value = account_root_arn(value)
    if not PRINCIPAL.match(value):
        raise ValidationException(
            f"{what} must be an IAM user ARN or an account (arn:aws:iam::ACCOUNT:root)."
        )
    return value


def _constraints(params: Params) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    constraints = params.get("Constraints") or {}
    subset, equals = (
        constraints.get("EncryptionContextSubset"),
        constraints.get("EncryptionContextEquals"),
    )
    if subset is not None and equals is not None:
        raise ValidationException(
            "Use EncryptionContextSubset or EncryptionContextEquals, not both."
        )
    if constraints.get("SourceArn"):
        raise UnsupportedOperationException(
            "Grant constraints on SourceArn (AWS services) are not supported."
        )
    return subset, equals


def _listed(grant: Grant, entry_arn: str) -> dict[str, Any]:
    listed: dict[str, Any] = {
        "KeyId": entry_arn,
        "GrantId": grant.grant_id,
        "Name": grant.name,
        "CreationDate": grant.created_at,
        "GranteePrincipal": grant.grantee,
        "IssuingAccount": account_root_arn(grant.issuing_account),
        "Operations": sorted(grant.operations),
    }
    if grant.retiring:
        listed["RetiringPrincipal"] = grant.retiring
    if grant.context_subset is not None:
        listed["Constraints"] = {"EncryptionContextSubset": dict(grant.context_subset)}
    elif grant.context_equals is not None:
        listed["Constraints"] = {"EncryptionContextEquals": dict(grant.context_equals)}
    return listed


@operation("CreateGrant", mutating=True)
def create_grant(service: KmsService, caller: Caller, params: Params) -> Result:
    check_grant_tokens(params)
    if params.get("GranteeServicePrincipal") or params.get("RetiringServicePrincipal"):
        raise UnsupportedOperationException("Service principals cannot receive grants in Sealbox.")
    entry = service.resolve(caller, params["KeyId"], aliases=False)
    grantee = _principal(params.get("GranteePrincipal"), "GranteePrincipal")
    if grantee is None:
        raise ValidationException("GranteePrincipal is required.")
    retiring = _principal(params.get("RetiringPrincipal"), "RetiringPrincipal")
    operations = params["Operations"]
    if not operations or not set(operations) <= GRANT_OPERATIONS:
        raise ValidationException(
            f"Operations must be a non-empty list of {sorted(GRANT_OPERATIONS)}."
        )
    subset, equals = _constraints(params)
    service.authorize(
        caller,
        "CreateGrant",
        entry,
        context={
            "kms:grantoperations": tuple(operations),
            "kms:granteeprincipal": grantee,
            **({"kms:retiringprincipal": retiring} if retiring else {}),
            "kms:grantconstraintpresent": "true"
            if subset is not None or equals is not None
            else "false",
            **(
                {"kms:grantconstrainttype": "EncryptionContextEquals"}
                if equals is not None
                else {"kms:grantconstrainttype": "EncryptionContextSubset"}
                if subset is not None
                else {}
            ),
        },
        # a grantee may pass on no more than its own grant gives it
        grant_filter=lambda g: g.may_delegate(frozenset(operations), subset, equals),
    )
    stop_if_dry_run(params)
    grant = Grant(
        grant_id=os.urandom(32).hex(),
        key_id=entry.record.key_id,
        name=params.get("Name", ""),
        grantee=grantee,
        retiring=retiring,
        operations=frozenset(operations),
        context_subset=subset,
        context_equals=equals,
        issuing_account=caller.account,
        created_at=service.clock.now(),
        token=TOKEN_PREFIX + base64.urlsafe_b64encode(os.urandom(48)).decode(),
    )
    with service.store.write() as connection:
        if grant.name:
            for existing in service.store.grants.of_key(entry.record.key_id, connection):
                if existing.same_request(grant):  # a retry of the same named grant
                    return {"GrantToken": existing.token, "GrantId": existing.grant_id}
        service.store.grants.insert(grant, connection)
    service.forget()
    return {"GrantToken": grant.token, "GrantId": grant.grant_id}


@operation("ListGrants")
def list_grants(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = service.resolve(caller, params["KeyId"], aliases=False)
    service.authorize(caller, "ListGrants", entry)
    grants = [g for g in entry.grants if params.get("GrantId") in (None, g.grant_id)]
    grants = [g for g in grants if params.get("GranteePrincipal") in (None, g.grantee)]
    limit, after = page_request(params, 50)
    if after is not None:
        grants = [g for g in grants if g.grant_id > after]
    shown, more = page_result(grants, limit, lambda g: g.grant_id)
    return {"Grants": [_listed(g, entry.record.arn) for g in shown], **more}


def _own_retiring_principal(caller: Caller, params: Params) -> str:
    """The RetiringPrincipal to list for: as AWS, one in the caller's own account (the
    authorized resource is that principal, and no policy of this account covers another's)."""
    retiring = _principal(
        params.get("RetiringPrincipal") or caller.principal.arn, "RetiringPrincipal"
    )
    assert retiring is not None
    if retiring.split(":")[4] != caller.account:
        raise AccessDeniedException(
            f"User: {caller.principal.arn} is not authorized to perform: kms:ListRetirableGrants "
            f"on resource: {retiring} because the retiring principal must be in your account"
        )
    return retiring


@operation("ListRetirableGrants")
def list_retirable_grants(service: KmsService, caller: Caller, params: Params) -> Result:
    retiring = _own_retiring_principal(caller, params)
    service.authorize(caller, "ListRetirableGrants", None, resource=retiring)
    limit, after = page_request(params, 50)
    # grants on keys of the request's region only (of any account, as AWS lists them)
    found = [
        (g, entry)
        for g in service.store.grants.retirable_by(retiring)
        if (after is None or g.grant_id > after)
        and (entry := service.reach(caller, g.key_id)) is not None
    ]
    shown, more = page_result(found, limit, lambda item: item[0].grant_id)
    return {"Grants": [_listed(g, entry.record.arn) for g, entry in shown], **more}


def _find(service: KmsService, caller: Caller, params: Params) -> tuple[KeyEntry, Grant]:
    token = params.get("GrantToken")
    if token is not None:
        if not token.startswith(TOKEN_PREFIX):
            raise InvalidGrantTokenException("The grant token is not valid.")
        grant = service.store.grants.by_token(token)
        if grant is None:
            raise NotFoundException(
                "The grant this token names does not exist (it was retired or revoked)."
            )
        entry = service.reach(caller, grant.key_id)
        if entry is None:  # a grant of another region is not visible here
            raise NotFoundException(
                "The grant this token names does not exist (it was retired or revoked)."
            )
        caller.keys.append(entry.record.arn)
        return entry, grant
    if "KeyId" not in params or "GrantId" not in params:
        raise ValidationException("Give GrantToken, or KeyId and GrantId.")
    if not GRANT_ID.match(params["GrantId"]):
        raise InvalidGrantIdException(f"Invalid grant id {params['GrantId']!r}.")
    entry = service.resolve(caller, params["KeyId"], aliases=False)
    found = [g for g in entry.grants if g.grant_id == params["GrantId"]]
    if not found:
        raise NotFoundException(f"Grant ID {params['GrantId']} not found.")
    return entry, found[0]


@operation("RetireGrant", mutating=True)
def retire_grant(service: KmsService, caller: Caller, params: Params) -> Result:
    entry, grant = _find(service, caller, params)
    arn = caller.principal.arn
    may = arn == grant.retiring or (arn == grant.grantee and "RetireGrant" in grant.operations)
    if not may:
        service.authorize(caller, "RetireGrant", entry)
    return _delete(service, grant, params)


@operation("RevokeGrant", mutating=True)
def revoke_grant(service: KmsService, caller: Caller, params: Params) -> Result:
    entry, grant = _find(service, caller, {"KeyId": params["KeyId"], "GrantId": params["GrantId"]})
    service.authorize(caller, "RevokeGrant", entry)
    return _delete(service, grant, params)


def _delete(service: KmsService, grant: Grant, params: Params) -> Result:
    stop_if_dry_run(params)
    with service.store.write() as connection:
        service.store.grants.delete(grant.grant_id, connection)
    service.forget()
    return {}
