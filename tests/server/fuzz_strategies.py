"""Hypothesis strategies for raw KMS requests, derived from the service model botocore ships.

Every member of every operation gets valid values (within the model's lengths, ranges,
patterns and enumerations), boundary values (each limit, and one past it) and hostile
values (lone surrogates, control characters, wrong JSON types, huge numbers, NaN,
deep nesting, oversized strings). Bodies are JSON *text* built here, not by
``json.dumps`` of a dict, so that duplicate keys, non-finite numbers, raw literals
and broken JSON can be sent as well.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import botocore.loaders
from hypothesis import strategies as st

MODEL: dict[str, Any] = botocore.loaders.Loader().load_service_model("kms", "service-2")
SHAPES: dict[str, Any] = MODEL["shapes"]
OPERATIONS: tuple[str, ...] = tuple(sorted(MODEL["operations"]))
TARGET_PREFIX = "TrentService."
MAX_BODY = 1 << 20  # the server's body cap (sealbox.server.http.app.MAX_BODY)

# Nesting depths around Python's recursion limit and far beyond it.
DEPTHS = (32, 999, 1000, 1001, 5000, 100_000)


@dataclass(frozen=True)
class Raw:
    """JSON text sent exactly as written (a huge number, ``NaN``, deep nesting)."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object as a list of members, so that a name may occur twice."""

    items: tuple[tuple[str, Any], ...]


def to_json(value: Any) -> str:
    """JSON text for ``value``; strings keep lone surrogates as ``\\ud800`` escapes."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{to_json(v)}" for k, v in value.items) + "}"
    if isinstance(value, dict):
        return to_json(Pairs(tuple(value.items())))
    if isinstance(value, list):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return json.dumps(value)


@dataclass(frozen=True)
class Seeds:
    """Real names and blobs on the server under test, so generated requests get past
    lookups and reach the operations themselves."""

    key_ids: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    ciphertexts: tuple[bytes, ...] = ()
    grant_ids: tuple[str, ...] = ()
    grant_tokens: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    context_keys: tuple[str, ...] = ("tenant", "purpose", "Tenant")
    extra: dict[str, tuple[Any, ...]] = field(default_factory=dict)


# Which seeds suit which member, by member name.
def _seeded(member: str, seeds: Seeds) -> tuple[Any, ...]:
    if member in ("KeyId", "TargetKeyId", "DestinationKeyId", "SourceKeyId"):
        return seeds.key_ids + seeds.aliases
    if member == "AliasName":
        return seeds.aliases
    if member == "CiphertextBlob":
        return tuple(base64.b64encode(blob).decode() for blob in seeds.ciphertexts)
    if member == "GrantId":
        return seeds.grant_ids
    if member == "GrantToken":
        return seeds.grant_tokens
    if member in ("GranteePrincipal", "RetiringPrincipal"):
        return seeds.principals
    return seeds.extra.get(member, ())


# -- hostile values, the same for every member ------------------------------------------

LONE_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
CONTROL = st.sampled_from(["\x00", "\x01", "\x08", "\x1b", "\x1f", "\x7f", "\x85", "\u2028"])
NASTY_TEXT = st.lists(
    st.one_of(
        LONE_SURROGATES,
        CONTROL,
        st.characters(codec=None),  # any code point, astral ones included
        st.sampled_from(["\ufeff", "\u0000", "\\", '"', "'", "%", "*", "?", "\u202e", "é", "٣"]),
    ),
    min_size=1,
    max_size=24,
).map("".join)

WRONG_TYPES: st.SearchStrategy[Any] = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        1.5,
        -0.0,
        1e308,
        float("nan"),
        float("inf"),
        float("-inf"),
        "",
        "x",
        [],
        [1, "a"],
        {},
        {"a": 1},
        Raw("1e400"),
        Raw("-1e400"),
        Raw("1" * 5000),  # longer than Python's int-from-text limit
        Raw("1" + "0" * 400),  # an integer no float can hold
        Raw("12345678901234567890123456789012345678901234567890"),
        Raw("0.000000000000000000000000000000000000000000000001"),
        Raw("1E+2"),
        Raw("-0"),
    ]
)


def _nested(depth: int, kind: str) -> Raw:
    if kind == "list":
        return Raw("[" * depth + "]" * depth)
    return Raw('{"a":' * depth + "1" + "}" * depth)


NESTED = st.builds(_nested, st.sampled_from(DEPTHS), st.sampled_from(["list", "object"]))
OVERSIZED = st.sampled_from([4097, 8193, 65_537, 300_000]).map(lambda n: "a" * n)

HOSTILE: st.SearchStrategy[Any] = st.one_of(
    NASTY_TEXT,
    LONE_SURROGATES,
    WRONG_TYPES,
    NESTED,
    OVERSIZED,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)


# -- values from the model -----------------------------------------------------------------


class ModelValues:
    """Strategies for the values of one shape: valid, at its limits, and hostile."""

    def __init__(self, seeds: Seeds) -> None:
        self.seeds = seeds

    def member(self, member: str, shape_name: str, depth: int = 0) -> st.SearchStrategy[Any]:
        shape = SHAPES[shape_name]
        choices: list[st.SearchStrategy[Any]] = [
            self.valid(shape_name, depth),
            self.valid(shape_name, depth),
            self.boundary(shape),
            HOSTILE,
        ]
        seeded = _seeded(member, self.seeds)
        if seeded:
            choices += [st.sampled_from(seeded)] * 3
        if member == "Policy":
            choices += [policies(self.seeds)] * 2
        if shape["type"] == "map":
            choices.append(contexts(self.seeds))
        return st.one_of(choices)

    def valid(self, shape_name: str, depth: int = 0) -> st.SearchStrategy[Any]:
        shape = SHAPES[shape_name]
        kind = shape["type"]
        if kind == "structure":
            return self.structure(shape_name, depth + 1)
        if kind == "list":
            low, high = shape.get("min", 0), min(shape.get("max", 4), 4)
            item = shape["member"]["shape"]
            return st.lists(self.valid(item, depth + 1), min_size=low, max_size=max(low, high))
        if kind == "map":
            return contexts(self.seeds)
        if kind == "string":
            return _valid_string(shape)
        if kind == "blob":
            low, high = shape.get("min", 0), min(shape.get("max", 64), 64)
            return st.binary(min_size=low, max_size=high).map(
                lambda b: base64.b64encode(b).decode()
            )
        if kind == "integer":
            return st.integers(shape.get("min", -(2**31)), shape.get("max", 2**31 - 1))
        if kind == "boolean":
            return st.booleans()
        if kind == "timestamp":
            return st.one_of(
                st.integers(0, 4_102_444_800), st.floats(0, 4_102_444_800, allow_nan=False)
            )
        raise AssertionError(f"a shape type the model did not have: {kind}")

    def boundary(self, shape: dict[str, Any]) -> st.SearchStrategy[Any]:
        kind = shape["type"]
        low, high = shape.get("min"), shape.get("max")
        if kind in ("string", "blob"):
            sizes = {s for s in (low, high, 0) if s is not None}
            sizes |= {s + 1 for s in (high,) if s is not None} | {
                s - 1 for s in (low,) if s and s > 0
            }
            text = st.sampled_from(sorted(sizes)).map(lambda n: "A" * n)
            if kind == "blob":
                raw = st.sampled_from(sorted(sizes)).map(lambda n: base64.b64encode(b"\0" * n))
                return st.one_of(
                    raw.map(bytes.decode),
                    st.sampled_from(["", "=", "AA", "AA=", "A===", "AA==\n", "-_-_", " AAAA"]),
                )
            if "enum" in shape:
                enum = shape["enum"]
                return st.one_of(
                    st.sampled_from(enum).map(str.lower),
                    st.sampled_from(enum).map(lambda e: e + " "),
                    st.sampled_from(enum).map(lambda e: e + "\x00"),
                    text,
                )
            return text
        if kind == "integer":
            edges = {0, -1, 2**31 - 1, -(2**31), 2**31, 2**63, -(2**63) - 1}
            edges |= {e for v in (low, high) if v is not None for e in (v - 1, v, v + 1)}
            return st.sampled_from(sorted(edges))
        if kind == "list":
            item = shape["member"]["shape"]
            lengths: list[int] = sorted({0, (low or 0), (high or 10) + 1})
            return st.sampled_from(lengths).flatmap(
                lambda n: st.lists(self.valid(item, 5), min_size=n, max_size=n)
            )
        if kind == "timestamp":
            return st.sampled_from([-1, 0, 2**31, 2**63, 1e300, -1e300, 253402300800])
        return WRONG_TYPES

    def structure(self, shape_name: str, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
        shape = SHAPES[shape_name]
        required = set(shape.get("required", ()))
        members = shape.get("members", {})
        if depth > 4:  # the model has no recursive inputs, but stay finite if one appears
            return st.just({})
        parts: dict[str, st.SearchStrategy[Any]] = {}
        for name, spec in members.items():
            value = self.member(name, spec["shape"], depth)
            if name in required:
                parts[name] = st.one_of(value, value, value, st.just(_ABSENT))
            else:
                parts[name] = st.one_of(value, st.just(_ABSENT), st.just(_ABSENT))
        return st.fixed_dictionaries(parts).map(
            lambda d: {k: v for k, v in d.items() if v is not _ABSENT}
        )


_ABSENT = object()


def _valid_string(shape: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = shape.get("min", 0), shape.get("max", 64)
    if "enum" in shape:
        return st.sampled_from(shape["enum"])
    cap = min(high, 64)
    if "pattern" in shape:
        pattern = re.compile(shape["pattern"], re.ASCII)
        return st.from_regex(pattern, fullmatch=True).filter(lambda s: low <= len(s) <= high)
    return st.one_of(
        st.text(min_size=low, max_size=max(low, cap)),
        st.text(alphabet="abc-_/:", min_size=high, max_size=high),
    )


def contexts(seeds: Seeds) -> st.SearchStrategy[dict[str, str]]:
    """Encryption contexts: keys that policies and grants name, in any case; values
    that stress wildcard matching (long runs of one character)."""
    keys = st.one_of(
        st.sampled_from(seeds.context_keys),
        st.sampled_from(seeds.context_keys).map(str.upper),
        st.text(max_size=8),
    )
    values = st.one_of(
        st.text(max_size=16),
        st.sampled_from(["-", "a", "*"]).flatmap(
            lambda c: st.sampled_from([60, 200, 8192]).map(lambda n: c * n)
        ),
        NASTY_TEXT,
    )
    return st.dictionaries(keys, values, max_size=4)


def policies(seeds: Seeds) -> st.SearchStrategy[str]:
    """Key policies that keep the account in control (so the fuzzer cannot lock itself
    out) and add conditions whose wildcards a backtracking matcher chokes on."""
    pattern = st.one_of(
        st.integers(2, 30).map(lambda n: "*-" * n + "!"),
        st.integers(2, 30).map(lambda n: "*a" * n + "b"),
        st.text(alphabet="*?-a", max_size=64),
    )
    operator = st.sampled_from(["StringLike", "StringNotLike", "ArnLike", "StringEquals"])
    effect = st.sampled_from(["Allow", "Deny"])
    context_key = st.sampled_from(seeds.context_keys).map(lambda k: "kms:EncryptionContext:" + k)

    def document(op: str, key: str, value: str, fx: str) -> str:
        statements = [
            {
                "Sid": "Admin",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Effect": fx,
                "Principal": "*",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {op: {key: value}},
            },
        ]
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    return st.builds(document, operator, context_key, pattern, effect)


# -- whole bodies -------------------------------------------------------------------------

BROKEN_BODIES: st.SearchStrategy[bytes] = st.sampled_from(
    [
        b"",
        b"   ",
        b"null",
        b"[]",
        b"[1, 2]",
        b'"text"',
        b"1",
        b"true",
        b"NaN",
        b"{",
        b"{not json",
        b'{"a":1}}',
        b"{'KeyId': 'x'}",
        b'{"KeyId": "x",}',
        b"\xff\xfe{\x00}\x00",
        b"\xef\xbb\xbf{}",
        b'{"KeyId": "\xff"}',
        b'{"KeyId": "\\ud800"}',
        b'{"KeyId": "\\udc00\\ud800"}',
        b'{"KeyId": "\x00"}',
        b'{"KeyId": "a\\u0000b"}',
        b"{}\x00",
        b'{"a": NaN, "b": Infinity, "c": -Infinity}',
    ]
)


def bodies(operation: str, values: ModelValues) -> st.SearchStrategy[bytes]:
    """Raw request bodies for ``operation``: mostly model-derived objects, sometimes with a
    member duplicated or an unknown one added, sometimes no object at all."""
    shape = MODEL["operations"][operation].get("input", {}).get("shape")
    members: st.SearchStrategy[dict[str, Any]] = values.structure(shape) if shape else st.just({})

    def duplicate(body: dict[str, Any], extra: Any, first: bool) -> Pairs:
        items = list(body.items())
        if not items:
            return Pairs((("KeyId", extra), ("KeyId", "x")))
        twin = (items[0][0], extra)
        return Pairs(tuple([twin, *items] if first else [*items, twin]))

    objects: st.SearchStrategy[Any] = st.one_of(
        members,
        members,
        members,
        members,
        st.builds(duplicate, members, HOSTILE, st.booleans()),
        st.builds(lambda body, v: {**body, "Unknown": v}, members, HOSTILE),
        NESTED,
    )
    over_cap = st.integers(1, 5).map(lambda n: b"{" + b" " * (MAX_BODY + n) + b"}")
    broken = st.one_of(*[BROKEN_BODIES] * 7, over_cap)  # 1 MiB bodies, sparingly
    return st.one_of(
        objects.map(lambda body: to_json(body).encode("utf-8", "surrogatepass")),
        objects.map(lambda body: to_json(body).encode("utf-8", "surrogatepass")),
        objects.map(lambda body: to_json(body).encode("utf-8", "surrogatepass")),
        objects.map(lambda body: to_json(body).encode("utf-8", "surrogatepass")),
        broken,
        broken,
    )


def targets(operation: str) -> st.SearchStrategy[str | None]:
    """X-Amz-Target values: mostly the operation's, else every way of getting it wrong."""
    right = TARGET_PREFIX + operation
    wrong = st.one_of(
        st.none(),
        st.sampled_from(
            [
                "",
                TARGET_PREFIX,
                TARGET_PREFIX + "NoSuchThing",
                "trentservice." + operation,
                TARGET_PREFIX + operation.lower(),
                TARGET_PREFIX + operation + " ",
                " " + right,
                "Other." + operation,
                operation,
                right + "." + operation,
                TARGET_PREFIX + "__init__",
                TARGET_PREFIX + "../" + operation,
            ]
        ),
        st.sampled_from(OPERATIONS).map(lambda other: TARGET_PREFIX + other),
        st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300),
    )
    return st.one_of(st.just(right), st.just(right), st.just(right), st.just(right), wrong)


# How a request is (or is not) authenticated; "signed" is the admin, "user" a user with
# no policy. The rest are refused before routing.
AUTH_MODES = (
    "signed",
    "signed",
    "signed",
    "signed",
    "signed",
    "signed",
    "user",
    "unsigned",
    "wrong-secret",
    "unknown-key",
    "huge-key",
    "garbage",
    "tampered",
    "expired",
    "other-region",
)
auth_modes = st.sampled_from(AUTH_MODES)
GARBAGE_AUTHORIZATION = st.one_of(
    st.sampled_from(
        [
            "",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential=",
            "AWS4-HMAC-SHA256 Credential=AKIA/20200101/us-east-1/kms/aws4_request, "
            "SignedHeaders=host, Signature=zz",
            "AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f/g/h, SignedHeaders=;;;, Signature=",
            "Bearer token",
            "AWS AKIAEXAMPLE:signature",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=200),
)
