"""GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, and the lockout safety check."""

from __future__ import annotations

from sealbox.server.access.authorization import decide
from sealbox.server.access.policy_language import Policy
from sealbox.server.errors import (
    AccessDeniedException,
    MalformedPolicyDocumentException,
    NotFoundException,
)
from sealbox.server.operations.table import Params, Result, operation
from sealbox.server.service import Caller, KmsService

POLICY_NAME = "default"
BYPASS = "kms:bypasspolicylockoutsafetycheck"
LOCKOUT = (
    "The new key policy will not allow you to update the key policy in the future. "
    "To apply it anyway, set BypassPolicyLockoutSafetyCheck."
)


def check_lockout(
    service: KmsService, caller: Caller, policy: Policy, key_arn: str, key_account: str
) -> None:
    """The new policy must still let the caller change the policy (unless the check is bypassed)."""
    try:
        decide(
            principal=caller.principal,
            action="PutKeyPolicy",
            resource=key_arn,
            resource_account=key_account,
            context=service.condition_keys(
                caller, None, {BYPASS: "false"}, action="PutKeyPolicy", policies=[policy]
            ),
            identity_policies=service.identity_policies(caller.principal),
            key_policy=policy,
        )
    except AccessDeniedException:
        raise MalformedPolicyDocumentException(LOCKOUT) from None


def _check_name(params: Params) -> None:
    name = params.get("PolicyName", POLICY_NAME)
    if name != POLICY_NAME:
        raise NotFoundException(
            f"No such policy exists: {name}; keys have one policy, named 'default'."
        )


@operation("GetKeyPolicy")
def get_key_policy(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = service.resolve(caller, params["KeyId"], aliases=False)
    service.authorize(caller, "GetKeyPolicy", entry)
    _check_name(params)
    return {"Policy": entry.record.policy, "PolicyName": POLICY_NAME}


@operation("PutKeyPolicy", mutating=True)
def put_key_policy(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = service.resolve(caller, params["KeyId"], aliases=False)
    bypass = bool(params.get("BypassPolicyLockoutSafetyCheck"))
    service.authorize(caller, "PutKeyPolicy", entry, context={BYPASS: str(bypass).lower()})
    _check_name(params)
    policy = Policy.parse(params["Policy"], key_policy=True)  # also the 32 KB quota
    if not bypass:
        check_lockout(service, caller, policy, entry.record.arn, entry.record.account)
    service.change_key(entry.record.key_id, policy=params["Policy"])
    return {}


@operation("ListKeyPolicies")
def list_key_policies(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = service.resolve(caller, params["KeyId"], aliases=False)
    service.authorize(caller, "ListKeyPolicies", entry)
    return {"PolicyNames": [POLICY_NAME], "Truncated": False}
