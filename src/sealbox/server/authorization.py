"""Who may do what: key policy, identity policies and grants combined as AWS combines them.

* An explicit Deny in the key policy or in the caller's identity policies wins.
* Operations no key governs (CreateKey, ListKeys, GenerateRandom, ...) need an
  Allow in the caller's identity policies.
* On a key in the caller's account: an Allow naming the caller (or ``*``) in the
  key policy, or a grant to the caller, suffices; an Allow for the caller's
  account root (the default key policy) delegates to the identity policies,
  which must then allow too.
* On a key in another account (only for the operations AWS allows across
  accounts): the key policy must allow the caller or its account, *and* the
  caller's identity policies must allow; a grant naming the caller suffices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sealbox.server.errors import AccessDeniedException
from sealbox.server.grants import Grant
from sealbox.server.policy import (
    ContextValue,
    Policy,
    Request,
    encryption_context_keys,
    identity_verdict,
)

if TYPE_CHECKING:
    from sealbox.server.principals import Principal

ACCOUNT_PREFIX = "account:"
# What a principal may do with a key of another account ("Cross-account use: Yes" in the API
# reference); a policy allowing anything else across accounts has no effect, as in AWS.
CROSS_ACCOUNT_ACTIONS = frozenset(
    {
        "CreateGrant",
        "Decrypt",
        "DescribeKey",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GetKeyRotationStatus",
        "ListGrants",
        "ReEncryptFrom",
        "ReEncryptTo",
        "RetireGrant",
        "RevokeGrant",
    }
)


def condition_keys(
    principal: Principal,
    *,
    region: str,
    source_ip: str,
    secure_transport: bool,
    now: float,
    encryption_context: Mapping[str, str] | None = None,
    extra: Mapping[str, ContextValue] | None = None,
) -> dict[str, ContextValue]:
    """The global and KMS condition keys of a request, lower case."""
    keys: dict[str, ContextValue] = {
        "aws:principalarn": principal.arn,
        "aws:principalaccount": principal.account,
        "aws:principaltype": "User",
        "aws:username": principal.user_name,
        "aws:requestedregion": region,
        "aws:securetransport": "true" if secure_transport else "false",
        "aws:epochtime": str(int(now)),
        "aws:currenttime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kms:calleraccount": principal.account,
    }
    if source_ip:
        keys["aws:sourceip"] = source_ip
    if encryption_context:
        keys.update(encryption_context_keys(encryption_context))
    if extra:
        keys.update(extra)
    return keys


def _denied(principal_arn: str, action: str, resource: str, reason: str) -> AccessDeniedException:
    return AccessDeniedException(
        f"User: {principal_arn} is not authorized to perform: kms:{action} on resource: {resource} {reason}"
    )


def decide(
    *,
    principal: Principal,
    action: str,
    resource: str,
    resource_account: str | None,
    context: Mapping[str, ContextValue],
    identity_policies: Sequence[Policy],
    key_policy: Policy | None,
    grants: Sequence[Grant] = (),
    encryption_context: Mapping[str, str] | None = None,
    grant_filter: Callable[[Grant], bool] | None = None,
) -> None:
    """Raise AccessDeniedException (worded as AWS words it) unless the request is allowed.
    ``grant_filter`` narrows which grants count (CreateGrant: grants that may delegate)."""
    if resource_account is not None and resource_account != principal.account:
        if action not in CROSS_ACCOUNT_ACTIONS:
            raise _denied(
                principal.arn,
                action,
                resource,
                f"because kms:{action} cannot be used across accounts",
            )
    request = Request(principal.arn, principal.account, f"kms:{action}", resource, context)
    identity = identity_verdict(identity_policies, request)
    no_identity = f"because no identity-based policy allows the kms:{action} action"
    if key_policy is None:
        if identity.deny:
            raise _denied(
                principal.arn, action, resource, "with an explicit deny in an identity-based policy"
            )
        if identity.allow_direct:
            return
        raise _denied(principal.arn, action, resource, no_identity)
    verdict = key_policy.evaluate(request)
    if verdict.deny:
        raise _denied(
            principal.arn, action, resource, "with an explicit deny in a resource-based policy"
        )
    if identity.deny:
        raise _denied(
            principal.arn, action, resource, "with an explicit deny in an identity-based policy"
        )
    usable = [
        g
        for g in grants
        if g.permits(action, encryption_context or {}) and (grant_filter is None or grant_filter(g))
    ]
    grant_direct = any(g.grantee == principal.arn for g in usable)
    grant_account = any(g.grantee == f"arn:aws:iam::{principal.account}:root" for g in usable)
    direct = verdict.allow_direct or grant_direct
    delegated = verdict.allow_account or grant_account
    if principal.account == resource_account:
        if direct or (delegated and identity.allow_direct):
            return
    # Across accounts the caller's own identity policies must agree, except for a grant
    # naming the caller: the grant itself is the other account's consent and the caller's.
    elif grant_direct or ((direct or delegated) and identity.allow_direct):
        return
    if direct or delegated:
        raise _denied(principal.arn, action, resource, no_identity)
    raise _denied(
        principal.arn,
        action,
        resource,
        f"because no resource-based policy allows the kms:{action} action",
    )
