"""AWS's exact answers (code and message) where Sealbox's used to differ: alias names
without the alias/ prefix, under the reserved alias/aws/ prefix or with a ':'; a second
NEW_KEY_MATERIAL import while one waits for rotation; a well-formed mrk- key id that
names no key. Through boto3 and the aws CLI.

Sources of the wording: LocalStack (whose KMS tests are validated against AWS) for the
prefix message and the mrk- NotFound; moto's tests for NotAuthorizedException without a
message and for the ':' message."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.server.harness import (
    DEV_ACCOUNT,
    REGION,
    InProcessServer,
    aws_cli,
    error_of,
    module_kms,
    module_server,
)
from tests.server.test_import import external_key, import_material

MISSING_PREFIX = (
    'Alias must start with the prefix "alias/". '
    "Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
)
MRK = "mrk-1234abcd12ab34cd56ef1234567890ab"
MRK_ARN = f"arn:aws:kms:{REGION}:{DEV_ACCOUNT}:key/{MRK}"


server = module_server("exact")
kms = module_kms


@pytest.fixture
def key(kms: Any) -> str:
    key_id: str = kms.create_key()["KeyMetadata"]["KeyId"]
    return key_id


def _alias_calls(kms: Any, key: str) -> dict[str, Callable[[str], tuple[str, str]]]:
    """CreateAlias, UpdateAlias and DeleteAlias of a name, answered with (code, message)."""
    return {
        "CreateAlias": lambda name: error_of(kms.create_alias, AliasName=name, TargetKeyId=key),
        "UpdateAlias": lambda name: error_of(kms.update_alias, AliasName=name, TargetKeyId=key),
        "DeleteAlias": lambda name: error_of(kms.delete_alias, AliasName=name),
    }


@pytest.mark.parametrize("operation", ["CreateAlias", "UpdateAlias", "DeleteAlias"])
@pytest.mark.parametrize("name", ["app", "Alias/app", "aliases/app", "key/app"])
def test_a_name_without_the_alias_prefix(kms: Any, key: str, operation: str, name: str) -> None:
    answer = _alias_calls(kms, key)[operation](name)
    assert answer == ("ValidationException", MISSING_PREFIX)


@pytest.mark.parametrize("operation", ["CreateAlias", "UpdateAlias", "DeleteAlias"])
@pytest.mark.parametrize("name", ["alias/aws/ebs", "alias/aws/mine", "alias/aws/a/b"])
def test_a_reserved_name_is_not_authorized(kms: Any, key: str, operation: str, name: str) -> None:
    """AWS answers NotAuthorizedException (outside the KMS model), HTTP 400, no message."""
    assert _alias_calls(kms, key)[operation](name) == ("NotAuthorizedException", "")
    with pytest.raises(ClientError) as caught:
        kms.create_alias(AliasName=name, TargetKeyId=key)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert name not in {a["AliasName"] for a in kms.list_aliases(KeyId=key)["Aliases"]}


def test_names_near_the_reserved_prefix_are_customer_names(kms: Any, key: str) -> None:
    for name in ("alias/aws", "alias/awsome", "alias/AWS/upper", "alias/my/aws/x"):
        kms.create_alias(AliasName=name, TargetKeyId=key)
        kms.delete_alias(AliasName=name)


@pytest.mark.parametrize("operation", ["CreateAlias", "UpdateAlias"])
@pytest.mark.parametrize("name", ["alias/my:alias", "alias/:", "alias/a:b:c"])
def test_a_colon_is_refused_although_the_model_pattern_allows_it(
    kms: Any, key: str, operation: str, name: str
) -> None:
    answer = _alias_calls(kms, key)[operation](name)
    assert answer == ("ValidationException", f"{name} contains invalid characters for an alias")


def test_other_characters_answer_the_model_pattern(kms: Any, key: str) -> None:
    for name in ("alias/my-alias!", "alias/my alias", "alias/é"):
        assert error_of(kms.create_alias, AliasName=name, TargetKeyId=key) == (
            "ValidationException",
            f"1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
        )
    for name in ("alias/my-alias_/", "alias/my_alias-/", "alias/A-Z_0-9"):  # accepted
        kms.create_alias(AliasName=name, TargetKeyId=key)
    # DeleteAlias of a name with ':' is no special case: no such alias exists
    assert error_of(kms.delete_alias, AliasName="alias/my:alias") == (
        "NotFoundException",
        f"Alias arn:aws:kms:{REGION}:{DEV_ACCOUNT}:alias/my:alias is not found.",
    )


def test_a_second_new_key_material_while_one_is_pending_rotation(kms: Any) -> None:
    key = external_key(kms)
    import_material(kms, key, os.urandom(32))
    pending = import_material(kms, key, os.urandom(32), ImportType="NEW_KEY_MATERIAL")
    with pytest.raises(ClientError) as caught:
        import_material(kms, key, os.urandom(32), ImportType="NEW_KEY_MATERIAL")
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "KMSInvalidStateException",
        f"{key} already has imported key material pending rotation. Rotate the key with "
        "RotateKeyOnDemand, or delete that key material with DeleteImportedKeyMaterial, "
        "before importing new key material.",
    )
    states = [r["KeyMaterialState"] for r in kms.list_key_rotations(KeyId=key)["Rotations"]]
    assert states.count("PENDING_ROTATION") <= 1

    # pending material is not bound to the key: deleted, other material may take its place
    kms.delete_imported_key_material(KeyId=key, KeyMaterialId=pending["KeyMaterialId"])
    replacement = import_material(kms, key, os.urandom(32), ImportType="NEW_KEY_MATERIAL")
    kms.rotate_key_on_demand(KeyId=key)
    described = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert described["CurrentKeyMaterialId"] == replacement["KeyMaterialId"]
    # rotated: nothing is pending any more, so new material comes in again
    import_material(kms, key, os.urandom(32), ImportType="NEW_KEY_MATERIAL")


@pytest.mark.parametrize("named", [MRK, MRK_ARN])
def test_a_well_formed_mrk_id_that_names_no_key(kms: Any, named: str) -> None:
    """Multi-Region key ids are key ids: one that names no key is AWS's NotFound."""
    answer = ("NotFoundException", f"Key '{MRK_ARN}' does not exist")
    assert error_of(kms.describe_key, KeyId=named) == answer
    assert error_of(kms.encrypt, KeyId=named, Plaintext=b"x") == answer
    assert error_of(kms.disable_key, KeyId=named) == answer


def test_a_malformed_mrk_id_is_still_an_invalid_key_id(kms: Any) -> None:
    for named in ("mrk-1234", f"{MRK}0", "mrk-" + "g" * 32):
        assert error_of(kms.describe_key, KeyId=named) == (
            "NotFoundException",
            f"Invalid keyId '{named}'",
        )
    short = f"arn:aws:kms:{REGION}:{DEV_ACCOUNT}:key/mrk-1234"
    assert error_of(kms.describe_key, KeyId=short)[0] == "InvalidArnException"


def test_the_aws_cli(server: InProcessServer, kms: Any, key: str) -> None:
    aws = aws_cli(server, server.credentials(DEV_ACCOUNT, "carol"))

    def refused(result: subprocess.CompletedProcess[str], operation: str, code: str) -> str:
        assert result.returncode != 0, result.stderr
        head = f"An error occurred ({code}) when calling the {operation} operation: "
        assert result.stderr.strip().startswith(head.strip()), result.stderr
        return result.stderr.strip().removeprefix(head.strip()).strip()

    missing = aws("create-alias", "--alias-name", "app", "--target-key-id", key)
    assert refused(missing, "CreateAlias", "ValidationException") == MISSING_PREFIX
    reserved = aws("delete-alias", "--alias-name", "alias/aws/ebs")
    assert refused(reserved, "DeleteAlias", "NotAuthorizedException") == ""
    mrk = aws("describe-key", "--key-id", MRK)
    assert refused(mrk, "DescribeKey", "NotFoundException") == f"Key '{MRK_ARN}' does not exist"
