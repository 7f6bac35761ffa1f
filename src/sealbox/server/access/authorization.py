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

import base64
import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sealbox.server.access.conditions import ContextValue, encryption_context_keys
from sealbox.server.access.grant_rules import Grant
from sealbox.server.access.policy_language import Policy, Request, Verdict, identity_verdict
from sealbox.server.arn import account_root_arn, parse_kms_arn
from sealbox.server.clock import iso_second
from sealbox.server.errors import AccessDeniedException

if TYPE_CHECKING:
    from sealbox.server.access.principals import Principal
    from sealbox.server.store.records import KeyRecord

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


# Operations AWS sets kms:GrantIsForAWSResource on (true only when an AWS service calls on
# the principal's behalf, which never happens here).
GRANT_RESOURCE_ACTIONS = frozenset({"CreateGrant", "ListGrants", "RevokeGrant"})
# Operations that take (or imply) an encryption algorithm: kms:EncryptionAlgorithm, which AWS
# sets even when the request leaves the parameter at its default.
ALGORITHM_ACTIONS = frozenset(
    {
        "Encrypt",
        "Decrypt",
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
    }
)
SYMMETRIC_ALGORITHM = "SYMMETRIC_DEFAULT"


def user_id(principal: Principal) -> str:
    """aws:userid: IAM gives each user a unique id (``AIDA`` + 17 characters); Sealbox derives
    one from the account and user name: ``AIDA`` + the first 17 characters of the base32 of
    SHA-256("ACCOUNT:USER"). Stable, not secret."""
    return _user_id(principal.account, principal.user_name)


@functools.lru_cache(maxsize=4096)  # every request needs it; bounded: callers are many
def _user_id(account: str, user_name: str) -> str:
    digest = hashlib.sha256(f"{account}:{user_name}".encode()).digest()
    return "AIDA" + base64.b32encode(digest).decode()[:17]


def condition_keys(
    principal: Principal,
    *,
    region: str,
    source_ip: str,
    secure_transport: bool,
    now: float,
    encryption_context: Mapping[str, str] | None = None,
    extra: Mapping[str, ContextValue] | None = None,
    user_agent: str = "",
) -> dict[str, ContextValue]:
    """The global condition keys of a request and those KMS sets on every request, lower case.
    Keys with no meaning here (aws:SourceVpc, kms:ViaService, aws:MultiFactorAuthPresent for
    long-term access keys, ...) are absent, as AWS leaves them."""
    keys: dict[str, ContextValue] = {
        "aws:principalarn": principal.arn,
        "aws:principalaccount": principal.account,
        "aws:principaltype": "User",
        "aws:principalisawsservice": "false",
        "aws:viaawsservice": "false",
        "aws:username": principal.user_name,
        "aws:userid": user_id(principal),
        "aws:requestedregion": region,
        "aws:securetransport": "true" if secure_transport else "false",
        "aws:epochtime": str(int(now)),
        "aws:currenttime": iso_second(now),
        "kms:calleraccount": principal.account,
    }
    if source_ip:
        keys["aws:sourceip"] = source_ip
    if user_agent:
        keys["aws:useragent"] = user_agent
    if encryption_context:
        keys.update(encryption_context_keys(encryption_context))
    if extra:
        keys.update(extra)
    return keys


def action_keys(action: str) -> dict[str, ContextValue]:
    """Keys AWS sets from the operation alone (values fixed for what Sealbox supports)."""
    keys: dict[str, ContextValue] = {}
    if action in GRANT_RESOURCE_ACTIONS:
        keys["kms:grantisforawsresource"] = "false"
    if action in ALGORITHM_ACTIONS:
        # only symmetric keys, whose one algorithm is the default; a request naming another
        # algorithm is refused (InvalidKeyUsageException) once authorized
        keys["kms:encryptionalgorithm"] = SYMMETRIC_ALGORITHM
    return keys


def _key_property_keys(
    spec: str, usage: str, origin: str, multi_region: bool
) -> dict[str, ContextValue]:
    """The keys AWS sets from a key's properties: of a key, or of the one CreateKey makes."""
    return {
        "kms:keyspec": spec,
        "kms:customermasterkeyspec": spec,
        "kms:keyusage": usage,
        "kms:customermasterkeyusage": usage,
        "kms:keyorigin": origin,
        "kms:multiregion": "true" if multi_region else "false",
    }


def key_keys(record: KeyRecord) -> dict[str, ContextValue]:
    """Keys AWS sets from the KMS key an operation is authorized on."""
    keys = _key_property_keys(record.key_spec, record.key_usage, record.origin, record.multi_region)
    if record.multi_region:
        primary = record.primary_region == record.region
        keys["kms:multiregionkeytype"] = "PRIMARY" if primary else "REPLICA"
    return keys


def request_alias_keys(key_param: str | None) -> dict[str, ContextValue]:
    """kms:RequestAlias: the alias a request named its key by (alias name or alias ARN)."""
    if key_param is None:
        return {}
    if key_param.startswith("alias/"):
        return {"kms:requestalias": key_param}
    arn = parse_kms_arn(key_param)
    if arn is not None and arn.is_alias:
        return {"kms:requestalias": arn.resource}
    return {}


def create_key_keys(params: Mapping[str, Any]) -> dict[str, ContextValue]:
    """CreateKey's keys from its parameters, defaults applied (AWS sets them either way)."""
    spec = params.get("KeySpec") or params.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    usage = params.get("KeyUsage") or "ENCRYPT_DECRYPT"
    origin = params.get("Origin") or "AWS_KMS"
    keys = _key_property_keys(str(spec), str(usage), str(origin), bool(params.get("MultiRegion")))
    bypass = params.get("BypassPolicyLockoutSafetyCheck")
    keys["kms:bypasspolicylockoutsafetycheck"] = "true" if bypass else "false"
    return keys


def _denied(principal_arn: str, action: str, resource: str, reason: str) -> AccessDeniedException:
    """``action`` is the KMS operation's name; see :func:`_denied_action` for another namespace."""
    return _denied_action(principal_arn, f"kms:{action}", resource, reason)


def _denied_action(
    principal_arn: str, action: str, resource: str, reason: str
) -> AccessDeniedException:
    return AccessDeniedException(
        f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {reason}"
    )


def decide_identity(
    *,
    principal: Principal,
    action: str,
    context: Mapping[str, ContextValue],
    identity_policies: Sequence[Policy],
) -> None:
    """An action of Sealbox's own namespace (``sealbox:LookupEvents``) on resource ``*``:
    only the caller's identity policies decide, as for an IAM action; no key policy or grant
    names such an action, so none can allow it. Raise AccessDeniedException unless allowed."""
    request = Request(principal.arn, principal.account, action, "*", context)
    identity = identity_verdict(identity_policies, request)
    if identity.deny:
        raise _denied_action(principal.arn, action, "*", _deny_reason(identity, "identity"))
    if not identity.allow_direct:
        raise _denied_action(
            principal.arn,
            action,
            "*",
            f"because no identity-based policy allows the {action} action",
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
            raise _denied(principal.arn, action, resource, _deny_reason(identity, "identity"))
        if identity.allow_direct:
            return
        raise _denied(principal.arn, action, resource, no_identity)
    verdict = key_policy.evaluate(request)
    if verdict.deny:
        raise _denied(principal.arn, action, resource, _deny_reason(verdict, "resource"))
    if identity.deny:
        raise _denied(principal.arn, action, resource, _deny_reason(identity, "identity"))
    usable = [
        g
        for g in grants
        if g.permits(action, encryption_context or {}) and (grant_filter is None or grant_filter(g))
    ]
    grant_direct = any(g.grantee == principal.arn for g in usable)
    grant_account = any(g.grantee == account_root_arn(principal.account) for g in usable)
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


def _deny_reason(verdict: Verdict, kind: str) -> str:
    """Why a policy denied: a statement, or its work budget (fail closed, but say so)."""
    article = "an" if kind == "identity" else "a"
    if verdict.too_costly:
        return (
            f"because {article} {kind}-based policy needs more work to evaluate than Sealbox "
            "allows: use fewer or simpler wildcard conditions"
        )
    return f"with an explicit deny in {article} {kind}-based policy"
