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

Everything a request can influence is matched in time linear in its size: ``*``
and ``?`` patterns are compiled once, when the policy is parsed, into literal
segments found with ``str.find`` (greedy leftmost, which is exact for ``*``) and
fixed-length ``?`` segments (a quantifier-free expression, which cannot
backtrack). The size of every stored policy is capped as AWS caps it, which
bounds the work of one evaluation.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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


@dataclass(frozen=True, slots=True)
class CaseVariants:
    """The values of encryption context keys that differ only by case, for a condition key
    named case-insensitively (``kms:EncryptionContext:<key>``). A condition holds in a Deny
    if it holds for any of them, and in an Allow only if it holds for all: fail-closed."""

    values: tuple[str, ...]


ContextValue = str | tuple[str, ...] | CaseVariants

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


# -- bounded work --------------------------------------------------------------------------

# Work units one evaluation of one policy may spend matching request values. A unit is about
# one character compared in C (a few nanoseconds); every comparison call also costs CALL_UNITS,
# about its Python overhead: the budget is roughly half a millisecond of work. A policy that
# would need more denies the request, as an explicit Deny would: only a policy built to be
# costly reaches it, and it refuses only requests to its own key (or its own user's).
EVALUATION_BUDGET = 100_000
CALL_UNITS = 256


class TooCostly(Exception):
    """A policy evaluation ran out of its work budget (internal; never leaves this module)."""


class Budget:
    __slots__ = ("left",)

    def __init__(self, units: int = EVALUATION_BUDGET) -> None:
        self.left = units

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise TooCostly


UNBOUNDED_UNITS = 1 << 62


# -- linear-time wildcard matching ----------------------------------------------------------


class _Segment:
    """A run of the pattern between two ``*``: literal text, or text with ``?`` in it."""

    __slots__ = ("length", "literal", "wild")

    def __init__(self, text: str) -> None:
        self.length = len(text)
        self.literal = text if "?" not in text else None
        # ``?`` matches one character: a fixed-length expression with no quantifier, so
        # matching it at one position is O(length) and searching is O(value x length) in C.
        self.wild = (
            None
            if self.literal is not None
            else re.compile("".join("." if c == "?" else re.escape(c) for c in text), re.DOTALL)
        )

    def at(self, value: str, position: int) -> bool:
        if self.literal is not None:
            return value.startswith(self.literal, position)
        assert self.wild is not None
        return self.wild.match(value, position) is not None

    def find(self, value: str, start: int, end: int, budget: Budget) -> int:
        span = end - start
        if self.literal is not None:
            budget.spend(span)  # str.find is linear (two-way search for long needles)
            return value.find(self.literal, start, end)
        assert self.wild is not None
        budget.spend(max(1, span - self.length + 1) * self.length)  # its worst case
        found = self.wild.search(value, start, end)
        return -1 if found is None else found.start()


class Glob:
    """A ``*``/``?`` pattern, compiled once. ``*`` matches any run of characters (``/`` and
    ``:`` included), ``?`` exactly one. Matching never backtracks: the segments between stars
    are found left to right, each at its leftmost place, which is exact for ``*``."""

    __slots__ = (
        "_exact",
        "_head",
        "_middle",
        "_min_length",
        "_starred",
        "_tail",
        "_units",
        "pattern",
    )

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        parts = pattern.split("*")
        self._starred = len(parts) > 1
        self._exact = pattern if not self._starred and "?" not in pattern else None
        self._head = _Segment(parts[0])
        self._tail = _Segment(parts[-1]) if self._starred else _Segment("")
        self._middle = tuple(_Segment(p) for p in parts[1:-1] if p)
        self._min_length = len(pattern) - (len(parts) - 1)
        self._units = CALL_UNITS + self._head.length + self._tail.length

    def match(self, value: str, budget: Budget | None = None) -> bool:
        if budget is not None:
            budget.left -= self._units
            if budget.left < 0:
                raise TooCostly
        if self._exact is not None:
            return value == self._exact
        size = len(value)
        if size < self._min_length:
            return False
        if not self._starred:
            return size == self._head.length and self._head.at(value, 0)
        head, tail = self._head, self._tail
        end = size - tail.length
        if tail.literal is not None:  # the common case, without a call per segment
            if not value.endswith(tail.literal):
                return False
        elif not tail.at(value, end):
            return False
        if head.literal is not None:
            if not value.startswith(head.literal):
                return False
        elif not head.at(value, 0):
            return False
        if not self._middle:
            return True
        budget = budget or Budget(UNBOUNDED_UNITS)
        position = self._head.length
        for segment in self._middle:
            found = segment.find(value, position, end, budget)
            if found < 0:
                return False
            position = found + segment.length
        return True


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """One-off matching (compiles the pattern; policies compile theirs when parsed)."""
    if ignore_case:
        return Glob(pattern.lower()).match(value.lower())
    return Glob(pattern).match(value)


class ArnPattern:
    """``ArnEquals``/``ArnLike`` as IAM matches them: each of the six colon-separated parts
    separately (the last one keeps its colons), wildcards within a part, case-sensitive."""

    __slots__ = ("_parts",)

    def __init__(self, pattern: str) -> None:
        parts = pattern.split(":", 5)
        self._parts = tuple(Glob(p) for p in parts) if len(parts) == 6 else None

    def match(self, value: str, budget: Budget | None = None) -> bool:
        budget = budget or Budget(UNBOUNDED_UNITS)
        budget.spend(CALL_UNITS + len(value))
        parts = value.split(":", 5)
        if self._parts is None or len(parts) != 6:
            return False
        return all(g.match(part, budget) for g, part in zip(self._parts, parts, strict=True))


# -- conditions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """What a policy is asked about. Context keys are lower case."""

    principal_arn: str
    account: str
    action: str  # e.g. "kms:Encrypt"
    resource: str  # a key or alias ARN, or "*"
    context: Mapping[str, ContextValue] = field(default_factory=dict)


Matcher = Callable[[str, Budget], bool]


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


def _ip_matcher(values: tuple[str, ...]) -> Matcher:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            continue  # a value that is no network matches nothing, as before

    def match(actual: str, budget: Budget) -> bool:
        budget.spend(CALL_UNITS + len(networks))
        try:
            address = ipaddress.ip_address(actual)
        except ValueError:
            return False
        return any(address in network for network in networks)

    return match


def _matcher(operator: str, values: tuple[str, ...]) -> Matcher:
    """Whether a request value matches any of ``values`` under the (positive) ``operator``;
    patterns, numbers and networks are prepared here, once per parsed policy."""
    if operator == "stringequals":
        wanted = frozenset(values)

        def equal(actual: str, budget: Budget) -> bool:
            budget.spend(CALL_UNITS)
            return actual in wanted

        return equal
    if operator in ("stringequalsignorecase", "bool"):
        folded = frozenset(v.lower() for v in values)

        def equal_folded(actual: str, budget: Budget) -> bool:
            budget.spend(CALL_UNITS + len(actual))
            return actual.lower() in folded

        return equal_folded
    if operator == "stringlike":
        globs = tuple(Glob(v) for v in values)

        def like(actual: str, budget: Budget) -> bool:
            for glob in globs:
                if glob.match(actual, budget):
                    return True
            return False

        return like
    if operator in ("arnlike", "arnequals"):
        arns = tuple(ArnPattern(v) for v in values)
        return lambda actual, budget: any(a.match(actual, budget) for a in arns)
    if operator.startswith(("numeric", "date")):
        convert = _number if operator.startswith("numeric") else _moment
        limits = tuple(convert(v) for v in values)

        def ordered(actual: str, budget: Budget) -> bool:
            budget.spend(CALL_UNITS + len(actual) + len(limits))
            mine = convert(actual)
            return any(_ordered(operator, mine, limit) for limit in limits)

        return ordered
    if operator == "ipaddress":
        return _ip_matcher(values)
    raise AssertionError(f"sealbox: internal error: operator {operator}")


@dataclass(frozen=True, slots=True)
class Condition:
    operator: str
    key: str
    values: tuple[str, ...]
    if_exists: bool = False
    qualifier: str = ""  # "", "forallvalues" or "foranyvalue"
    _match: Matcher | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self._match is None and self.operator != "null":
            positive = self.operator.replace("not", "", 1) if self.negated else self.operator
            object.__setattr__(self, "_match", _matcher(positive, self.values))

    @property
    def negated(self) -> bool:
        return self.operator in _NEGATED

    def holds(
        self, context: Mapping[str, ContextValue], budget: Budget, *, deny: bool = False
    ) -> bool:
        """Whether the condition holds; ``deny`` says it guards a Deny, which decides how
        case variants of one encryption context key combine (any for a Deny, all for an Allow)."""
        raw = context.get(self.key)
        if isinstance(raw, CaseVariants):
            outcomes = (self._holds_for(value, budget) for value in raw.values)
            return any(outcomes) if deny else all(outcomes)
        return self._holds_for(raw, budget)

    def _holds_for(self, raw: str | tuple[str, ...] | None, budget: Budget) -> bool:
        if self.operator == "null":
            wanted_absent = self.values[0].lower() == "true" if self.values else True
            return wanted_absent == (raw is None)
        if raw is None:
            if self.qualifier == "forallvalues":
                return True
            if self.qualifier == "foranyvalue":
                return False
            return self.if_exists or self.negated
        items = raw if isinstance(raw, tuple) else (raw,)
        assert self._match is not None
        match, negated = self._match, self.negated

        def matches(item: str) -> bool:
            return match(item, budget) != negated

        if self.qualifier == "forallvalues" or (negated and not self.qualifier):
            return all(matches(item) for item in items)
        return any(matches(item) for item in items)


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
    sid: str = ""
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
        budget (:data:`EVALUATION_BUDGET`) is an explicit Deny (fail-closed)."""
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
        sid=str(item.get("Sid", "")),
    )


def case_insensitive_keys(pairs: Mapping[str, str], prefix: str) -> dict[str, ContextValue]:
    """Condition keys ``prefix + name`` for request pairs (encryption context, tags): the
    name is matched case-insensitively (IAM condition key names are), and pairs whose names
    differ only by case become :class:`CaseVariants`, evaluated fail-closed."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs.items():
        grouped.setdefault(f"{prefix}{name.lower()}", []).append(value)
    return {
        key: values[0] if len(values) == 1 else CaseVariants(tuple(values))
        for key, values in grouped.items()
    }


def encryption_context_keys(context: Mapping[str, str]) -> dict[str, ContextValue]:
    """Condition keys for an encryption context: ``kms:EncryptionContext:<key>`` per pair,
    and the set of keys as given, case kept (absent, as in AWS, when the context is empty)."""
    keys = case_insensitive_keys(context, "kms:encryptioncontext:")
    if context:
        keys["kms:encryptioncontextkeys"] = tuple(context)
    return keys


def identity_verdict(policies: Sequence[Policy], request: Request) -> Verdict:
    deny = allow = costly = False
    for policy in policies:
        verdict = policy.evaluate(request)
        deny |= verdict.deny
        allow |= verdict.allow_direct
        costly |= verdict.too_costly
    return Verdict(deny=deny, allow_direct=allow, too_costly=costly)
