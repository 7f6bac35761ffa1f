"""Policy documents (key policies and identity policies): parsing and evaluation. Pure.

A statement applies to a request when its action, resource and every condition
match. Principals in key policies are ``*``, a user ARN (a direct grant), or an
account (``"123456789012"`` or ``arn:aws:iam::123456789012:root``), which
delegates to that account's identity policies, as in AWS.

Condition semantics follow IAM: operators are ANDed, keys within an operator
ANDed, values for one key ORed (NORed for negated operators). A key missing
from the request makes a condition false, except for negated operators (true),
``...IfExists`` (true) and ``Null``. ``ForAllValues:`` is true for an empty or
missing set; ``ForAnyValue:`` is false for one.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sealbox.server.errors import MalformedPolicyDocumentException

ContextValue = str | tuple[str, ...]

_NEGATED = frozenset(
    {
        "stringnotequals",
        "stringnotequalsignorecase",
        "stringnotlike",
        "numericnotequals",
        "datenotequals",
        "notipaddress",
        "arnnotequals",
        "arnnotlike",
    }
)
_OPERATORS = (
    frozenset(
        {
            "stringequals",
            "stringequalsignorecase",
            "stringlike",
            "numericequals",
            "numericlessthan",
            "numericlessthanequals",
            "numericgreaterthan",
            "numericgreaterthanequals",
            "dateequals",
            "datelessthan",
            "datelessthanequals",
            "dategreaterthan",
            "dategreaterthanequals",
            "bool",
            "ipaddress",
            "arnequals",
            "arnlike",
            "null",
        }
    )
    | _NEGATED
)
_ACCOUNT_ROOT = re.compile(r"^arn:aws:iam::(\d{12}):root$")
_ACCOUNT = re.compile(r"^\d{12}$")


def _malformed(why: str) -> MalformedPolicyDocumentException:
    return MalformedPolicyDocumentException(f"The policy is not valid: {why}")


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Request:
    """What a policy is asked about. Context keys are lower case."""

    principal_arn: str
    account: str
    action: str  # e.g. "kms:Encrypt"
    resource: str  # a key or alias ARN, or "*"
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Condition:
    operator: str
    key: str
    values: tuple[str, ...]
    if_exists: bool = False
    qualifier: str = ""  # "", "forallvalues" or "foranyvalue"

    def holds(self, context: Mapping[str, ContextValue]) -> bool:
        present = self.key in context
        if self.operator == "null":
            wanted_absent = self.values[0].lower() == "true" if self.values else True
            return wanted_absent != present
        if not present:
            if self.qualifier == "forallvalues":
                return True
            if self.qualifier == "foranyvalue":
                return False
            return self.if_exists or self.operator in _NEGATED
        raw = context[self.key]
        items = raw if isinstance(raw, tuple) else (raw,)
        negated = self.operator in _NEGATED
        positive = self.operator.replace("not", "", 1) if negated else self.operator

        def matches(item: str) -> bool:
            hit = any(_compare(positive, item, value) for value in self.values)
            return not hit if negated else hit

        if self.qualifier == "forallvalues":
            return all(matches(item) for item in items)
        if negated and not self.qualifier:
            return all(matches(item) for item in items)
        return any(matches(item) for item in items)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _moment(text: str) -> float | None:
    number = _number(text)
    if number is not None:
        return number
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _ordered(operator: str, left: float | None, right: float | None) -> bool:
    if left is None or right is None:
        return False
    if operator.endswith("lessthanequals"):
        return left <= right
    if operator.endswith("lessthan"):
        return left < right
    if operator.endswith("greaterthanequals"):
        return left >= right
    if operator.endswith("greaterthan"):
        return left > right
    return left == right


def _compare(operator: str, actual: str, expected: str) -> bool:
    if operator == "stringequals":
        return actual == expected
    if operator == "stringequalsignorecase":
        return actual.lower() == expected.lower()
    if operator in ("stringlike", "arnlike"):
        return glob_match(expected, actual)
    if operator == "arnequals":
        return actual == expected
    if operator == "bool":
        return actual.lower() == expected.lower()
    if operator.startswith("numeric"):
        return _ordered(operator, _number(actual), _number(expected))
    if operator.startswith("date"):
        return _ordered(operator, _moment(actual), _moment(expected))
    if operator == "ipaddress":
        try:
            return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)
        except ValueError:
            return False
    raise AssertionError(f"sealbox: internal error: operator {operator}")


@dataclass(frozen=True, slots=True)
class Statement:
    allow: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]
    principals: frozenset[str] | None  # None: no Principal element (identity policies)
    sid: str = ""

    def applies(self, request: Request) -> bool:
        action_hit = any(glob_match(a, request.action, ignore_case=True) for a in self.actions)
        if action_hit == self.not_action:
            return False
        resource_hit = any(glob_match(r, request.resource) for r in self.resources)
        if resource_hit == self.not_resource:
            return False
        return all(condition.holds(request.context) for condition in self.conditions)

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


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]

    def evaluate(self, request: Request) -> Verdict:
        deny = allow_direct = allow_account = False
        for statement in self.statements:
            kind = statement.principal_kind(request)
            if kind is None or not statement.applies(request):
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
        try:
            document = json.loads(text)
        except ValueError:
            raise _malformed("it is not JSON") from None
        if not isinstance(document, dict):
            raise _malformed("it must be a JSON object")
        raw = document.get("Statement")
        items = [raw] if isinstance(raw, dict) else raw
        if not isinstance(items, list) or not items:
            raise _malformed("it needs a Statement")
        return cls(tuple(_statement(item, key_policy=key_policy) for item in items))


def _strings(value: Any, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise _malformed(f"{what} must be a string or a non-empty list of strings")
    return tuple(items)


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
            root = _ACCOUNT_ROOT.match(entry)
            if entry == "*":
                found.add("*")
            elif root or _ACCOUNT.match(entry):
                found.add(f"account:{root.group(1) if root else entry}")
            elif entry.startswith("arn:aws:iam::"):
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
        operator = name.lower()
        qualifier = ""
        for prefix in ("forallvalues:", "foranyvalue:"):
            if operator.startswith(prefix):
                qualifier, operator = prefix[:-1], operator[len(prefix) :]
        if_exists = operator.endswith("ifexists") and operator != "null"
        operator = operator.removesuffix("ifexists")
        if operator not in _OPERATORS:
            raise _malformed(f"unsupported condition operator {name!r}")
        for key, values in block.items():
            if isinstance(values, bool | int | float):
                values = str(values).lower() if isinstance(values, bool) else str(values)
            conditions.append(
                Condition(
                    operator,
                    key.lower(),
                    _strings(values, f"Condition {key}"),
                    if_exists,
                    qualifier,
                )
            )
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
        resources=_strings(resources, "Resource"),
        not_resource="NotResource" in item,
        conditions=_conditions(item.get("Condition")),
        principals=_principals(item["Principal"]) if "Principal" in item else None,
        sid=str(item.get("Sid", "")),
    )


def encryption_context_keys(
    context: Mapping[str, str], prefix: str = "kms:encryptioncontext:"
) -> dict[str, ContextValue]:
    """Condition keys for an encryption context: one per pair, and the set of keys (absent,
    as in AWS, when the context is empty)."""
    keys: dict[str, ContextValue] = {f"{prefix}{k.lower()}": v for k, v in context.items()}
    if context:
        keys["kms:encryptioncontextkeys"] = tuple(context)
    return keys


def identity_verdict(policies: Sequence[Policy], request: Request) -> Verdict:
    deny = allow = False
    for policy in policies:
        verdict = policy.evaluate(request)
        deny |= verdict.deny
        allow |= verdict.allow_direct
    return Verdict(deny=deny, allow_direct=allow)
