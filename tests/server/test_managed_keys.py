"""AWS managed keys: the predefined alias/aws/ aliases are listed before their keys exist, the
first request naming one makes the account's key (KeyManager AWS, yearly rotation, AWS's
managed-key policy), and that policy keeps everyone from changing or directly using it."""

from __future__ import annotations

import json
from typing import Any

from sealbox.server.managed_keys import ALIASES
from tests.server.harness import (
    DEV_ACCOUNT,
    REGION,
    InProcessServer,
    aws_cli,
    error_of,
    module_kms,
    module_server,
)

OTHER_ACCOUNT = "444455556666"


server = module_server("managed")
kms = module_kms


def _all_aliases(kms: Any, **kwargs: Any) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = []
    for page in kms.get_paginator("list_aliases").paginate(**kwargs):
        listed += page["Aliases"]
    return listed


def test_predefined_aliases_are_listed_before_their_keys_exist(kms: Any) -> None:
    kms.create_alias(AliasName="alias/app", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    kms.create_alias(AliasName="alias/zeta", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    listed = _all_aliases(kms)
    names = [a["AliasName"] for a in listed]
    assert names == sorted(names) and set(ALIASES) <= set(names) and "alias/app" in names
    ebs = next(a for a in listed if a["AliasName"] == "alias/aws/ebs")
    assert ebs == {
        "AliasName": "alias/aws/ebs",
        "AliasArn": f"arn:aws:kms:{REGION}:{DEV_ACCOUNT}:alias/aws/ebs",
    }
    # pages of three walk the same list, each name once
    assert [a["AliasName"] for a in _all_aliases(kms, PaginationConfig={"PageSize": 3})] == names


def test_first_use_makes_the_managed_key(server: InProcessServer, kms: Any) -> None:
    aws = aws_cli(server, server.credentials(DEV_ACCOUNT, "newcomer"))
    described = aws("describe-key", "--key-id", "alias/aws/ebs")
    assert described.returncode == 0, described.stderr
    metadata = json.loads(described.stdout)["KeyMetadata"]
    assert metadata["KeyManager"] == "AWS" and metadata["KeyState"] == "Enabled"
    assert metadata["Description"] == (
        "Default key that protects my EBS volumes when no other key is defined"
    )
    again = kms.describe_key(KeyId=f"arn:aws:kms:{REGION}:{DEV_ACCOUNT}:alias/aws/ebs")
    assert again["KeyMetadata"]["KeyId"] == metadata["KeyId"]
    ebs = next(a for a in _all_aliases(kms) if a["AliasName"] == "alias/aws/ebs")
    assert ebs["TargetKeyId"] == metadata["KeyId"] and "CreationDate" in ebs
    assert kms.list_aliases(KeyId=metadata["KeyId"])["Aliases"][0]["AliasName"] == "alias/aws/ebs"
    rotation = kms.get_key_rotation_status(KeyId=metadata["KeyId"])
    assert rotation["KeyRotationEnabled"] is True and rotation["RotationPeriodInDays"] == 365
    policy = json.loads(kms.get_key_policy(KeyId=metadata["KeyId"])["Policy"])
    via = policy["Statement"][0]["Condition"]["StringEquals"]["kms:ViaService"]
    assert via == f"ec2.{REGION}.amazonaws.com"
    assert metadata["KeyId"] in {k["KeyId"] for k in kms.list_keys()["Keys"]}


def test_nobody_changes_or_directly_uses_a_managed_key(kms: Any) -> None:
    key = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert key["KeyManager"] == "AWS"
    key_id = key["KeyId"]
    refused: list[tuple[Any, dict[str, Any]]] = [
        (kms.encrypt, {"Plaintext": b"x"}),
        (kms.generate_data_key, {"KeySpec": "AES_256"}),
        (kms.disable_key, {}),
        (kms.schedule_key_deletion, {"PendingWindowInDays": 7}),
        (kms.put_key_policy, {"PolicyName": "default", "Policy": json.dumps({})}),
        (kms.tag_resource, {"Tags": [{"TagKey": "a", "TagValue": "b"}]}),
        (kms.update_key_description, {"Description": "mine now"}),
    ]
    for call, arguments in refused:
        assert error_of(call, KeyId=key_id, **arguments)[0] == "AccessDeniedException", call
    assert error_of(kms.encrypt, KeyId="alias/aws/s3", Plaintext=b"x")[0] == (
        "AccessDeniedException"
    )
    assert error_of(kms.delete_alias, AliasName="alias/aws/s3")[0] == "NotAuthorizedException"
    assert error_of(kms.create_alias, AliasName="alias/mine", TargetKeyId=key_id)[0] == (
        "AccessDeniedException"
    )


def test_only_predefined_names_and_only_in_ones_own_account(
    server: InProcessServer, kms: Any
) -> None:
    assert error_of(kms.describe_key, KeyId="alias/aws/not-a-service") == (
        "NotFoundException",
        f"Alias arn:aws:kms:{REGION}:{DEV_ACCOUNT}:alias/aws/not-a-service is not found.",
    )
    other = server.client(server.credentials(OTHER_ACCOUNT, "mallory"))
    alias = f"arn:aws:kms:{REGION}:{DEV_ACCOUNT}:alias/aws/lambda"
    assert error_of(other.describe_key, KeyId=alias)[0] == "NotFoundException"
    assert not [
        a for a in _all_aliases(kms) if a["AliasName"] == "alias/aws/lambda" and "TargetKeyId" in a
    ]
    # the other account gets its own key for the same name
    theirs = other.describe_key(KeyId="alias/aws/lambda")["KeyMetadata"]
    assert theirs["AWSAccountId"] == OTHER_ACCOUNT and theirs["KeyManager"] == "AWS"
