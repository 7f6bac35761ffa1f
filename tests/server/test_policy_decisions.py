"""The authorization decision table: key policies, identity policies, grants and conditions
combined as AWS combines them, one row per case, plus properties over random policies.

Each row names its expected outcome: ``allow``, or the reason AccessDeniedException gives.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.server.access.authorization import condition_keys, decide
from sealbox.server.access.conditions import ContextValue
from sealbox.server.access.grant_rules import Grant
from sealbox.server.access.policy_language import Policy
from sealbox.server.access.principals import Principal
from sealbox.server.errors import AccessDeniedException

ACCT = "111122223333"
OTHER = "444455556666"
ALICE = Principal("AKIAALICE", ACCT, "alice", False, "secret")
BOB_ARN = f"arn:aws:iam::{ACCT}:user/bob"
ALICE_ARN = ALICE.arn
CAROL = Principal("AKIACAROL", OTHER, "carol", False, "secret")
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = f"arn:aws:kms:us-east-1:{OTHER}:key/0000abcd-12ab-34cd-56ef-1234567890ab"
NOW = 1_800_000_000.0  # 2027-01-15

ALLOW = "allow"
NO_RESOURCE = "no resource-based policy allows"
NO_IDENTITY = "no identity-based policy allows"
DENY_RESOURCE = "explicit deny in a resource-based policy"
DENY_IDENTITY = "explicit deny in an identity-based policy"
CROSS = "cannot be used across accounts"

Stmt = dict[str, Any]


def root(account: str = ACCT, action: Any = "kms:*", **more: Any) -> Stmt:
    """The default key policy's statement: delegate to the account's identity policies."""
    return {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": action,
        "Resource": "*",
        **more,
    }


def user(
    arn: str | list[str] = ALICE_ARN, action: Any = "kms:*", effect: str = "Allow", **more: Any
) -> Stmt:
    return {"Effect": effect, "Principal": {"AWS": arn}, "Action": action, "Resource": "*", **more}


def anyone(action: Any = "kms:*", effect: str = "Allow", **more: Any) -> Stmt:
    return {"Effect": effect, "Principal": "*", "Action": action, "Resource": "*", **more}


def ident(action: Any = "kms:*", effect: str = "Allow", resource: Any = "*", **more: Any) -> Stmt:
    return {"Effect": effect, "Action": action, "Resource": resource, **more}


def cond(operator: str, key: str, value: Any) -> dict[str, Any]:
    return {"Condition": {operator: {key: value}}}


def grant(
    grantee: str = ALICE_ARN,
    operations: Sequence[str] = ("Encrypt", "Decrypt"),
    subset: dict[str, str] | None = None,
    equals: dict[str, str] | None = None,
) -> Grant:
    return Grant(
        grant_id="0" * 64,
        key_id="k",
        name="",
        grantee=grantee,
        retiring=None,
        operations=frozenset(operations),
        context_subset=subset,
        context_equals=equals,
        issuing_account=ACCT,
        created_at=0.0,
        token="t",
    )


@dataclass
class Case:
    name: str
    expected: str
    key_policy: list[Stmt] | None = None  # None: an operation no key governs
    identity: list[Stmt] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    action: str = "Encrypt"
    ec: dict[str, str] | None = None
    extra: dict[str, ContextValue] = field(default_factory=dict)
    principal: Principal = ALICE
    key: str = KEY
    source_ip: str = "127.0.0.1"
    secure: bool = False


def outcome(case: Case) -> str:
    key_account = case.key.split(":")[4] if case.key_policy is not None else None
    try:
        decide(
            principal=case.principal,
            action=case.action,
            resource=case.key if case.key_policy is not None else "*",
            resource_account=key_account,
            context=condition_keys(
                case.principal,
                region="us-east-1",
                source_ip=case.source_ip,
                secure_transport=case.secure,
                now=NOW,
                encryption_context=case.ec,
                extra=case.extra,
            ),
            identity_policies=[_policy(case.identity, key_policy=False)] if case.identity else [],
            key_policy=_policy(case.key_policy, key_policy=True)
            if case.key_policy is not None
            else None,
            grants=case.grants,
            encryption_context=case.ec,
        )
    except AccessDeniedException as denied:
        for reason in (NO_RESOURCE, NO_IDENTITY, DENY_RESOURCE, DENY_IDENTITY, CROSS):
            if reason in denied.message:
                return reason
        raise AssertionError(f"unexpected denial wording: {denied.message}") from None
    return ALLOW


def _policy(statements: list[Stmt], *, key_policy: bool) -> Policy:
    return Policy.parse(
        json.dumps({"Version": "2012-10-17", "Statement": statements}), key_policy=key_policy
    )


EC_HR = {"Department": "HR"}

# -- operations no key governs: identity policies alone ------------------------------------
# fmt: off
IDENTITY_ONLY = [
    Case("nothing attached", NO_IDENTITY, action="CreateKey"),
    Case("kms:*", ALLOW, identity=[ident()], action="CreateKey"),
    Case("exact action", ALLOW, identity=[ident("kms:CreateKey")], action="CreateKey"),
    Case("identity action case-insensitive", ALLOW, identity=[ident("KMS:createkey")], action="CreateKey"),
    Case("action prefix wildcard", ALLOW, identity=[ident("kms:Create*")], action="CreateKey"),
    Case("action ? wildcard", ALLOW, identity=[ident("kms:Create?ey")], action="CreateKey"),
    Case("other action", NO_IDENTITY, identity=[ident("kms:Encrypt")], action="CreateKey"),
    Case("list of actions", ALLOW, identity=[ident(["kms:A", "kms:ListKeys"])], action="ListKeys"),
    Case("NotAction excludes other", ALLOW, identity=[{"Effect": "Allow", "NotAction": "kms:Decrypt", "Resource": "*"}], action="ListKeys"),
    Case("NotAction excludes it", NO_IDENTITY, identity=[{"Effect": "Allow", "NotAction": "kms:ListKeys", "Resource": "*"}], action="ListKeys"),
    Case("other service", NO_IDENTITY, identity=[ident("s3:*")], action="ListKeys"),
    Case("explicit deny", DENY_IDENTITY, identity=[ident(), ident("kms:CreateKey", "Deny")], action="CreateKey"),
    Case("deny other action", ALLOW, identity=[ident(), ident("kms:Decrypt", "Deny")], action="CreateKey"),
    Case("deny alone", DENY_IDENTITY, identity=[ident("kms:*", "Deny")], action="GenerateRandom"),
    Case("key resource does not cover *", NO_IDENTITY, identity=[ident(resource=f"arn:aws:kms:us-east-1:{ACCT}:key/*")], action="CreateKey"),
    Case("region condition holds", ALLOW, identity=[ident(**cond("StringEquals", "aws:RequestedRegion", "us-east-1"))], action="CreateKey"),
    Case("region condition fails", NO_IDENTITY, identity=[ident(**cond("StringEquals", "aws:RequestedRegion", "eu-west-1"))], action="CreateKey"),
    Case("source ip in range", ALLOW, identity=[ident(**cond("IpAddress", "aws:SourceIp", "127.0.0.0/8"))], action="ListAliases"),
    Case("source ip out of range", NO_IDENTITY, identity=[ident(**cond("IpAddress", "aws:SourceIp", "10.0.0.0/8"))], action="ListAliases"),
    Case("NotIpAddress denies internal", DENY_IDENTITY, identity=[ident(), ident("kms:*", "Deny", **cond("NotIpAddress", "aws:SourceIp", "10.0.0.0/8"))], action="ListKeys"),
    Case("NotIpAddress spares range", ALLOW, identity=[ident(), ident("kms:*", "Deny", **cond("NotIpAddress", "aws:SourceIp", "127.0.0.0/8"))], action="ListKeys"),
    Case("ipv6 source", ALLOW, identity=[ident(**cond("IpAddress", "aws:SourceIp", "::1/128"))], action="ListKeys", source_ip="::1"),
    Case("Bool SecureTransport false", NO_IDENTITY, identity=[ident(**cond("Bool", "aws:SecureTransport", "true"))], action="ListKeys"),
    Case("Bool SecureTransport true", ALLOW, identity=[ident(**cond("Bool", "aws:SecureTransport", True))], action="ListKeys", secure=True),
    Case("deny without TLS", DENY_IDENTITY, identity=[ident(), ident("kms:*", "Deny", **cond("Bool", "aws:SecureTransport", "false"))], action="ListKeys"),
    Case("date before", ALLOW, identity=[ident(**cond("DateLessThan", "aws:CurrentTime", "2030-01-01T00:00:00Z"))], action="ListKeys"),
    Case("date after", NO_IDENTITY, identity=[ident(**cond("DateGreaterThan", "aws:CurrentTime", "2030-01-01T00:00:00Z"))], action="ListKeys"),
    Case("date epoch form", ALLOW, identity=[ident(**cond("DateGreaterThanEquals", "aws:CurrentTime", "1700000000"))], action="ListKeys"),
    Case("epoch numeric", ALLOW, identity=[ident(**cond("NumericLessThan", "aws:EpochTime", "1900000000"))], action="ListKeys"),
    Case("epoch numeric fails", NO_IDENTITY, identity=[ident(**cond("NumericLessThan", "aws:EpochTime", 1700000000))], action="ListKeys"),
    Case("principal arn", ALLOW, identity=[ident(**cond("ArnLike", "aws:PrincipalArn", f"arn:aws:iam::{ACCT}:user/al*"))], action="ListKeys"),
    Case("principal arn other", NO_IDENTITY, identity=[ident(**cond("ArnEquals", "aws:PrincipalArn", BOB_ARN))], action="ListKeys"),
    Case("caller account", ALLOW, identity=[ident(**cond("StringEquals", "kms:CallerAccount", ACCT))], action="ListKeys"),
    Case("caller account other", NO_IDENTITY, identity=[ident(**cond("StringEquals", "kms:CallerAccount", OTHER))], action="ListKeys"),
    Case("two operators ANDed", NO_IDENTITY, identity=[ident(Condition={"StringEquals": {"kms:CallerAccount": ACCT}, "Bool": {"aws:SecureTransport": "true"}})], action="ListKeys"),
    Case("values ORed", ALLOW, identity=[ident(**cond("StringEquals", "kms:CallerAccount", [OTHER, ACCT]))], action="ListKeys"),
    Case("two keys ANDed", NO_IDENTITY, identity=[ident(Condition={"StringEquals": {"kms:CallerAccount": ACCT, "aws:RequestedRegion": "eu-west-1"}})], action="ListKeys"),
    Case("missing key fails", NO_IDENTITY, identity=[ident(**cond("StringEquals", "aws:SourceVpc", "vpc-1"))], action="ListKeys"),
    Case("missing key IfExists", ALLOW, identity=[ident(**cond("StringEqualsIfExists", "aws:SourceVpc", "vpc-1"))], action="ListKeys"),
    Case("Null true on missing", ALLOW, identity=[ident(**cond("Null", "aws:SourceVpc", "true"))], action="ListKeys"),
    Case("Null false on missing", NO_IDENTITY, identity=[ident(**cond("Null", "aws:SourceVpc", "false"))], action="ListKeys"),
    Case("condition key case-insensitive", ALLOW, identity=[ident(**cond("StringEquals", "KMS:CALLERACCOUNT", ACCT))], action="ListKeys"),
]
# fmt: on

# -- key policies: who the statement names --------------------------------------------------
# fmt: off
KEY_PRINCIPALS = [
    Case("default policy, no identity policy", NO_IDENTITY, key_policy=[root()]),
    Case("default policy + identity kms:*", ALLOW, key_policy=[root()], identity=[ident()]),
    Case("default policy + identity other action", NO_IDENTITY, key_policy=[root()], identity=[ident("kms:Decrypt")]),
    Case("default policy + identity for this key", ALLOW, key_policy=[root()], identity=[ident(resource=KEY)]),
    Case("default policy + identity for another key", NO_IDENTITY, key_policy=[root()], identity=[ident(resource=OTHER_KEY)]),
    Case("default policy + identity key wildcard", ALLOW, key_policy=[root()], identity=[ident(resource=f"arn:aws:kms:*:{ACCT}:key/*")]),
    Case("default policy + identity alias resource", NO_IDENTITY, key_policy=[root()], identity=[ident(resource=f"arn:aws:kms:us-east-1:{ACCT}:alias/*")]),
    Case("bare account id principal", ALLOW, key_policy=[{**root(), "Principal": {"AWS": ACCT}}], identity=[ident()]),
    Case("bare account id without identity", NO_IDENTITY, key_policy=[{**root(), "Principal": {"AWS": ACCT}}]),
    Case("user named", ALLOW, key_policy=[user()]),
    Case("user named in a list", ALLOW, key_policy=[user([BOB_ARN, ALICE_ARN])]),
    Case("other user named", NO_RESOURCE, key_policy=[user(BOB_ARN)]),
    Case("other user named, identity allows", NO_RESOURCE, key_policy=[user(BOB_ARN)], identity=[ident()]),
    Case("Principal *", ALLOW, key_policy=[anyone()]),
    Case("Principal AWS *", ALLOW, key_policy=[user("*")]),
    Case("other account root", NO_RESOURCE, key_policy=[root(OTHER)], identity=[ident()]),
    Case("no statement for anyone", NO_RESOURCE, key_policy=[user(BOB_ARN, "kms:Decrypt")]),
    Case("action wildcard Gen*", ALLOW, key_policy=[user(action="kms:Gen*")], action="GenerateDataKey"),
    Case("action wildcard Gen* other", NO_RESOURCE, key_policy=[user(action="kms:Gen*")], action="Encrypt"),
    Case("action case-insensitive", ALLOW, key_policy=[user(action="KMS:encrypt")]),
    Case("action list", ALLOW, key_policy=[user(action=["kms:Decrypt", "kms:Encrypt"])]),
    Case("NotAction other", ALLOW, key_policy=[{"Effect": "Allow", "Principal": {"AWS": ALICE_ARN}, "NotAction": "kms:Decrypt", "Resource": "*"}]),
    Case("NotAction it", NO_RESOURCE, key_policy=[{"Effect": "Allow", "Principal": {"AWS": ALICE_ARN}, "NotAction": "kms:Encrypt", "Resource": "*"}]),
    Case("resource exact", ALLOW, key_policy=[{**user(), "Resource": KEY}]),
    Case("resource other key", NO_RESOURCE, key_policy=[{**user(), "Resource": OTHER_KEY}]),
    Case("resource wildcard", ALLOW, key_policy=[{**user(), "Resource": "arn:aws:kms:*:*:key/*"}]),
    Case("NotResource other", ALLOW, key_policy=[{"Effect": "Allow", "Principal": {"AWS": ALICE_ARN}, "Action": "kms:*", "NotResource": OTHER_KEY}]),
    Case("NotResource this", NO_RESOURCE, key_policy=[{"Effect": "Allow", "Principal": {"AWS": ALICE_ARN}, "Action": "kms:*", "NotResource": KEY}]),
    Case("user named + root", ALLOW, key_policy=[root(), user(action="kms:Encrypt")]),
    Case("root + user for other action, identity", ALLOW, key_policy=[root(), user(action="kms:Decrypt")], identity=[ident("kms:Encrypt")]),
    Case("root for Decrypt only", NO_RESOURCE, key_policy=[root(action="kms:Decrypt")], identity=[ident()]),
    Case("admin actions only", NO_RESOURCE, key_policy=[user(action=["kms:Create*", "kms:Describe*", "kms:Put*"])]),
    Case("admin actions cover PutKeyPolicy", ALLOW, key_policy=[user(action=["kms:Create*", "kms:Put*"])], action="PutKeyPolicy"),
    Case("describe via Describe*", ALLOW, key_policy=[user(action="kms:Describe*")], action="DescribeKey"),
    Case("identity alone never enough", NO_RESOURCE, key_policy=[user(BOB_ARN)], identity=[ident(resource=KEY)]),
]
# fmt: on

# -- explicit deny --------------------------------------------------------------------------
# fmt: off
DENIES = [
    Case("key policy deny beats allow", DENY_RESOURCE, key_policy=[user(), user(effect="Deny")]),
    Case("key policy deny * beats identity", DENY_RESOURCE, key_policy=[root(), anyone("kms:Encrypt", "Deny")], identity=[ident()]),
    Case("key policy deny other action", ALLOW, key_policy=[user(), anyone("kms:Decrypt", "Deny")]),
    Case("key policy deny for bob", ALLOW, key_policy=[user(), user(BOB_ARN, effect="Deny")]),
    Case("key policy deny for the account", DENY_RESOURCE, key_policy=[user(), root(action="kms:Encrypt") | {"Effect": "Deny"}]),
    Case("identity deny beats key policy allow", DENY_IDENTITY, key_policy=[user()], identity=[ident("kms:Encrypt", "Deny")]),
    Case("identity deny on this key", DENY_IDENTITY, key_policy=[anyone()], identity=[ident(effect="Deny", resource=KEY)]),
    Case("identity deny on other key", ALLOW, key_policy=[anyone()], identity=[ident(effect="Deny", resource=OTHER_KEY)]),
    Case("deny beats grant", DENY_RESOURCE, key_policy=[anyone("kms:Encrypt", "Deny")], grants=[grant()]),
    Case("identity deny beats grant", DENY_IDENTITY, key_policy=[user(BOB_ARN)], identity=[ident("kms:*", "Deny")], grants=[grant()]),
    Case("deny on matching context", DENY_RESOURCE, key_policy=[user(), anyone("kms:Encrypt", "Deny", **cond("StringEquals", "kms:EncryptionContext:Department", "HR"))], ec=EC_HR),
    Case("deny on other context", ALLOW, key_policy=[user(), anyone("kms:Encrypt", "Deny", **cond("StringEquals", "kms:EncryptionContext:Department", "HR"))], ec={"Department": "IT"}),
    Case("deny on context, none given", ALLOW, key_policy=[user(), anyone("kms:Encrypt", "Deny", **cond("StringEquals", "kms:EncryptionContext:Department", "HR"))]),
    Case("deny unless context present", DENY_RESOURCE, key_policy=[user(), anyone("kms:Encrypt", "Deny", **cond("Null", "kms:EncryptionContextKeys", "true"))]),
    Case("deny unless context present, given", ALLOW, key_policy=[user(), anyone("kms:Encrypt", "Deny", **cond("Null", "kms:EncryptionContextKeys", "true"))], ec=EC_HR),
    Case("deny NotAction", DENY_RESOURCE, key_policy=[user(), {"Effect": "Deny", "Principal": "*", "NotAction": "kms:Decrypt", "Resource": "*"}]),
    Case("deny outside region", ALLOW, key_policy=[user(), anyone("kms:*", "Deny", **cond("StringNotEquals", "aws:RequestedRegion", "us-east-1"))]),
    Case("deny outside ip range", DENY_RESOURCE, key_policy=[user(), anyone("kms:*", "Deny", **cond("NotIpAddress", "aws:SourceIp", "192.168.0.0/16"))]),
    Case("deny by epoch", DENY_RESOURCE, key_policy=[user(), anyone("kms:*", "Deny", **cond("NumericGreaterThan", "aws:EpochTime", "1700000000"))]),
    Case("deny both denials: resource first", DENY_RESOURCE, key_policy=[user(), anyone(effect="Deny")], identity=[ident(effect="Deny")]),
]
# fmt: on

# -- conditions in key policy statements naming the caller --------------------------------


def on_context(
    operator: str, key: str, value: Any, ec: dict[str, str] | None, expected: str, **more: Any
) -> Case:
    label = f"{operator} {key}={value!r} with {ec} {more}"
    return Case(label, expected, key_policy=[user(**cond(operator, key, value))], ec=ec, **more)


ECK = "kms:EncryptionContext:Department"
KEYS = "kms:EncryptionContextKeys"
# fmt: off
CONDITIONS = [
    on_context("StringEquals", ECK, "HR", EC_HR, ALLOW),
    on_context("StringEquals", ECK, "HR", {"Department": "IT"}, NO_RESOURCE),
    on_context("StringEquals", ECK, "HR", None, NO_RESOURCE),
    on_context("StringEquals", ECK, "HR", {"Team": "HR"}, NO_RESOURCE),
    on_context("StringEquals", ECK, "hr", EC_HR, NO_RESOURCE),
    on_context("StringEquals", "kms:EncryptionContext:department", "HR", EC_HR, ALLOW),
    on_context("StringEquals", ECK, "HR", {"department": "HR"}, ALLOW),
    on_context("StringEquals", ECK, ["IT", "HR"], EC_HR, ALLOW),
    on_context("StringEquals", ECK, ["IT", "Ops"], EC_HR, NO_RESOURCE),
    on_context("StringEqualsIgnoreCase", ECK, "hr", EC_HR, ALLOW),
    on_context("StringEqualsIgnoreCase", ECK, "it", EC_HR, NO_RESOURCE),
    on_context("StringNotEquals", ECK, "HR", EC_HR, NO_RESOURCE),
    on_context("StringNotEquals", ECK, "HR", {"Department": "IT"}, ALLOW),
    on_context("StringNotEquals", ECK, "HR", None, ALLOW),
    on_context("StringNotEquals", ECK, ["IT", "HR"], EC_HR, NO_RESOURCE),
    on_context("StringNotEqualsIgnoreCase", ECK, "hr", EC_HR, NO_RESOURCE),
    on_context("StringLike", ECK, "H*", EC_HR, ALLOW),
    on_context("StringLike", ECK, "?R", EC_HR, ALLOW),
    on_context("StringLike", ECK, "?", EC_HR, NO_RESOURCE),
    on_context("StringLike", ECK, "I*", EC_HR, NO_RESOURCE),
    on_context("StringLike", ECK, "*", None, NO_RESOURCE),
    on_context("StringLike", "kms:EncryptionContext:*", "HR", EC_HR, NO_RESOURCE),
    on_context("StringNotLike", ECK, "I*", EC_HR, ALLOW),
    on_context("StringNotLike", ECK, "H*", EC_HR, NO_RESOURCE),
    on_context("StringEqualsIfExists", ECK, "HR", None, ALLOW),
    on_context("StringEqualsIfExists", ECK, "HR", EC_HR, ALLOW),
    on_context("StringEqualsIfExists", ECK, "HR", {"Department": "IT"}, NO_RESOURCE),
    on_context("StringLikeIfExists", ECK, "H*", {"Other": "x"}, ALLOW),
    on_context("StringLikeIfExists", ECK, "X*", EC_HR, NO_RESOURCE),
    on_context("ForAllValues:StringEquals", KEYS, ["Department", "Team"], EC_HR, ALLOW),
    on_context("ForAllValues:StringEquals", KEYS, ["Department", "Team"], {"Department": "HR", "Team": "a"}, ALLOW),
    on_context("ForAllValues:StringEquals", KEYS, ["Department", "Team"], {"Department": "HR", "Extra": "a"}, NO_RESOURCE),
    on_context("ForAllValues:StringEquals", KEYS, ["Department"], None, ALLOW),
    on_context("ForAllValues:StringLike", KEYS, ["Dep*"], EC_HR, ALLOW),
    on_context("ForAllValues:StringLike", KEYS, ["Dep*"], {"Department": "HR", "Other": "1"}, NO_RESOURCE),
    on_context("ForAnyValue:StringEquals", KEYS, "Department", {"Department": "HR", "Other": "1"}, ALLOW),
    on_context("ForAnyValue:StringEquals", KEYS, "Department", {"Other": "1"}, NO_RESOURCE),
    on_context("ForAnyValue:StringEquals", KEYS, "Department", None, NO_RESOURCE),
    on_context("ForAnyValue:StringLike", KEYS, ["Te*", "Dep*"], {"Team": "x"}, ALLOW),
    on_context("Null", KEYS, "false", EC_HR, ALLOW),
    on_context("Null", KEYS, "false", None, NO_RESOURCE),
    on_context("Null", KEYS, "true", None, ALLOW),
    on_context("Null", ECK, "true", EC_HR, NO_RESOURCE),
    on_context("Null", ECK, "true", {"Other": "x"}, ALLOW),
    on_context("Null", ECK, "false", EC_HR, ALLOW),
    on_context("StringEquals", "kms:RequestAlias", "alias/app", None, ALLOW, extra={"kms:requestalias": "alias/app"}),
    on_context("StringEquals", "kms:RequestAlias", "alias/app", None, NO_RESOURCE),
    on_context("StringLike", "kms:RequestAlias", "alias/app-*", None, ALLOW, extra={"kms:requestalias": "alias/app-blue"}),
    on_context("StringLike", "kms:RequestAlias", "alias/app-*", None, NO_RESOURCE, extra={"kms:requestalias": "alias/db"}),
    on_context("StringEquals", "kms:CallerAccount", ACCT, None, ALLOW),
    on_context("StringEquals", "kms:CallerAccount", OTHER, None, NO_RESOURCE),
    on_context("StringNotEquals", "kms:CallerAccount", OTHER, None, ALLOW),
    on_context("ArnEquals", "aws:PrincipalArn", ALICE_ARN, None, ALLOW),
    on_context("ArnLike", "aws:PrincipalArn", f"arn:aws:iam::{ACCT}:user/*", None, ALLOW),
    on_context("ArnNotLike", "aws:PrincipalArn", f"arn:aws:iam::{ACCT}:user/*", None, NO_RESOURCE),
    on_context("StringEquals", "aws:PrincipalArn", BOB_ARN, None, NO_RESOURCE),
    on_context("IpAddress", "aws:SourceIp", ["10.0.0.0/8", "127.0.0.1/32"], None, ALLOW),
    on_context("IpAddress", "aws:SourceIp", "10.0.0.0/8", None, NO_RESOURCE),
    on_context("IpAddress", "aws:SourceIp", "not-a-cidr", None, NO_RESOURCE),
    on_context("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", None, ALLOW),
    on_context("Bool", "aws:SecureTransport", "true", None, ALLOW, secure=True),
    on_context("Bool", "aws:SecureTransport", "true", None, NO_RESOURCE),
    on_context("BoolIfExists", "aws:SecureTransport", "false", None, ALLOW),
    on_context("DateLessThan", "aws:CurrentTime", "2027-02-01T00:00:00Z", None, ALLOW),
    on_context("DateLessThan", "aws:CurrentTime", "2027-01-01T00:00:00Z", None, NO_RESOURCE),
    on_context("DateGreaterThanEquals", "aws:CurrentTime", "2027-01-01", None, ALLOW),
    on_context("DateEquals", "aws:CurrentTime", "2027-01-15T08:00:00Z", None, ALLOW),
    on_context("DateNotEquals", "aws:CurrentTime", "2027-01-15T08:00:00Z", None, NO_RESOURCE),
    on_context("DateLessThanEquals", "aws:CurrentTime", "garbage", None, NO_RESOURCE),
    on_context("NumericEquals", "aws:EpochTime", "1800000000", None, ALLOW),
    on_context("NumericNotEquals", "aws:EpochTime", "1800000000", None, NO_RESOURCE),
    on_context("NumericGreaterThanEquals", "aws:EpochTime", "1800000000", None, ALLOW),
    on_context("NumericLessThanEquals", "aws:EpochTime", "1799999999", None, NO_RESOURCE),
    on_context("NumericLessThan", "aws:EpochTime", "abc", None, NO_RESOURCE),
    Case("rotation period within bound", ALLOW, key_policy=[user(**cond("NumericLessThanEquals", "kms:RotationPeriodInDays", "180"))], action="EnableKeyRotation", extra={"kms:rotationperiodindays": "90"}),
    Case("rotation period over bound", NO_RESOURCE, key_policy=[user(**cond("NumericLessThanEquals", "kms:RotationPeriodInDays", "180"))], action="EnableKeyRotation", extra={"kms:rotationperiodindays": "365"}),
    Case("pending window at least 30", ALLOW, key_policy=[user(**cond("NumericGreaterThanEquals", "kms:ScheduleKeyDeletionPendingWindowInDays", 30))], action="ScheduleKeyDeletion", extra={"kms:schedulekeydeletionpendingwindowindays": "30"}),
    Case("pending window too short", NO_RESOURCE, key_policy=[user(**cond("NumericGreaterThanEquals", "kms:ScheduleKeyDeletionPendingWindowInDays", 30))], action="ScheduleKeyDeletion", extra={"kms:schedulekeydeletionpendingwindowindays": "7"}),
    Case("grant operations all allowed", ALLOW, key_policy=[user(**cond("ForAllValues:StringEquals", "kms:GrantOperations", ["Encrypt", "Decrypt"]))], action="CreateGrant", extra={"kms:grantoperations": ("Decrypt",)}),
    Case("grant operations one too many", NO_RESOURCE, key_policy=[user(**cond("ForAllValues:StringEquals", "kms:GrantOperations", ["Encrypt", "Decrypt"]))], action="CreateGrant", extra={"kms:grantoperations": ("Decrypt", "CreateGrant")}),
    Case("grant operations any", ALLOW, key_policy=[user(**cond("ForAnyValue:StringEquals", "kms:GrantOperations", "Decrypt"))], action="CreateGrant", extra={"kms:grantoperations": ("Decrypt", "Encrypt")}),
    Case("grant must carry constraint", NO_RESOURCE, key_policy=[user(**cond("Bool", "kms:GrantConstraintPresent", "true"))], action="CreateGrant", extra={"kms:grantconstraintpresent": "false"}),
    Case("grant carries constraint", ALLOW, key_policy=[user(**cond("Bool", "kms:GrantConstraintPresent", "true"))], action="CreateGrant", extra={"kms:grantconstraintpresent": "true"}),
    Case("conditions in identity policy", ALLOW, key_policy=[root()], identity=[ident(**cond("StringEquals", ECK, "HR"))], ec=EC_HR),
    Case("conditions in identity policy fail", NO_IDENTITY, key_policy=[root()], identity=[ident(**cond("StringEquals", ECK, "HR"))], ec={"Department": "IT"}),
    Case("two statements, one matches", ALLOW, key_policy=[user(**cond("StringEquals", ECK, "IT")), user(**cond("StringEquals", ECK, "HR"))], ec=EC_HR),
]
# fmt: on

# -- grants -----------------------------------------------------------------------------------
BOB_ONLY = [user(BOB_ARN)]
# fmt: off
GRANTS = [
    Case("no grant", NO_RESOURCE, key_policy=BOB_ONLY),
    Case("grant to caller", ALLOW, key_policy=BOB_ONLY, grants=[grant()]),
    Case("grant to caller, Decrypt", ALLOW, key_policy=BOB_ONLY, grants=[grant()], action="Decrypt"),
    Case("grant lacks operation", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant()], action="GenerateDataKey"),
    Case("grant GenerateDataKey", ALLOW, key_policy=BOB_ONLY, grants=[grant(operations=["GenerateDataKey"])], action="GenerateDataKey"),
    Case("grant GDK without plaintext is separate", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(operations=["GenerateDataKey"])], action="GenerateDataKeyWithoutPlaintext"),
    Case("grant to someone else", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(BOB_ARN)]),
    Case("grant to the account root", NO_IDENTITY, key_policy=BOB_ONLY, grants=[grant(f"arn:aws:iam::{ACCT}:root")]),
    Case("grant to the account root + identity", ALLOW, key_policy=BOB_ONLY, grants=[grant(f"arn:aws:iam::{ACCT}:root")], identity=[ident()]),
    Case("grant ignores identity deny? no", DENY_IDENTITY, key_policy=BOB_ONLY, grants=[grant()], identity=[ident("kms:Encrypt", "Deny")]),
    Case("grant DescribeKey", ALLOW, key_policy=BOB_ONLY, grants=[grant(operations=["DescribeKey"])], action="DescribeKey"),
    Case("grant never covers admin actions", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(operations=sorted({"Encrypt", "Decrypt", "CreateGrant", "RetireGrant", "DescribeKey"}))], action="ScheduleKeyDeletion"),
    Case("grant ReEncryptFrom", ALLOW, key_policy=BOB_ONLY, grants=[grant(operations=["ReEncryptFrom"])], action="ReEncryptFrom"),
    Case("grant ReEncryptFrom is not To", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(operations=["ReEncryptFrom"])], action="ReEncryptTo"),
    Case("subset: exact", ALLOW, key_policy=BOB_ONLY, grants=[grant(subset=EC_HR)], ec=EC_HR),
    Case("subset: more pairs", ALLOW, key_policy=BOB_ONLY, grants=[grant(subset=EC_HR)], ec={"Department": "HR", "Project": "x"}),
    Case("subset: other value", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(subset=EC_HR)], ec={"Department": "IT"}),
    Case("subset: none given", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(subset=EC_HR)]),
    Case("subset: key case-sensitive", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(subset=EC_HR)], ec={"department": "HR"}),
    Case("subset: a case variant beside the pair", ALLOW, key_policy=BOB_ONLY, grants=[grant(subset=EC_HR)], ec={"Department": "HR", "DEPARTMENT": "IT"}),
    Case("subset: value case-sensitive", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(subset=EC_HR)], ec={"Department": "hr"}),
    Case("subset: two pairs, one given", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(subset={"a": "1", "b": "2"})], ec={"a": "1"}),
    Case("subset: empty allows any", ALLOW, key_policy=BOB_ONLY, grants=[grant(subset={})], ec={"x": "y"}),
    Case("equals: exact", ALLOW, key_policy=BOB_ONLY, grants=[grant(equals=EC_HR)], ec=EC_HR),
    Case("equals: more pairs", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(equals=EC_HR)], ec={"Department": "HR", "Project": "x"}),
    Case("equals: none given", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(equals=EC_HR)]),
    Case("equals: key case-sensitive", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(equals=EC_HR)], ec={"DEPARTMENT": "HR"}),
    Case("equals: a case variant added", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(equals={"tenant": "A"})], ec={"TENANT": "B", "tenant": "A"}),
    Case("equals: value case", NO_RESOURCE, key_policy=BOB_ONLY, grants=[grant(equals=EC_HR)], ec={"Department": "Hr"}),
    Case("equals: empty means no context", ALLOW, key_policy=BOB_ONLY, grants=[grant(equals={})]),
    Case("constraint ignored for DescribeKey", ALLOW, key_policy=BOB_ONLY, grants=[grant(operations=["DescribeKey"], equals=EC_HR)], action="DescribeKey"),
    Case("two grants, one matches", ALLOW, key_policy=BOB_ONLY, grants=[grant(equals={"a": "1"}), grant(subset=EC_HR)], ec=EC_HR),
    Case("grant plus key policy", ALLOW, key_policy=[user(action="kms:Decrypt")], grants=[grant(operations=["Encrypt"])]),
    Case("grant does not need identity (same account)", ALLOW, key_policy=[root()], grants=[grant()]),
]
# fmt: on

# -- across accounts ---------------------------------------------------------------------------
# fmt: off
CROSS_ACCOUNT = [
    Case("other account delegated + identity", ALLOW, key=OTHER_KEY, key_policy=[root(OTHER), root(ACCT)], identity=[ident()]),
    Case("other account delegated, no identity", NO_IDENTITY, key=OTHER_KEY, key_policy=[root(OTHER), root(ACCT)]),
    Case("other account names user, no identity", NO_IDENTITY, key=OTHER_KEY, key_policy=[user()]),
    Case("other account names user + identity", ALLOW, key=OTHER_KEY, key_policy=[user()], identity=[ident(resource=OTHER_KEY)]),
    Case("other account Principal *, no identity", NO_IDENTITY, key=OTHER_KEY, key_policy=[anyone()]),
    Case("other account key policy silent", NO_RESOURCE, key=OTHER_KEY, key_policy=[root(OTHER)], identity=[ident()]),
    Case("other account: identity for other resource", NO_IDENTITY, key=OTHER_KEY, key_policy=[root(ACCT)], identity=[ident(resource=KEY)]),
    Case("other account grant to user", ALLOW, key=OTHER_KEY, key_policy=[root(OTHER)], grants=[grant()]),
    Case("other account grant to account root", NO_IDENTITY, key=OTHER_KEY, key_policy=[root(OTHER)], grants=[grant(f"arn:aws:iam::{ACCT}:root")]),
    Case("other account grant to account root + identity", ALLOW, key=OTHER_KEY, key_policy=[root(OTHER)], grants=[grant(f"arn:aws:iam::{ACCT}:root")], identity=[ident()]),
    Case("other account deny in key policy", DENY_RESOURCE, key=OTHER_KEY, key_policy=[root(ACCT), root(ACCT) | {"Effect": "Deny"}], identity=[ident()]),
    Case("other account deny in identity", DENY_IDENTITY, key=OTHER_KEY, key_policy=[root(ACCT)], identity=[ident(), ident(effect="Deny", resource=OTHER_KEY)]),
    Case("caller account condition", ALLOW, key=OTHER_KEY, key_policy=[anyone(**cond("StringEquals", "kms:CallerAccount", ACCT))], identity=[ident()]),
    Case("caller account condition fails", NO_RESOURCE, key=OTHER_KEY, key_policy=[anyone(**cond("StringEquals", "kms:CallerAccount", OTHER))], identity=[ident()]),
    Case("other account Decrypt", ALLOW, key=OTHER_KEY, key_policy=[root(ACCT)], identity=[ident()], action="Decrypt"),
    Case("other account DescribeKey", ALLOW, key=OTHER_KEY, key_policy=[root(ACCT)], identity=[ident()], action="DescribeKey"),
    Case("other account CreateGrant", ALLOW, key=OTHER_KEY, key_policy=[root(ACCT)], identity=[ident()], action="CreateGrant"),
    Case("other account ScheduleKeyDeletion", CROSS, key=OTHER_KEY, key_policy=[root(ACCT)], identity=[ident()], action="ScheduleKeyDeletion"),
    Case("other account PutKeyPolicy", CROSS, key=OTHER_KEY, key_policy=[anyone()], identity=[ident()], action="PutKeyPolicy"),
    Case("other account DisableKey", CROSS, key=OTHER_KEY, key_policy=[anyone()], identity=[ident()], action="DisableKey"),
    Case("other account GetKeyPolicy", CROSS, key=OTHER_KEY, key_policy=[anyone()], identity=[ident()], action="GetKeyPolicy"),
    Case("other-account caller on our key", ALLOW, principal=CAROL, key_policy=[root(OTHER)], identity=[ident()]),
    Case("other-account caller, our default policy", NO_RESOURCE, principal=CAROL, key_policy=[root(ACCT)], identity=[ident()]),
]
# fmt: on

ALL_CASES = IDENTITY_ONLY + KEY_PRINCIPALS + DENIES + CONDITIONS + GRANTS + CROSS_ACCOUNT


def test_the_table_is_large_and_its_names_unique() -> None:
    assert len(ALL_CASES) >= 200
    names = [case.name for case in ALL_CASES]
    assert len(set(names)) == len(names), [n for n in names if names.count(n) > 1]
    assert {case.expected for case in ALL_CASES} == {
        ALLOW,
        NO_RESOURCE,
        NO_IDENTITY,
        DENY_RESOURCE,
        DENY_IDENTITY,
        CROSS,
    }


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_decision(case: Case) -> None:
    assert outcome(case) == case.expected


def test_denial_message_is_worded_as_aws() -> None:
    with pytest.raises(AccessDeniedException) as denied:
        decide(
            principal=ALICE,
            action="GenerateDataKey",
            resource=KEY,
            resource_account=ACCT,
            context={},
            identity_policies=[],
            key_policy=_policy([root()], key_policy=True),
        )
    assert denied.value.message == (
        f"User: {ALICE_ARN} is not authorized to perform: kms:GenerateDataKey on resource: {KEY} "
        "because no identity-based policy allows the kms:GenerateDataKey action"
    )


# -- delegating grants (CreateGrant through a grant) --------------------------------------


@pytest.mark.parametrize(
    ("held", "operations", "subset", "equals", "expected"),
    [
        (grant(operations=["CreateGrant", "Decrypt"]), {"Decrypt"}, None, None, True),
        (
            grant(operations=["CreateGrant", "Decrypt"]),
            {"Decrypt", "CreateGrant"},
            None,
            None,
            True,
        ),
        (grant(operations=["CreateGrant", "Decrypt"]), {"Encrypt"}, None, None, False),
        (grant(operations=["Decrypt"]), {"Decrypt"}, None, None, False),
        (
            grant(operations=["CreateGrant", "Decrypt"], subset=EC_HR),
            {"Decrypt"},
            None,
            None,
            False,
        ),
        (
            grant(operations=["CreateGrant", "Decrypt"], subset=EC_HR),
            {"Decrypt"},
            EC_HR,
            None,
            True,
        ),
        (
            grant(operations=["CreateGrant", "Decrypt"], subset=EC_HR),
            {"Decrypt"},
            {"Department": "HR", "x": "1"},
            None,
            True,
        ),
        # constraints compare exactly: a key differing by case is not the same constraint
        (
            grant(operations=["CreateGrant", "Decrypt"], subset=EC_HR),
            {"Decrypt"},
            {"department": "HR", "x": "1"},
            None,
            False,
        ),
        (
            grant(operations=["CreateGrant", "Decrypt"], equals=EC_HR),
            {"Decrypt"},
            None,
            {"DEPARTMENT": "HR"},
            False,
        ),
        (
            grant(operations=["CreateGrant", "Decrypt"], subset=EC_HR),
            {"Decrypt"},
            None,
            {"Department": "HR", "x": "1"},
            True,
        ),
        (
            grant(operations=["CreateGrant", "Decrypt"], subset=EC_HR),
            {"Decrypt"},
            {"Department": "IT"},
            None,
            False,
        ),
        (
            grant(operations=["CreateGrant", "Decrypt"], equals=EC_HR),
            {"Decrypt"},
            EC_HR,
            None,
            False,
        ),
        (
            grant(operations=["CreateGrant", "Decrypt"], equals=EC_HR),
            {"Decrypt"},
            None,
            EC_HR,
            True,
        ),
        (
            grant(operations=["CreateGrant", "Decrypt"], equals=EC_HR),
            {"Decrypt"},
            None,
            {"Department": "HR", "x": "1"},
            False,
        ),
    ],
)
def test_a_grantee_passes_on_no_more_than_it_holds(
    held: Grant,
    operations: set[str],
    subset: dict[str, str] | None,
    equals: dict[str, str] | None,
    expected: bool,
) -> None:
    assert held.may_delegate(frozenset(operations), subset, equals) is expected


# -- properties ----------------------------------------------------------------------------

ACTIONS = ["Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey", "ReEncryptFrom"]
ACTION_PATTERNS = st.sampled_from(
    ["kms:*", "kms:Encrypt", "kms:Decrypt", "kms:Gen*", "kms:*crypt", "kms:Describe*"]
)
PRINCIPALS = st.sampled_from(
    [
        {"AWS": f"arn:aws:iam::{ACCT}:root"},
        {"AWS": ALICE_ARN},
        {"AWS": BOB_ARN},
        "*",
        {"AWS": f"arn:aws:iam::{OTHER}:root"},
    ]
)
CONDITION_BLOCKS = st.sampled_from(
    [
        None,
        {"StringEquals": {ECK: "HR"}},
        {"StringNotEquals": {ECK: "HR"}},
        {"ForAllValues:StringEquals": {KEYS: ["Department"]}},
        {"Null": {KEYS: "true"}},
        {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
    ]
)
CONTEXTS = st.sampled_from([None, EC_HR, {"Department": "IT"}, {"Department": "HR", "x": "y"}])


@st.composite
def key_statements(draw: st.DrawFn, effect: str | None = None) -> Stmt:
    statement: Stmt = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        "Principal": draw(PRINCIPALS),
        "Action": draw(ACTION_PATTERNS),
        "Resource": "*",
    }
    block = draw(CONDITION_BLOCKS)
    if block:
        statement["Condition"] = block
    return statement


@st.composite
def identity_statements(draw: st.DrawFn, effect: str | None = None) -> Stmt:
    statement: Stmt = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        "Action": draw(ACTION_PATTERNS),
        "Resource": draw(st.sampled_from(["*", KEY, OTHER_KEY])),
    }
    block = draw(CONDITION_BLOCKS)
    if block:
        statement["Condition"] = block
    return statement


@st.composite
def grants(draw: st.DrawFn) -> Grant:
    return grant(
        grantee=draw(st.sampled_from([ALICE_ARN, BOB_ARN, f"arn:aws:iam::{ACCT}:root"])),
        operations=draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3)),
        subset=draw(st.sampled_from([None, EC_HR])),
        equals=None,
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    return Case(
        "random",
        "",
        key_policy=draw(st.lists(key_statements(), min_size=1, max_size=4)),
        identity=draw(st.lists(identity_statements(), max_size=3)),
        grants=draw(st.lists(grants(), max_size=2)),
        action=draw(st.sampled_from(ACTIONS)),
        ec=draw(CONTEXTS),
    )


@settings(max_examples=400, deadline=None)
@given(cases(), st.data())
def test_adding_a_deny_never_allows_more(case: Case, data: st.DataObject) -> None:
    before = outcome(case) == ALLOW
    if data.draw(st.booleans()):
        case.key_policy = [*(case.key_policy or []), data.draw(key_statements("Deny"))]
    else:
        case.identity = [*case.identity, data.draw(identity_statements("Deny"))]
    after = outcome(case) == ALLOW
    assert not after or before


@settings(max_examples=400, deadline=None)
@given(cases(), grants())
def test_adding_a_grant_never_removes_a_permission(case: Case, extra: Grant) -> None:
    before = outcome(case) == ALLOW
    case.grants = [*case.grants, extra]
    assert outcome(case) == ALLOW or not before


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ACTIONS),
    CONTEXTS,
    st.lists(key_statements("Deny"), max_size=3),
    st.lists(identity_statements("Deny"), max_size=3),
)
def test_without_any_allow_the_answer_is_deny(
    action: str, ec: dict[str, str] | None, key_denies: list[Stmt], identity_denies: list[Stmt]
) -> None:
    # a key policy needs a statement; one that names nobody here allows nothing
    silent = user(f"arn:aws:iam::{OTHER}:user/nobody")
    case = Case(
        "random",
        "",
        key_policy=[silent, *key_denies],
        identity=identity_denies,
        action=action,
        ec=ec,
    )
    assert outcome(case) != ALLOW
    identity_only = Case("random", "", identity=identity_denies, action="CreateKey")
    assert outcome(identity_only) != ALLOW
