"""Policy documents (key and identity policies): parsing, size quotas and evaluation. Pure.

A statement applies to a request when its action, resource and every condition
match. Principals in key policies are ``*``, a user ARN (a direct grant), or an
account (``"123456789012"`` or ``arn:aws:iam::123456789012:root``), which
delegates to that account's identity policies, as in AWS. Wildcards are matched
by :mod:`.wildcards` (linear time, within a work budget), conditions by
:mod:`.conditions`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sealbox.server.access.conditions import Condition, ContextValue, parse_operator
from sealbox.server.access.wildcards import Budget, Glob, TooCostly
from sealbox.server.arn import PARTITION, is_account_id, root_account
from sealbox.server.errors import (
    LimitExceededException,
    MalformedPolicyDocumentException,
    SerializationException,
)
from sealbox.server.jsonbody import strict_loads

# AWS's quotas: a key policy document is at most 32 KB; IAM identity policies are counted
# in characters without white space: 6,144 for a managed policy, and 2,048 for all of one
# user's inline policies together (Sealbox's user policies are IAM inline user policies).
KEY_POLICY_MAX_BYTES = 32_768
IDENTITY_POLICY_MAX_CHARS = 6_144
USER_POLICIES_MAX_CHARS = 2_048
_JSON_WHITESPACE = str.maketrans("", "", " \t\r\n")


def _malformed(why: str) -> MalformedPolicyDocumentException:
    return MalformedPolicyDocumentException(f"The policy is not valid: {why}")


@dataclass(frozen=True, slots=True)
class Request:
    """What a policy is asked about. Context keys are lower case."""

    principal_arn: str
    account: str
    action: str  # e.g. "kms:Encrypt"
    resource: str  # a key or alias ARN, or "*"
    context: Mapping[str, ContextValue] = field(default_factory=dict)


# -- statements and policies -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    allow: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]
    principals: frozenset[str] | None  # None: no Principal element (identity policies)
    _action_globs: tuple[Glob, ...] = field(default=(), compare=False, repr=False)
    _resource_globs: tuple[Glob, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        # actions are case-insensitive (compared lower-cased), resources case-sensitive
        object.__setattr__(self, "_action_globs", tuple(Glob(a.lower()) for a in self.actions))
        object.__setattr__(self, "_resource_globs", tuple(Glob(r) for r in self.resources))

    def applies(self, request: Request, budget: Budget) -> bool:
        action = request.action.lower()
        if any(g.match(action) for g in self._action_globs) == self.not_action:
            return False
        resource_hit = any(g.match(request.resource) for g in self._resource_globs)
        if resource_hit == self.not_resource:
            return False
        deny = not self.allow
        return all(c.holds(request.context, budget, deny=deny) for c in self.conditions)

    def principal_kind(self, request: Request) -> str | None:
        """'direct' (the user, or *), 'account' (the caller's account root), or None."""
        if self.principals is None:
            return "direct"
        if "*" in self.principals or request.principal_arn in self.principals:
            return "direct"
        if f"account:{request.account}" in self.principals:
            return "account"
        return None


@dataclass(frozen=True, slots=True)
class Verdict:
    deny: bool = False
    allow_direct: bool = False  # allowed for this principal by name (or *)
    allow_account: bool = False  # allowed for the principal's account: needs identity policies too
    too_costly: bool = False  # the deny is the work budget's, not a statement's


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]

    @functools.cached_property
    def condition_keys(self) -> frozenset[str]:
        """Every condition key the policy names (lower case): keys that cost a store read to
        provide are computed only for the policies that ask for them."""
        return frozenset(c.key for s in self.statements for c in s.conditions)

    def evaluate(self, request: Request) -> Verdict:
        """The verdict of this policy on ``request``; an evaluation that would exceed its work
        budget (:data:`.wildcards.EVALUATION_BUDGET`) is an explicit Deny (fail-closed)."""
        try:
            return self._evaluate(request, Budget())
        except TooCostly:
            return Verdict(deny=True, too_costly=True)

    def _evaluate(self, request: Request, budget: Budget) -> Verdict:
        deny = allow_direct = allow_account = False
        for statement in self.statements:
            kind = statement.principal_kind(request)
            if kind is None or not statement.applies(request, budget):
                continue
            if not statement.allow:
                deny = True
            elif kind == "direct":
                allow_direct = True
            else:
                allow_account = True
        return Verdict(deny, allow_direct, allow_account)

    @classmethod
    def parse(cls, text: str, *, key_policy: bool) -> Policy:
        """Parse and check a policy; one over AWS's size quota is refused (also when read
        back from the store, so that no evaluation is ever larger than the quota allows)."""
        check_size(text, key_policy=key_policy)
        try:  # strictly: no lone surrogates, duplicate names, NaN or stack-deep nesting
            document = strict_loads(text.encode("utf-8", "surrogatepass"), what="The policy")
        except SerializationException as refused:
            raise MalformedPolicyDocumentException(refused.message) from None
        if not isinstance(document, dict):
            raise _malformed("it must be a JSON object")
        raw = document.get("Statement")
        items = [raw] if isinstance(raw, dict) else raw
        if not isinstance(items, list) or not items:
            raise _malformed("it needs a Statement")
        return cls(tuple(_statement(item, key_policy=key_policy) for item in items))


def policy_chars(text: str) -> int:
    """A policy's size as IAM counts it: characters, white space not counted."""
    return len(text.translate(_JSON_WHITESPACE))


def check_size(text: str, *, key_policy: bool) -> None:
    """LimitExceededException for a policy over AWS's quota (key policy: 32,768 bytes;
    identity policy: 6,144 characters without white space)."""
    if key_policy:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > KEY_POLICY_MAX_BYTES:
            raise LimitExceededException(
                f"The key policy is {size} bytes; the quota for a key policy document is "
                f"{KEY_POLICY_MAX_BYTES} bytes."
            )
    elif (size := policy_chars(text)) > IDENTITY_POLICY_MAX_CHARS:
        raise LimitExceededException(
            f"The identity policy is {size} characters (white space not counted); the quota "
            f"is {IDENTITY_POLICY_MAX_CHARS}."
        )


def check_user_policies(documents: Iterable[str]) -> None:
    """LimitExceededException if one user's inline policies together exceed IAM's quota of
    2,048 characters (white space not counted)."""
    total = sum(policy_chars(text) for text in documents)
    if total > USER_POLICIES_MAX_CHARS:
        raise LimitExceededException(
            f"The user's policies would total {total} characters (white space not counted); "
            f"the quota for a user's inline policies is {USER_POLICIES_MAX_CHARS}."
        )


def _strings(value: Any, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise _malformed(f"{what} must be a string or a non-empty list of strings")
    return tuple(items)


def _no_variables(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    # Policy variables (${aws:username}) are not substituted; taken literally they would make
    # a Deny silently inapplicable, so a policy using one is refused instead.
    if any("${" in value for value in values):
        raise _malformed(
            f"{what} uses a policy variable (${{...}}), which Sealbox does not support"
        )
    return values


def _principals(value: Any) -> frozenset[str]:
    if value == "*":
        return frozenset({"*"})
    if not isinstance(value, dict) or not value:
        raise _malformed(
            'Principal must be "*" or an object such as {"AWS": "arn:aws:iam::123456789012:root"}'
        )
    found: set[str] = set()
    for kind, entries in value.items():
        for entry in _strings(entries, f"Principal {kind}"):
            if kind != "AWS":
                continue  # service principals never call Sealbox
            root = root_account(entry)
            if entry == "*":
                found.add("*")
            elif root or is_account_id(entry):
                found.add(f"account:{root or entry}")
            elif entry.startswith(f"arn:{PARTITION}:iam::"):
                found.add(entry)
            else:
                raise _malformed(f"invalid principal {entry!r}")
    return frozenset(found)


def _conditions(value: Any) -> tuple[Condition, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise _malformed("Condition must be an object")
    conditions = []
    for name, block in value.items():
        if not isinstance(name, str) or not isinstance(block, dict):
            raise _malformed("each Condition operator maps to an object of keys")
        parsed = parse_operator(name)
        if parsed is None:
            raise _malformed(f"unsupported condition operator {name!r}")
        operator, qualifier, if_exists = parsed
        for key, values in block.items():
            if isinstance(values, bool | int | float):
                values = str(values).lower() if isinstance(values, bool) else str(values)
            strings = _no_variables(_strings(values, f"Condition {key}"), f"Condition {key}")
            conditions.append(Condition(operator, key.lower(), strings, if_exists, qualifier))
    return tuple(conditions)


def _statement(item: Any, *, key_policy: bool) -> Statement:
    if not isinstance(item, dict):
        raise _malformed("each statement must be an object")
    effect = item.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise _malformed("Effect must be Allow or Deny")
    if ("Action" in item) == ("NotAction" in item):
        raise _malformed("a statement needs exactly one of Action and NotAction")
    if "NotPrincipal" in item:
        raise _malformed("NotPrincipal is not supported; use a Deny with conditions")
    if key_policy and "Principal" not in item:
        raise _malformed("key policy statements need a Principal")
    if not key_policy and "Principal" in item:
        raise _malformed("identity policies have no Principal")
    resources = item.get("Resource", item.get("NotResource", "*"))
    return Statement(
        allow=effect == "Allow",
        actions=_strings(item.get("Action", item.get("NotAction")), "Action"),
        not_action="NotAction" in item,
        resources=_no_variables(_strings(resources, "Resource"), "Resource"),
        not_resource="NotResource" in item,
        conditions=_conditions(item.get("Condition")),
        principals=_principals(item["Principal"]) if "Principal" in item else None,
    )


def identity_verdict(policies: Sequence[Policy], request: Request) -> Verdict:
    deny = allow = costly = False
    for policy in policies:
        verdict = policy.evaluate(request)
        deny |= verdict.deny
        allow |= verdict.allow_direct
        costly |= verdict.too_costly
    return Verdict(deny=deny, allow_direct=allow, too_costly=costly)
