"""Issue 10, items 1, 9 and 10: linear-time policy matching with size quotas and a work
budget; encryption context case handled fail-closed; the condition keys AWS sets."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.errors import UsageError
from sealbox.server.access.conditions import encryption_context_keys
from sealbox.server.access.policy_language import (
    KEY_POLICY_MAX_BYTES,
    Policy,
    Request,
    policy_chars,
)
from sealbox.server.access.wildcards import ArnPattern, Glob
from tests.server.harness import DEV_ACCOUNT, InProcessServer, error_of

ADMIN_ARN = f"arn:aws:iam::{DEV_ACCOUNT}:user/alice"
DEV_ARN = f"arn:aws:iam::{DEV_ACCOUNT}:user/dev"
ROOT = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{DEV_ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
DENIED_BY_KEY_POLICY = "with an explicit deny in a resource-based policy"


def document(*statements: dict[str, Any], ascii_only: bool = True) -> str:
    body = {"Version": "2012-10-17", "Statement": list(statements)}
    return json.dumps(body, ensure_ascii=ascii_only)


def deny(action: str | list[str], operator: str, key: str, value: Any) -> dict[str, Any]:
    return {
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": "*",
        "Condition": {operator: {key: value}},
    }


def denied_by_key_policy(call: Any, **kwargs: Any) -> None:
    code, message = error_of(call, **kwargs)
    assert code == "AccessDeniedException", (code, message)
    assert message.endswith(DENIED_BY_KEY_POLICY), message


# -- item 1: the glob --------------------------------------------------------------------------


def reference(pattern: str, value: str) -> bool:
    """The semantics, by a regular expression (fine on small inputs only)."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(body, value, re.DOTALL) is not None


@settings(max_examples=3000, deadline=None)
@given(
    pattern=st.text(alphabet="ab*?-:", max_size=12),
    value=st.text(alphabet="ab-:\n", max_size=14),
)
def test_glob_matches_as_the_reference(pattern: str, value: str) -> None:
    assert Glob(pattern).match(value) is reference(pattern, value)


ISSUE_PATTERN = "*-*-*-*-*-*-*-*-*-*-*-*!"


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        (ISSUE_PATTERN, "-" * 60, False),
        (ISSUE_PATTERN, "-" * 60 + "!", True),
        (ISSUE_PATTERN, "-" * 10 + "!", False),
        (ISSUE_PATTERN, "-" * 11 + "!", True),
        (ISSUE_PATTERN, "a-" * 30 + "!", True),
        ("*" * 40 + "x", "y" * 8192, False),
        ("*a?a?a?b*", "a" * 8192, False),
        ("*a?a?a?b*", "a" * 8192 + "aab", True),
        ("?" * 5, "abcde", True),
        ("?" * 5, "abcd", False),
        ("a*a", "a", False),
        ("*", "", True),
        ("", "", True),
        ("", "x", False),
        ("x*y*z", "xyz", True),
        ("x*y*z", "xzy", False),
    ],
)
def test_glob_cases(pattern: str, value: str, expected: bool) -> None:
    assert Glob(pattern).match(value) is expected


def test_the_issue_pattern_in_a_key_policy_decides_correctly() -> None:
    policy = Policy.parse(
        document(deny("kms:Encrypt", "StringLike", "kms:EncryptionContext:v", ISSUE_PATTERN)),
        key_policy=True,
    )

    def verdict(value: str) -> bool:
        context = encryption_context_keys({"v": value})
        request = Request(ADMIN_ARN, DEV_ACCOUNT, "kms:Encrypt", "*", context)
        return policy.evaluate(request).deny

    assert verdict("-" * 60) is False
    assert verdict("-" * 60 + "!") is True


def test_actions_match_case_insensitively_resources_not() -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": ADMIN_ARN},
        "Action": "KMS:Gen*",
        "Resource": "arn:aws:kms:*:key/ABC",
    }
    policy = Policy.parse(document(ROOT, statement), key_policy=True)

    def allowed(resource: str) -> bool:
        request = Request(ADMIN_ARN, DEV_ACCOUNT, "kms:GenerateDataKey", resource, {})
        return policy.evaluate(request).allow_direct

    assert allowed("arn:aws:kms:us-east-1:1:key/ABC")
    assert not allowed("arn:aws:kms:us-east-1:1:key/abc")


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        (f"arn:aws:kms:*:{DEV_ACCOUNT}:key/*", f"arn:aws:kms:eu-west-1:{DEV_ACCOUNT}:key/k", True),
        (f"arn:aws:kms:us-?ast-1:{DEV_ACCOUNT}:*", f"arn:aws:kms:us-east-1:{DEV_ACCOUNT}:k", True),
        # a wildcard stays within its part: "*" cannot stand for "region:account"
        ("arn:aws:kms:*:key/k", f"arn:aws:kms:us-east-1:{DEV_ACCOUNT}:key/k", False),
        ("arn:aws:*", f"arn:aws:kms:us-east-1:{DEV_ACCOUNT}:key/k", False),
        # the sixth part keeps its colons
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b:c", True),
        ("arn:aws:kms:*:*:KEY/*", f"arn:aws:kms:us-east-1:{DEV_ACCOUNT}:key/k", False),
        ("arn:aws:kms:*:*:key/*", "not-an-arn", False),
    ],
)
def test_arn_patterns_match_part_by_part(pattern: str, value: str, expected: bool) -> None:
    assert ArnPattern(pattern).match(value) is expected


def costly_verdict(patterns: list[str], value: str) -> Any:
    policy = Policy.parse(
        document(
            {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},
            deny("kms:Encrypt", "StringLike", "kms:EncryptionContext:v", patterns),
        ),
        key_policy=True,
    )
    context = encryption_context_keys({"v": value})
    return policy.evaluate(Request(ADMIN_ARN, DEV_ACCOUNT, "kms:Encrypt", "*", context))


def test_a_policy_built_to_be_costly_denies_instead_of_stalling() -> None:
    # thousands of unanchored patterns, each scanning an 8 KiB value to its end: more work
    # than EVALUATION_BUDGET allows, so the request is refused as by an explicit Deny
    many = [f"*a{i:04d}*" for i in range(2000)]
    costly = costly_verdict(many, "a" * 8192)
    assert costly.deny and costly.too_costly  # the refusal says why (see test below)
    # a few such patterns on the same value are evaluated: the Deny does not apply
    few = costly_verdict(many[:5], "a" * 8192)
    assert not few.deny and few.allow_direct
    matched = costly_verdict(many[:5], "xa0003x")
    assert matched.deny and not matched.too_costly


def test_a_costly_policy_is_named_in_the_refusal(server: InProcessServer, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    patterns = [f"*a{i:04d}*" for i in range(300)]
    costly = deny("kms:Encrypt", "StringLike", "kms:EncryptionContext:v", patterns)
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=document(ROOT, costly))
    code, message = error_of(
        kms.encrypt, KeyId=key, Plaintext=b"x", EncryptionContext={"v": "a" * 8192}
    )
    assert code == "AccessDeniedException"
    assert "needs more work to evaluate than Sealbox allows" in message


def test_policy_variables_are_refused(server: InProcessServer, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    variable = deny("kms:Encrypt", "StringNotLike", "aws:PrincipalArn", "*/${aws:username}")
    code, message = error_of(kms.put_key_policy, KeyId=key, Policy=document(ROOT, variable))
    assert code == "MalformedPolicyDocumentException"
    assert message == (
        "The policy is not valid: Condition aws:PrincipalArn uses a policy variable (${...}), "
        "which Sealbox does not support"
    )


# -- item 1: size quotas at store time ----------------------------------------------------------


def padded_policy(size: int) -> str:
    """A valid key policy of exactly ``size`` bytes (padded with white space)."""
    text = document(ROOT)
    return text[:-1] + " " * (size - len(text)) + "}"


def test_key_policy_quota(server: InProcessServer, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.put_key_policy(KeyId=key, Policy=padded_policy(KEY_POLICY_MAX_BYTES))
    assert len(kms.get_key_policy(KeyId=key)["Policy"]) == KEY_POLICY_MAX_BYTES
    over = padded_policy(KEY_POLICY_MAX_BYTES + 1)
    expected = (
        "LimitExceededException",
        "The key policy is 32769 bytes; the quota for a key policy document is 32768 bytes.",
    )
    assert error_of(kms.put_key_policy, KeyId=key, Policy=over) == expected
    assert error_of(kms.create_key, Policy=over) == expected
    # bytes, not characters: 'é' is two bytes in UTF-8
    wide = document({**ROOT, "Sid": "é" * 16_400}, ascii_only=False)
    assert len(wide) < KEY_POLICY_MAX_BYTES < len(wide.encode())
    assert error_of(kms.put_key_policy, KeyId=key, Policy=wide)[0] == "LimitExceededException"


def test_identity_policy_quota(server: InProcessServer) -> None:
    allow = {"Effect": "Allow", "Action": "kms:Describe*", "Resource": "*"}

    def size(count: int) -> int:  # as IAM counts: characters without white space
        return policy_chars(document(*[allow] * count))

    assert size(20) == 1218 and size(33) == 1985 and size(120) == 7118
    # 2,048 characters for all of a user's inline policies together
    server.put_user_policy(DEV_ACCOUNT, "dev", "a", [allow] * 20)
    with pytest.raises(UsageError) as caught:
        server.put_user_policy(DEV_ACCOUNT, "dev", "b", [allow] * 20)
    assert caught.value.args[0] == (
        "The user's policies would total 2436 characters (white space not counted); "
        "the quota for a user's inline policies is 2048."
    )
    server.put_user_policy(DEV_ACCOUNT, "dev", "a", [allow] * 33)  # a replaced one counts once
    # one document over IAM's largest policy size (6,144) is refused before anything else
    with pytest.raises(UsageError) as caught:
        server.put_user_policy(DEV_ACCOUNT, "dev", "c", [allow] * 120)
    assert caught.value.args[0] == (
        "The identity policy is 7118 characters (white space not counted); the quota is 6144."
    )


# -- item 9: encryption context case -------------------------------------------------------------


def test_grant_constraints_compare_exactly(server: InProcessServer, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    dev = server.client(server.credentials(user="dev", admin=False))
    for kind in ("EncryptionContextEquals", "EncryptionContextSubset"):
        grant = kms.create_grant(
            KeyId=key,
            GranteePrincipal=DEV_ARN,
            Operations=["Encrypt"],
            Constraints={kind: {"tenant": "A"}},
        )
        dev.encrypt(KeyId=key, Plaintext=b"p", EncryptionContext={"tenant": "A"})
        for context in ({"TENANT": "A"}, {"tenant": "a"}):
            assert error_of(dev.encrypt, KeyId=key, Plaintext=b"p", EncryptionContext=context)[
                0
            ] == ("AccessDeniedException")
        smuggled = {"TENANT": "B", "tenant": "A"}
        if kind == "EncryptionContextEquals":  # another pair: not the same context
            code, _ = error_of(dev.encrypt, KeyId=key, Plaintext=b"p", EncryptionContext=smuggled)
            assert code == "AccessDeniedException"
        else:  # a subset is satisfied by the exact pair, whatever else is there
            dev.encrypt(KeyId=key, Plaintext=b"p", EncryptionContext=smuggled)
        kms.revoke_grant(KeyId=key, GrantId=grant["GrantId"])


def test_a_deny_on_a_context_key_is_not_evaded_by_a_case_variant(
    server: InProcessServer, kms: Any
) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    top = deny("kms:Encrypt", "StringEquals", "kms:EncryptionContext:classification", "top")
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, top))
    kms.encrypt(KeyId=key, Plaintext=b"p", EncryptionContext={"classification": "low"})
    for context in (
        {"classification": "top"},
        {"CLASSIFICATION": "top"},
        {"classification": "top", "CLASSIFICATION": "low"},
        {"CLASSIFICATION": "low", "classification": "top"},
        {"Classification": "low", "classification": "low", "CLASSIFICATION": "top"},
    ):
        denied_by_key_policy(kms.encrypt, KeyId=key, Plaintext=b"p", EncryptionContext=context)
    # negated operators too: a Deny unless "public" applies if any variant is not "public"
    public_only = deny(
        "kms:Encrypt", "StringNotEquals", "kms:EncryptionContext:classification", "public"
    )
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, public_only))
    kms.encrypt(KeyId=key, Plaintext=b"p", EncryptionContext={"CLASSIFICATION": "public"})
    denied_by_key_policy(
        kms.encrypt,
        KeyId=key,
        Plaintext=b"p",
        EncryptionContext={"classification": "public", "CLASSIFICATION": "secret"},
    )


def test_an_allow_on_a_context_key_needs_every_case_variant(
    server: InProcessServer, kms: Any
) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    allow = {
        "Effect": "Allow",
        "Principal": {"AWS": DEV_ARN},
        "Action": "kms:Encrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "A"}},
    }
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, allow))
    dev = server.client(server.credentials(user="dev", admin=False))
    dev.encrypt(KeyId=key, Plaintext=b"p", EncryptionContext={"tenant": "A"})
    dev.encrypt(KeyId=key, Plaintext=b"p", EncryptionContext={"Tenant": "A", "TENANT": "A"})
    for context in ({"tenant": "A", "TENANT": "B"}, {"TENANT": "B", "tenant": "A"}):
        code, message = error_of(dev.encrypt, KeyId=key, Plaintext=b"p", EncryptionContext=context)
        assert code == "AccessDeniedException"
        # the statement naming dev does not apply; the account statement needs an identity policy
        assert message.endswith("because no identity-based policy allows the kms:Encrypt action")
    # kms:EncryptionContextKeys keeps the case as given, compared exactly
    exact_keys = deny(
        "kms:Encrypt", "ForAnyValue:StringEquals", "kms:EncryptionContextKeys", "TENANT"
    )
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, exact_keys))
    kms.encrypt(KeyId=key, Plaintext=b"p", EncryptionContext={"tenant": "A"})
    denied_by_key_policy(kms.encrypt, KeyId=key, Plaintext=b"p", EncryptionContext={"TENANT": "A"})


# -- item 10: condition keys through a real server ------------------------------------------------


def test_grant_is_for_aws_resource_is_false(server: InProcessServer, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    statement = deny(
        ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
        "Bool",
        "kms:GrantIsForAWSResource",
        "false",
    )
    grant = kms.create_grant(KeyId=key, GranteePrincipal=DEV_ARN, Operations=["Encrypt"])
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, statement))
    denied_by_key_policy(
        kms.create_grant, KeyId=key, GranteePrincipal=DEV_ARN, Operations=["Encrypt"]
    )
    denied_by_key_policy(kms.list_grants, KeyId=key)
    denied_by_key_policy(kms.revoke_grant, KeyId=key, GrantId=grant["GrantId"])
    # AWS's documented form: allow grants only for AWS resources, which never holds here
    only_for_aws = deny("kms:CreateGrant", "Bool", "kms:GrantIsForAWSResource", "true")
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, only_for_aws))
    kms.create_grant(KeyId=key, GranteePrincipal=DEV_ARN, Operations=["Encrypt"])


def test_key_property_keys(server: InProcessServer, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    for condition_key, value in [
        ("kms:KeySpec", "SYMMETRIC_DEFAULT"),
        ("kms:CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"),
        ("kms:KeyUsage", "ENCRYPT_DECRYPT"),
        ("kms:CustomerMasterKeyUsage", "ENCRYPT_DECRYPT"),
        ("kms:KeyOrigin", "AWS_KMS"),
        ("kms:MultiRegion", "false"),
        ("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT"),
    ]:
        other = deny("kms:Encrypt", "StringEquals", condition_key, value + "X")
        kms.put_key_policy(KeyId=key, Policy=document(ROOT, other))
        kms.encrypt(KeyId=key, Plaintext=b"p")
        this = deny(["kms:Encrypt", "kms:DescribeKey"], "StringEquals", condition_key, value)
        kms.put_key_policy(KeyId=key, Policy=document(ROOT, this))
        denied_by_key_policy(kms.encrypt, KeyId=key, Plaintext=b"p")
        if condition_key != "kms:EncryptionAlgorithm":  # a key property: every key operation
            denied_by_key_policy(kms.describe_key, KeyId=key)
        else:
            kms.describe_key(KeyId=key)


def test_create_key_keys_come_from_the_request(server: InProcessServer, kms: Any) -> None:
    dev = server.client(server.credentials(user="dev", admin=False))
    server.put_user_policy(
        DEV_ACCOUNT,
        "dev",
        "create",
        [
            {
                "Effect": "Allow",
                "Action": "kms:CreateKey",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:KeySpec": "SYMMETRIC_DEFAULT",
                        "kms:KeyOrigin": "EXTERNAL",
                    },
                    "Bool": {"kms:BypassPolicyLockoutSafetyCheck": "false"},
                },
            }
        ],
    )
    dev.create_key(Origin="EXTERNAL")
    for kwargs in ({}, {"Origin": "AWS_KMS"}):
        code, message = error_of(dev.create_key, **kwargs)
        assert code == "AccessDeniedException" and "no identity-based policy" in message


def test_grant_constraint_type(server: InProcessServer, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    statement = deny(
        "kms:CreateGrant", "StringNotEquals", "kms:GrantConstraintType", "EncryptionContextEquals"
    )
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, statement))
    kms.create_grant(
        KeyId=key,
        GranteePrincipal=DEV_ARN,
        Operations=["Encrypt"],
        Constraints={"EncryptionContextEquals": {"a": "1"}},
    )
    denied_by_key_policy(
        kms.create_grant,
        KeyId=key,
        GranteePrincipal=DEV_ARN,
        Operations=["Encrypt"],
        Constraints={"EncryptionContextSubset": {"a": "1"}},
    )
    # no constraint: the key is absent, and a negated operator on an absent key holds
    denied_by_key_policy(
        kms.create_grant, KeyId=key, GranteePrincipal=DEV_ARN, Operations=["Encrypt"]
    )
    # Null: a Deny on grants without any constraint
    unconstrained = deny("kms:CreateGrant", "Null", "kms:GrantConstraintType", "true")
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, unconstrained))
    denied_by_key_policy(
        kms.create_grant, KeyId=key, GranteePrincipal=DEV_ARN, Operations=["Encrypt"]
    )
    kms.create_grant(
        KeyId=key,
        GranteePrincipal=DEV_ARN,
        Operations=["Encrypt"],
        Constraints={"EncryptionContextSubset": {"a": "1"}},
    )
    # ...IfExists: an absent key makes the condition true, in a Deny as in an Allow
    if_exists = deny(
        "kms:CreateGrant", "StringEqualsIfExists", "kms:GrantConstraintType", "Nothing"
    )
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, if_exists))
    denied_by_key_policy(
        kms.create_grant, KeyId=key, GranteePrincipal=DEV_ARN, Operations=["Encrypt"]
    )
    kms.create_grant(
        KeyId=key,
        GranteePrincipal=DEV_ARN,
        Operations=["Encrypt"],
        Constraints={"EncryptionContextEquals": {"a": "1"}},
    )


def test_resource_aliases_and_request_alias(server: InProcessServer, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/payroll", TargetKeyId=key)
    statement = deny(
        ["kms:Encrypt", "kms:DescribeKey"],
        "ForAnyValue:StringLike",
        "kms:ResourceAliases",
        "alias/pay*",
    )
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, statement))
    denied_by_key_policy(kms.encrypt, KeyId=key, Plaintext=b"p")
    denied_by_key_policy(kms.describe_key, KeyId=key)
    kms.delete_alias(AliasName="alias/payroll")
    kms.encrypt(KeyId=key, Plaintext=b"p")
    # kms:RequestAlias on DescribeKey: set only when the request names the key by an alias
    kms.create_alias(AliasName="alias/hr", TargetKeyId=key)
    by_alias = deny("kms:DescribeKey", "StringEquals", "kms:RequestAlias", "alias/hr")
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, by_alias))
    kms.describe_key(KeyId=key)
    denied_by_key_policy(kms.describe_key, KeyId="alias/hr")


def test_resource_tags(server: InProcessServer, kms: Any) -> None:
    key = kms.create_key(Tags=[{"TagKey": "Env", "TagValue": "prod"}])["KeyMetadata"]["Arn"]
    statement = deny("kms:Encrypt", "StringEquals", "aws:ResourceTag/env", "prod")
    kms.put_key_policy(KeyId=key, Policy=document(ROOT, statement))
    denied_by_key_policy(kms.encrypt, KeyId=key, Plaintext=b"p")
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "Env", "TagValue": "dev"}])
    kms.encrypt(KeyId=key, Plaintext=b"p")


@pytest.mark.parametrize(
    ("operator", "condition_key", "value"),
    [
        ("StringEquals", "aws:userid", "AIDA"),  # completed below from the formula
        ("StringEquals", "aws:PrincipalType", "User"),
        ("StringEquals", "aws:username", "alice"),
        ("ArnEquals", "aws:PrincipalArn", ADMIN_ARN),
        ("StringEquals", "aws:PrincipalAccount", DEV_ACCOUNT),
        ("StringEquals", "kms:CallerAccount", DEV_ACCOUNT),
        ("Bool", "aws:PrincipalIsAWSService", "false"),
        ("Bool", "aws:ViaAWSService", "false"),
        ("StringLike", "aws:UserAgent", "*Boto3*"),
        ("StringEquals", "aws:RequestedRegion", "us-east-1"),
        ("Bool", "aws:SecureTransport", "false"),
        ("IpAddress", "aws:SourceIp", "127.0.0.0/8"),
        ("DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z"),
        ("NumericGreaterThan", "aws:EpochTime", "1577836800"),
        ("Null", "kms:ViaService", "true"),
        ("Null", "aws:MultiFactorAuthPresent", "true"),
        ("Bool", "kms:BypassPolicyLockoutSafetyCheck", "false"),
    ],
)
def test_request_keys(
    server: InProcessServer, kms: Any, operator: str, condition_key: str, value: str
) -> None:
    from sealbox.server.access.authorization import user_id
    from sealbox.server.access.principals import Principal

    if condition_key == "aws:userid":
        value = user_id(Principal("AKIA", DEV_ACCOUNT, "alice", True, "s"))
    key = kms.create_key()["KeyMetadata"]["Arn"]
    actions = ["kms:PutKeyPolicy"] if "Bypass" in condition_key else ["kms:Encrypt"]
    kms.put_key_policy(
        KeyId=key,
        Policy=document(ROOT, deny(actions, operator, condition_key, value)),
        BypassPolicyLockoutSafetyCheck=True,
    )
    if "Bypass" in condition_key:
        denied_by_key_policy(kms.put_key_policy, KeyId=key, Policy=document(ROOT))
        kms.put_key_policy(KeyId=key, Policy=document(ROOT), BypassPolicyLockoutSafetyCheck=True)
    else:
        denied_by_key_policy(kms.encrypt, KeyId=key, Plaintext=b"p")
