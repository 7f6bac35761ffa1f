"""Key policies, identity policies and grants, enforced by a real server and used through boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.server.harness import DEV_ACCOUNT, OTHER_ACCOUNT, InProcessServer, error_of

DEV_ARN = f"arn:aws:iam::{DEV_ACCOUNT}:user/dev"
ROOT_STATEMENT = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{DEV_ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def denied(call: Any, **kwargs: Any) -> str:
    code, message = error_of(call, **kwargs)
    assert code == "AccessDeniedException", (code, message)
    return message


@pytest.fixture
def dev(server: InProcessServer) -> Any:
    """A user of the admin's account with no policies at all."""
    return server.client(server.credentials(user="dev", admin=False))


def test_least_privilege_flow(server: InProcessServer, kms: Any, dev: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    arn = key["Arn"]
    # The default key policy delegates to identity policies, and dev has none.
    assert denied(dev.generate_data_key, KeyId=arn, KeySpec="AES_256") == (
        f"User: {DEV_ARN} is not authorized to perform: kms:GenerateDataKey on resource: {arn} "
        "because no identity-based policy allows the kms:GenerateDataKey action"
    )

    # 1. An identity policy allows it.
    server.put_user_policy(
        DEV_ACCOUNT,
        "dev",
        "UseOrdersKey",
        [{"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": arn}],
    )
    assert len(dev.generate_data_key(KeyId=arn, KeySpec="AES_256")["Plaintext"]) == 32
    denied(dev.decrypt, CiphertextBlob=kms.encrypt(KeyId=arn, Plaintext=b"x")["CiphertextBlob"])
    server.delete_user_policy(DEV_ACCOUNT, "dev", "UseOrdersKey")
    denied(dev.generate_data_key, KeyId=arn, KeySpec="AES_256")

    # 2. A key policy statement naming the user allows it, with no identity policy.
    named = {
        "Effect": "Allow",
        "Principal": {"AWS": DEV_ARN},
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "*",
    }
    kms.put_key_policy(KeyId=arn, Policy=policy(ROOT_STATEMENT, named))
    data_key = dev.generate_data_key(KeyId=arn, KeySpec="AES_256")
    assert (
        dev.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
    )
    denied(dev.encrypt, KeyId=arn, Plaintext=b"not allowed")
    kms.put_key_policy(KeyId=arn, Policy=policy(ROOT_STATEMENT))
    denied(dev.generate_data_key, KeyId=arn, KeySpec="AES_256")

    # 3. A grant allows it; revoking the grant takes it away again.
    grant = kms.create_grant(KeyId=arn, GranteePrincipal=DEV_ARN, Operations=["GenerateDataKey"])
    assert len(dev.generate_data_key(KeyId=arn, KeySpec="AES_256")["Plaintext"]) == 32
    kms.revoke_grant(KeyId=arn, GrantId=grant["GrantId"])
    denied(dev.generate_data_key, KeyId=arn, KeySpec="AES_256")

    # 4. A Deny conditioned on the encryption context blocks only the matching requests,
    #    for everyone (the admin too).
    deny_hr = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:GenerateDataKey",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:Department": "HR"}},
    }
    kms.put_key_policy(KeyId=arn, Policy=policy(ROOT_STATEMENT, named, deny_hr))
    dev.generate_data_key(KeyId=arn, KeySpec="AES_256", EncryptionContext={"Department": "IT"})
    dev.generate_data_key(KeyId=arn, KeySpec="AES_256")
    assert "explicit deny in a resource-based policy" in denied(
        dev.generate_data_key, KeyId=arn, KeySpec="AES_256", EncryptionContext={"Department": "HR"}
    )
    denied(
        kms.generate_data_key, KeyId=arn, KeySpec="AES_256", EncryptionContext={"Department": "HR"}
    )
    kms.encrypt(
        KeyId=arn, Plaintext=b"other actions are not denied", EncryptionContext={"Department": "HR"}
    )


def test_identity_policies_alone_govern_keyless_operations(
    server: InProcessServer, dev: Any
) -> None:
    for call, kwargs, action in [
        (dev.create_key, {}, "CreateKey"),
        (dev.list_keys, {}, "ListKeys"),
        (dev.list_aliases, {}, "ListAliases"),
        (dev.generate_random, {"NumberOfBytes": 8}, "GenerateRandom"),
    ]:
        assert denied(call, **kwargs) == (
            f"User: {DEV_ARN} is not authorized to perform: kms:{action} on resource: * "
            f"because no identity-based policy allows the kms:{action} action"
        )
    server.put_user_policy(
        DEV_ACCOUNT,
        "dev",
        "Creator",
        [{"Effect": "Allow", "Action": ["kms:CreateKey", "kms:List*"], "Resource": "*"}],
    )
    key = dev.create_key()["KeyMetadata"]
    assert key["KeyId"] in {k["KeyId"] for k in dev.list_keys()["Keys"]}
    # Its default policy delegates to identity policies, which do not allow DescribeKey.
    denied(dev.describe_key, KeyId=key["KeyId"])
    denied(dev.generate_random, NumberOfBytes=8)


def test_new_keys_get_the_aws_default_key_policy(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    document = json.loads(kms.get_key_policy(KeyId=key["KeyId"])["Policy"])
    assert document["Statement"] == [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{DEV_ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    assert kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["PolicyName"] == "default"
    assert kms.list_key_policies(KeyId=key["KeyId"])["PolicyNames"] == ["default"]
    assert error_of(kms.get_key_policy, KeyId=key["KeyId"], PolicyName="other")[0] == (
        "NotFoundException"
    )


def test_lockout_safety_check(server: InProcessServer, kms: Any) -> None:
    bob_only = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{DEV_ACCOUNT}:user/bob"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    code, message = error_of(kms.create_key, Policy=bob_only)
    assert (
        code == "MalformedPolicyDocumentException" and "BypassPolicyLockoutSafetyCheck" in message
    )
    key = kms.create_key()["KeyMetadata"]["Arn"]
    code, _ = error_of(kms.put_key_policy, KeyId=key, Policy=bob_only)
    assert code == "MalformedPolicyDocumentException"
    kms.encrypt(KeyId=key, Plaintext=b"the refused policy changed nothing")
    kms.put_key_policy(KeyId=key, Policy=bob_only, BypassPolicyLockoutSafetyCheck=True)
    # The admin's kms:* identity policy no longer counts: the key policy does not delegate.
    assert "no resource-based policy allows" in denied(kms.get_key_policy, KeyId=key)
    denied(kms.encrypt, KeyId=key, Plaintext=b"x")
    bob = server.client(server.credentials(user="bob", admin=False))
    # bob has no identity policy: a policy only delegating to them would lock bob out too
    assert error_of(bob.put_key_policy, KeyId=key, Policy=policy(ROOT_STATEMENT))[0] == (
        "MalformedPolicyDocumentException"
    )
    bob.put_key_policy(
        KeyId=key, Policy=policy(ROOT_STATEMENT), BypassPolicyLockoutSafetyCheck=True
    )
    kms.encrypt(KeyId=key, Plaintext=b"x")
    bypassed = kms.create_key(Policy=bob_only, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    denied(kms.describe_key, KeyId=bypassed["KeyId"])


def test_malformed_policies_are_refused_with_the_reason(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for document, reason in [
        ("{not json", "The policy is not valid JSON."),
        ("[" * 5000 + "]" * 5000, "The policy is not valid JSON: it nests deeper than 64 levels."),
        ('{"Statement": [], "Statement": []}', "a member name appears more than once"),
        ('{"Version": "\\ud800"}', "a lone UTF-16 surrogate"),
        ('{"Statement": []}', "needs a Statement"),
        (
            policy({"Effect": "Maybe", "Principal": "*", "Action": "kms:*", "Resource": "*"}),
            "Effect",
        ),
        (policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}), "need a Principal"),
        (
            policy(
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "kms:*",
                    "Resource": "*",
                    "Condition": {"StringSortOf": {"a": "b"}},
                }
            ),
            "unsupported condition operator",
        ),
    ]:
        code, message = error_of(kms.put_key_policy, KeyId=key, Policy=document)
        assert code == "MalformedPolicyDocumentException" and reason in message, message


def test_cross_account_use(server: InProcessServer) -> None:
    owner = server.client(server.credentials(account=OTHER_ACCOUNT, user="owner"))
    shared = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{DEV_ACCOUNT}:root"},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ScheduleKeyDeletion"],
        "Resource": "*",
    }
    own = {**ROOT_STATEMENT, "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}}
    arn = owner.create_key(Policy=policy(own, shared))["KeyMetadata"]["Arn"]
    user = server.client(server.credentials(user="dev", admin=False))
    # The key policy trusts the account; the account's identity policy must still agree.
    assert "no identity-based policy allows" in denied(user.encrypt, KeyId=arn, Plaintext=b"x")
    server.put_user_policy(
        DEV_ACCOUNT,
        "dev",
        "UsePartnerKey",
        [
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:DescribeKey", "kms:ScheduleKeyDeletion"],
                "Resource": arn,
            }
        ],
    )
    blob = user.encrypt(KeyId=arn, Plaintext=b"shared")["CiphertextBlob"]
    assert user.describe_key(KeyId=arn)["KeyMetadata"]["Arn"] == arn
    denied(user.decrypt, CiphertextBlob=blob)
    assert owner.decrypt(CiphertextBlob=blob)["Plaintext"] == b"shared"
    # Only the operations AWS allows across accounts; the others fail whatever the policies say.
    assert "cannot be used across accounts" in denied(user.schedule_key_deletion, KeyId=arn)
    # By key id alone, a key of another account is not found (as in AWS).
    assert error_of(user.describe_key, KeyId=arn.rsplit("/", 1)[1])[0] == "NotFoundException"
    # A grant naming the user is enough on its own.
    owner.create_grant(KeyId=arn, GranteePrincipal=DEV_ARN, Operations=["Decrypt"])
    assert user.decrypt(CiphertextBlob=blob)["Plaintext"] == b"shared"


def test_grants_with_constraints_retire_and_revoke(
    server: InProcessServer, kms: Any, dev: Any
) -> None:
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    hr = {"Department": "HR"}
    created = kms.create_grant(
        KeyId=arn,
        GranteePrincipal=DEV_ARN,
        RetiringPrincipal=DEV_ARN,
        Operations=["Encrypt", "Decrypt", "RetireGrant"],
        Constraints={"EncryptionContextSubset": hr},
        Name="orders-app",
    )
    assert created["GrantToken"].startswith("sbx-grant-token-v1.")
    listed = kms.list_grants(KeyId=arn)["Grants"]
    assert [
        (g["GrantId"], g["GranteePrincipal"], g["Name"], g["Operations"], g["Constraints"])
        for g in listed
    ] == [
        (
            created["GrantId"],
            DEV_ARN,
            "orders-app",
            ["Decrypt", "Encrypt", "RetireGrant"],
            {"EncryptionContextSubset": hr},
        )
    ]
    assert listed[0]["IssuingAccount"] == f"arn:aws:iam::{DEV_ACCOUNT}:root"
    blob = dev.encrypt(
        KeyId=arn,
        Plaintext=b"p",
        EncryptionContext={**hr, "order": "1"},
        GrantTokens=[created["GrantToken"]],
    )["CiphertextBlob"]
    assert (
        dev.decrypt(CiphertextBlob=blob, EncryptionContext={**hr, "order": "1"})["Plaintext"]
        == b"p"
    )
    denied(dev.encrypt, KeyId=arn, Plaintext=b"p", EncryptionContext={"Department": "IT"})
    denied(dev.encrypt, KeyId=arn, Plaintext=b"p")
    code, _ = error_of(
        dev.encrypt, KeyId=arn, Plaintext=b"p", EncryptionContext=hr, GrantTokens=["forged"]
    )
    assert code == "InvalidGrantTokenException"

    # The same named request again is the same grant; other parameters make another.
    again = kms.create_grant(
        KeyId=arn,
        GranteePrincipal=DEV_ARN,
        RetiringPrincipal=DEV_ARN,
        Operations=["Encrypt", "Decrypt", "RetireGrant"],
        Constraints={"EncryptionContextSubset": hr},
        Name="orders-app",
    )
    assert again["GrantId"] == created["GrantId"]
    other_key = kms.create_key()["KeyMetadata"]["Arn"]
    elsewhere = kms.create_grant(
        KeyId=other_key, GranteePrincipal=DEV_ARN, Operations=["Encrypt"], Name="orders-app"
    )
    assert elsewhere["GrantId"] != created["GrantId"]
    assert [g["KeyId"] for g in kms.list_grants(KeyId=other_key)["Grants"]] == [other_key]

    denied(dev.list_retirable_grants, RetiringPrincipal=DEV_ARN)  # an IAM permission in AWS
    retirable = kms.list_retirable_grants(RetiringPrincipal=DEV_ARN)["Grants"]
    assert [(g["GrantId"], g["KeyId"]) for g in retirable] == [(created["GrantId"], arn)]
    dev.retire_grant(GrantToken=created["GrantToken"])
    assert kms.list_grants(KeyId=arn)["Grants"] == []
    denied(dev.encrypt, KeyId=arn, Plaintext=b"p", EncryptionContext=hr)
    assert error_of(dev.retire_grant, GrantToken=created["GrantToken"])[0] == "NotFoundException"

    # RevokeGrant needs kms:RevokeGrant, which dev does not have.
    grant = kms.create_grant(KeyId=other_key, GranteePrincipal=DEV_ARN, Operations=["Encrypt"])
    denied(dev.revoke_grant, KeyId=other_key, GrantId=grant["GrantId"])
    denied(dev.retire_grant, KeyId=other_key, GrantId=grant["GrantId"])
    kms.revoke_grant(KeyId=other_key, GrantId=grant["GrantId"])
    assert error_of(kms.revoke_grant, KeyId=other_key, GrantId="0" * 64)[0] == "NotFoundException"
    assert (
        error_of(kms.revoke_grant, KeyId=other_key, GrantId="bad id")[0]
        == "InvalidGrantIdException"
    )


def test_equals_constraint_and_delegation(server: InProcessServer, kms: Any, dev: Any) -> None:
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    hr = {"Department": "HR"}
    kms.create_grant(
        KeyId=arn,
        GranteePrincipal=DEV_ARN,
        Operations=["Encrypt", "CreateGrant"],
        Constraints={"EncryptionContextEquals": hr},
    )
    dev.encrypt(KeyId=arn, Plaintext=b"p", EncryptionContext=hr)
    # constraints compare exactly (issue 10 item 9): a key differing by case is another key
    denied(dev.encrypt, KeyId=arn, Plaintext=b"p", EncryptionContext={"department": "HR"})
    denied(dev.encrypt, KeyId=arn, Plaintext=b"p", EncryptionContext={**hr, "more": "x"})
    carol = f"arn:aws:iam::{DEV_ACCOUNT}:user/carol"
    # A grantee may pass on the same or less: same constraint, fewer operations...
    dev.create_grant(
        KeyId=arn,
        GranteePrincipal=carol,
        Operations=["Encrypt"],
        Constraints={"EncryptionContextEquals": hr},
    )
    # ...but not more operations, and not a looser constraint.
    denied(
        dev.create_grant,
        KeyId=arn,
        GranteePrincipal=carol,
        Operations=["Encrypt", "Decrypt"],
        Constraints={"EncryptionContextEquals": hr},
    )
    denied(dev.create_grant, KeyId=arn, GranteePrincipal=carol, Operations=["Encrypt"])
    carol_kms = server.client(server.credentials(user="carol", admin=False))
    carol_kms.encrypt(KeyId=arn, Plaintext=b"p", EncryptionContext=hr)
    denied(carol_kms.encrypt, KeyId=arn, Plaintext=b"p")


def test_alias_operations_need_permission_on_alias_and_key(
    server: InProcessServer, kms: Any, dev: Any
) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    denied(dev.create_alias, AliasName="alias/dev", TargetKeyId=key)
    server.put_user_policy(
        DEV_ACCOUNT,
        "dev",
        "Aliases",
        [
            {
                "Effect": "Allow",
                "Action": "kms:CreateAlias",
                "Resource": f"arn:aws:kms:us-east-1:{DEV_ACCOUNT}:alias/dev-*",
            }
        ],
    )
    # allowed on the alias, but the key policy (delegating) needs kms:CreateAlias on the key too
    denied(dev.create_alias, AliasName="alias/dev-app", TargetKeyId=key)
    server.put_user_policy(
        DEV_ACCOUNT,
        "dev",
        "KeyAliases",
        [{"Effect": "Allow", "Action": "kms:CreateAlias", "Resource": key}],
    )
    dev.create_alias(AliasName="alias/dev-app", TargetKeyId=key)
    denied(dev.create_alias, AliasName="alias/prod-app", TargetKeyId=key)


def test_request_alias_condition(server: InProcessServer, kms: Any, dev: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=key)
    by_alias = {
        "Effect": "Allow",
        "Principal": {"AWS": DEV_ARN},
        "Action": "kms:Encrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:RequestAlias": "alias/app"}},
    }
    kms.put_key_policy(KeyId=key, Policy=policy(ROOT_STATEMENT, by_alias))
    dev.encrypt(KeyId="alias/app", Plaintext=b"p")
    dev.encrypt(KeyId=f"arn:aws:kms:us-east-1:{DEV_ACCOUNT}:alias/app", Plaintext=b"p")
    denied(dev.encrypt, KeyId=key, Plaintext=b"p")


def test_update_alias_needs_permission_on_both_keys(
    server: InProcessServer, kms: Any, dev: Any
) -> None:
    first = kms.create_key()["KeyMetadata"]["Arn"]
    second = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/moving", TargetKeyId=first)
    alias_arn = f"arn:aws:kms:us-east-1:{DEV_ACCOUNT}:alias/moving"
    server.put_user_policy(
        DEV_ACCOUNT,
        "dev",
        "Move",
        [{"Effect": "Allow", "Action": "kms:UpdateAlias", "Resource": [alias_arn, second]}],
    )
    denied(dev.update_alias, AliasName="alias/moving", TargetKeyId=second)  # not on the first key
    server.put_user_policy(
        DEV_ACCOUNT,
        "dev",
        "Move",
        [{"Effect": "Allow", "Action": "kms:UpdateAlias", "Resource": [alias_arn, first, second]}],
    )
    dev.update_alias(AliasName="alias/moving", TargetKeyId=second)
    assert kms.describe_key(KeyId="alias/moving")["KeyMetadata"]["Arn"] == second
