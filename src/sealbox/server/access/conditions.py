"""Policy conditions: the operators, how request values are compared, and the condition keys
made from request pairs. Pure.

Condition semantics follow IAM: operators are ANDed, keys within an operator ANDed, values
for one key ORed (NORed for negated operators). A key missing from the request makes a
condition false, except for negated operators (true), ``...IfExists`` (true) and ``Null``.
``ForAllValues:`` is true for an empty or missing set; ``ForAnyValue:`` is false for one.
Every comparison spends from the evaluation's :class:`~.wildcards.Budget`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sealbox.server.access.wildcards import CALL_UNITS, ArnPattern, Budget, Glob


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


def parse_operator(name: str) -> tuple[str, str, bool] | None:
    """A condition operator as written (``ForAnyValue:StringLikeIfExists``) as (operator,
    qualifier, if_exists), lower case; None for an operator Sealbox does not support."""
    operator = name.lower()
    qualifier = ""
    for prefix in ("forallvalues:", "foranyvalue:"):
        if operator.startswith(prefix):
            qualifier, operator = prefix[:-1], operator[len(prefix) :]
    if_exists = operator.endswith("ifexists") and operator != "null"
    operator = operator.removesuffix("ifexists")
    if operator not in _OPERATORS:
        return None
    return operator, qualifier, if_exists


# -- comparing one request value --------------------------------------------------------------

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


# -- one condition ----------------------------------------------------------------------------


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


# -- condition keys from request pairs --------------------------------------------------------


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
