"""KMS operations through boto3 against a real server on 127.0.0.1."""

from __future__ import annotations

import os
from typing import Any

import pytest

from sealbox.server.clock import ManualClock
from tests.server.harness import OTHER_ACCOUNT, InProcessServer, error_of


def new_key(kms: Any, **kwargs: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = kms.create_key(**kwargs)["KeyMetadata"]
    return metadata


def test_create_describe_and_list(kms: Any) -> None:
    key = new_key(kms, Description="orders", Tags=[{"TagKey": "team", "TagValue": "payments"}])
    assert key["KeyState"] == "Enabled" and key["Enabled"] is True
    assert key["Arn"] == f"arn:aws:kms:us-east-1:111122223333:key/{key['KeyId']}"
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT" and key["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert key["Origin"] == "AWS_KMS" and key["KeyManager"] == "CUSTOMER"
    assert len(key["CurrentKeyMaterialId"]) == 64
    described = kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]
    assert described["Description"] == "orders"
    assert described["CreationDate"] == key["CreationDate"]
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [
        {"TagKey": "team", "TagValue": "payments"}
    ]
    ids = {k["KeyId"] for k in kms.list_keys()["Keys"]}
    assert key["KeyId"] in ids


def test_list_keys_pages(kms: Any) -> None:
    created = {new_key(kms)["KeyId"] for _ in range(5)}
    seen: list[str] = []
    marker = None
    while True:
        page = kms.list_keys(Limit=2, **({"Marker": marker} if marker else {}))
        seen += [k["KeyId"] for k in page["Keys"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert set(seen) == created and len(seen) == len(created)
    assert error_of(kms.list_keys, Marker="not-a-marker!")[0] == "InvalidMarkerException"


def test_generate_data_key_and_encryption_context(kms: Any) -> None:
    key = new_key(kms)
    kms.create_alias(AliasName="alias/orders", TargetKeyId=key["KeyId"])
    data_key = kms.generate_data_key(
        KeyId="alias/orders", KeySpec="AES_256", EncryptionContext={"order": "42"}
    )
    assert len(data_key["Plaintext"]) == 32 and data_key["KeyId"] == key["Arn"]
    assert data_key["KeyMaterialId"] == key["CurrentKeyMaterialId"]
    blob = data_key["CiphertextBlob"]
    assert error_of(kms.decrypt, CiphertextBlob=blob)[0] == "InvalidCiphertextException"
    assert (
        error_of(kms.decrypt, CiphertextBlob=blob, EncryptionContext={"order": "43"})[0]
        == "InvalidCiphertextException"
    )
    opened = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"order": "42"})
    assert opened["Plaintext"] == data_key["Plaintext"] and opened["KeyId"] == key["Arn"]
    assert kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=7)["Plaintext"].__len__() == 7
    assert len(kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_128")["Plaintext"]) == 16
    without = kms.generate_data_key_without_plaintext(KeyId=key["Arn"], KeySpec="AES_256")
    assert "Plaintext" not in without
    assert len(kms.decrypt(CiphertextBlob=without["CiphertextBlob"])["Plaintext"]) == 32


def test_context_order_does_not_matter_but_every_pair_is_bound(kms: Any) -> None:
    key = new_key(kms)["KeyId"]
    context = {"a": "1", "b": "2", "aws-crypto-public-key": "x"}
    blob = kms.encrypt(KeyId=key, Plaintext=b"p", EncryptionContext=context)["CiphertextBlob"]
    assert (
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(reversed(context.items())))[
            "Plaintext"
        ]
        == b"p"
    )
    for wrong in (
        {"a": "1", "b": "2"},
        {"a": "1", "b": "2", "aws-crypto-public-key": "y"},
        {**context, "c": "3"},
    ):
        assert (
            error_of(kms.decrypt, CiphertextBlob=blob, EncryptionContext=wrong)[0]
            == "InvalidCiphertextException"
        )


def test_no_context_collision(kms: Any) -> None:
    """Trap 1: {'ab': 'c'} must not decrypt as {'a': 'bc'}."""
    key = new_key(kms)["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"p", EncryptionContext={"ab": "c"})["CiphertextBlob"]
    assert (
        error_of(kms.decrypt, CiphertextBlob=blob, EncryptionContext={"a": "bc"})[0]
        == "InvalidCiphertextException"
    )
    assert (
        error_of(kms.decrypt, CiphertextBlob=blob, EncryptionContext={"abc": ""})[0]
        == "InvalidCiphertextException"
    )


def test_encrypt_size_limits(kms: Any) -> None:
    key = new_key(kms)["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=os.urandom(4096))["CiphertextBlob"]
    assert len(blob) <= 6144
    code, message = error_of(kms.encrypt, KeyId=key, Plaintext=os.urandom(4097))
    assert code == "ValidationException"
    assert message == (
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        "Member must have length less than or equal to 4096"
    )
    for numbers in (0, 1025):
        assert error_of(kms.generate_random, NumberOfBytes=numbers)[0] == "ValidationException"
    assert len(kms.generate_random(NumberOfBytes=1024)["Plaintext"]) == 1024


def test_decrypt_with_keyid(kms: Any) -> None:
    first, second = new_key(kms), new_key(kms)
    kms.create_alias(AliasName="alias/first", TargetKeyId=first["KeyId"])
    blob = kms.encrypt(KeyId=first["KeyId"], Plaintext=b"p")["CiphertextBlob"]
    for name in (
        first["KeyId"],
        first["Arn"],
        "alias/first",
        "arn:aws:kms:us-east-1:111122223333:alias/first",
    ):
        assert kms.decrypt(CiphertextBlob=blob, KeyId=name)["Plaintext"] == b"p"
    code, _ = error_of(kms.decrypt, CiphertextBlob=blob, KeyId=second["KeyId"])
    assert code == "IncorrectKeyException"  # trap 4: never AccessDenied, never 500
    assert (
        error_of(kms.decrypt, CiphertextBlob=blob, KeyId="alias/nothing")[0] == "NotFoundException"
    )


def test_re_encrypt_moves_ciphertext(kms: Any) -> None:
    source, target = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=source["KeyId"], Plaintext=b"move me", EncryptionContext={"x": "1"})[
        "CiphertextBlob"
    ]
    moved = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"x": "1"},
        DestinationKeyId=target["Arn"],
        DestinationEncryptionContext={"y": "2"},
    )
    assert moved["SourceKeyId"] == source["Arn"] and moved["KeyId"] == target["Arn"]
    assert moved["DestinationKeyMaterialId"] == target["CurrentKeyMaterialId"]
    assert (
        kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"y": "2"})[
            "Plaintext"
        ]
        == b"move me"
    )
    assert (
        error_of(kms.re_encrypt, CiphertextBlob=blob, DestinationKeyId=target["Arn"])[0]
        == "InvalidCiphertextException"
    )


def test_garbage_ciphertext(kms: Any) -> None:
    new_key(kms)
    for blob in (b"x", os.urandom(200), b"\x01" + os.urandom(120)):
        assert error_of(kms.decrypt, CiphertextBlob=blob)[0] == "InvalidCiphertextException"
    key = new_key(kms)["KeyId"]
    good = bytearray(kms.encrypt(KeyId=key, Plaintext=b"p")["CiphertextBlob"])
    good[-1] ^= 1
    assert error_of(kms.decrypt, CiphertextBlob=bytes(good))[0] == "InvalidCiphertextException"


def test_disable_and_enable(kms: Any) -> None:
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"p")["CiphertextBlob"]
    kms.disable_key(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    for call, args in (
        (kms.encrypt, {"KeyId": key["KeyId"], "Plaintext": b"p"}),
        (kms.decrypt, {"CiphertextBlob": blob}),
        (kms.generate_data_key, {"KeyId": key["KeyId"], "KeySpec": "AES_256"}),
        (kms.re_encrypt, {"CiphertextBlob": blob, "DestinationKeyId": key["KeyId"]}),
    ):
        assert error_of(call, **args) == ("DisabledException", f"{key['Arn']} is disabled.")
    kms.enable_key(KeyId=key["Arn"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"p"


def test_schedule_and_cancel_deletion(kms: Any, clock: ManualClock) -> None:
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"p")["CiphertextBlob"]
    scheduled = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert scheduled["KeyState"] == "PendingDeletion" and scheduled["PendingWindowInDays"] == 7
    assert abs(scheduled["DeletionDate"].timestamp() - (clock.now() + 7 * 86400)) < 1
    described = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert (
        described["KeyState"] == "PendingDeletion" and described["PendingDeletionWindowInDays"] == 7
    )
    assert error_of(kms.decrypt, CiphertextBlob=blob) == (
        "KMSInvalidStateException",
        f"{key['Arn']} is pending deletion.",
    )
    assert error_of(kms.enable_key, KeyId=key["KeyId"])[0] == "KMSInvalidStateException"
    assert error_of(kms.schedule_key_deletion, KeyId=key["KeyId"])[0] == "KMSInvalidStateException"
    assert kms.cancel_key_deletion(KeyId=key["KeyId"])["KeyId"] == key["Arn"]
    assert (
        kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    )  # as AWS does
    assert error_of(kms.cancel_key_deletion, KeyId=key["KeyId"])[0] == "KMSInvalidStateException"


@pytest.mark.parametrize("days", [6, 31, 0])
def test_pending_window_is_7_to_30(kms: Any, days: int) -> None:
    """Trap 11: the model allows 1-365, the service 7-30."""
    key = new_key(kms)["KeyId"]
    code, message = error_of(kms.schedule_key_deletion, KeyId=key, PendingWindowInDays=days)
    assert code == "ValidationException" and "pendingWindowInDays" in message


def test_key_is_really_deleted_after_the_window(
    server: InProcessServer, kms: Any, clock: ManualClock
) -> None:
    """Trap 12: after DeletionDate the key is gone, however it is observed."""
    key = new_key(kms)
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    clock.advance(7 * 86400 - 60)
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    clock.advance(61)
    assert error_of(kms.describe_key, KeyId=key["KeyId"]) == (
        "NotFoundException",
        f"Key '{key['Arn']}' does not exist",
    )
    assert key["KeyId"] not in {k["KeyId"] for k in kms.list_keys()["Keys"]}
    assert "alias/doomed" not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    assert server.service.store.keys.get_key(key["KeyId"]) is None


def test_idle_service_deletes_due_keys(
    server: InProcessServer, kms: Any, clock: ManualClock
) -> None:
    keys = [new_key(kms)["KeyId"] for _ in range(3)]
    for key in keys[:2]:
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    clock.advance(8 * 86400)
    assert server.service.sweep() == 2  # what the periodic sweeper runs
    assert [server.service.store.keys.get_key(k) is None for k in keys] == [True, True, False]


def test_aliases(kms: Any) -> None:
    first, second = new_key(kms), new_key(kms)
    kms.create_alias(AliasName="alias/app", TargetKeyId=first["Arn"])
    code, message = error_of(kms.create_alias, AliasName="alias/app", TargetKeyId=second["KeyId"])
    assert code == "AlreadyExistsException"
    assert (
        message
        == "An alias with the name arn:aws:kms:us-east-1:111122223333:alias/app already exists"
    )
    listed = kms.list_aliases(KeyId=first["KeyId"])["Aliases"]
    assert [(a["AliasName"], a["TargetKeyId"]) for a in listed] == [("alias/app", first["KeyId"])]
    assert listed[0]["AliasArn"] == "arn:aws:kms:us-east-1:111122223333:alias/app"
    blob = kms.encrypt(KeyId="alias/app", Plaintext=b"old")["CiphertextBlob"]
    kms.update_alias(AliasName="alias/app", TargetKeyId=second["KeyId"])  # manual rotation by alias
    assert kms.encrypt(KeyId="alias/app", Plaintext=b"new")["KeyId"] == second["Arn"]
    assert (
        kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"old"
    )  # the old key still decrypts its data
    for target in ("alias/app", "arn:aws:kms:us-east-1:111122223333:alias/app"):
        assert error_of(kms.create_alias, AliasName="alias/other", TargetKeyId=target) == (
            "ValidationException",
            "Aliases must refer to keys. Not aliases",
        )
        assert error_of(kms.update_alias, AliasName="alias/app", TargetKeyId=target)[0] == (
            "ValidationException"
        )
    kms.delete_alias(AliasName="alias/app")
    assert error_of(kms.delete_alias, AliasName="alias/app")[0] == "NotFoundException"
    assert error_of(kms.encrypt, KeyId="alias/app", Plaintext=b"x") == (
        "NotFoundException",
        "Alias arn:aws:kms:us-east-1:111122223333:alias/app is not found.",
    )


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("alias/aws/mine", "NotAuthorizedException"),
        ("app", "ValidationException"),
        ("alias/", "ValidationException"),
    ],
)
def test_bad_alias_names(kms: Any, name: str, code: str) -> None:
    """Trap 13: the alias/aws/ prefix is reserved (AWS's exact answers:
    test_aws_exact_answers.py)."""
    key = new_key(kms)["KeyId"]
    assert error_of(kms.create_alias, AliasName=name, TargetKeyId=key)[0] == code


def test_alias_cannot_point_at_a_key_pending_deletion(kms: Any) -> None:
    key = new_key(kms)["KeyId"]
    kms.schedule_key_deletion(KeyId=key)
    assert (
        error_of(kms.create_alias, AliasName="alias/x", TargetKeyId=key)[0]
        == "KMSInvalidStateException"
    )


def test_tags(kms: Any) -> None:
    key = new_key(kms)["KeyId"]
    kms.tag_resource(
        KeyId=key, Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "2"}]
    )
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "a", "TagValue": "3"}])
    kms.untag_resource(KeyId=key, TagKeys=["b"])
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "a", "TagValue": "3"}]
    for reserved in ("aws:x", "AWS:x", "Aws:x"):  # the prefix is reserved in any case
        assert (
            error_of(kms.tag_resource, KeyId=key, Tags=[{"TagKey": reserved, "TagValue": "1"}])[0]
            == "TagException"
        )
    many = [{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)]
    assert error_of(kms.tag_resource, KeyId=key, Tags=many) == ("TagException", "Too many tags")
    assert error_of(kms.create_key, Tags=many) == ("TagException", "Too many tags")
    forty_nine = [{"TagKey": f"k{i}", "TagValue": "v"} for i in range(49)]
    kms.tag_resource(KeyId=key, Tags=forty_nine)  # 50 with "a"
    assert error_of(kms.tag_resource, KeyId=key, Tags=[{"TagKey": "z", "TagValue": "v"}]) == (
        "TagException",
        "Too many tags",
    )


def test_key_identifiers(kms: Any) -> None:
    key = new_key(kms)
    assert error_of(kms.describe_key, KeyId="not-a-key") == (
        "NotFoundException",
        "Invalid keyId 'not-a-key'",
    )
    missing = "11111111-2222-3333-4444-555555555555"
    assert error_of(kms.describe_key, KeyId=missing)[0] == "NotFoundException"
    assert (
        error_of(kms.describe_key, KeyId="arn:aws:kms:us-east-1:111122223333:nonsense")[0]
        == "InvalidArnException"
    )
    # management operations take key ids and ARNs, not aliases
    kms.create_alias(AliasName="alias/k", TargetKeyId=key["KeyId"])
    assert error_of(kms.disable_key, KeyId="alias/k")[0] == "NotFoundException"


def test_other_accounts_keys_are_off_limits(server: InProcessServer, kms: Any) -> None:
    key = new_key(kms)
    other = server.client(server.credentials(OTHER_ACCOUNT, "mallory"))
    code, message = error_of(other.encrypt, KeyId=key["Arn"], Plaintext=b"x")
    assert code == "AccessDeniedException"
    assert message == (
        f"User: arn:aws:iam::{OTHER_ACCOUNT}:user/mallory is not authorized to perform: kms:Encrypt "
        f"on resource: {key['Arn']} because no resource-based policy allows the kms:Encrypt action"
    )
    assert (
        error_of(other.describe_key, KeyId=key["KeyId"])[0] == "NotFoundException"
    )  # ids are per account
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"p")["CiphertextBlob"]
    assert error_of(other.decrypt, CiphertextBlob=blob)[0] == "AccessDeniedException"
    assert key["KeyId"] not in {k["KeyId"] for k in other.list_keys()["Keys"]}


def test_regions_are_separate(server: InProcessServer, kms: Any) -> None:
    credentials = server.credentials(user="bob")
    east, west = server.client(credentials, "us-east-1"), server.client(credentials, "eu-west-1")
    key = new_key(west)
    assert key["Arn"].startswith("arn:aws:kms:eu-west-1:111122223333:key/")
    assert key["KeyId"] not in {k["KeyId"] for k in east.list_keys()["Keys"]}
    blob = west.encrypt(KeyId=key["KeyId"], Plaintext=b"p")["CiphertextBlob"]
    assert error_of(east.decrypt, CiphertextBlob=blob)[0] == "InvalidCiphertextException"
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"p"


def test_unsupported_operations_answer_clearly(kms: Any) -> None:
    assert error_of(kms.create_key, KeySpec="SM2", KeyUsage="SIGN_VERIFY") == (
        "UnsupportedOperationException",
        "KeySpec SM2 is not supported in this Region",
    )
    code, message = error_of(
        kms.create_key, KeySpec="ML_KEM_768", KeyUsage="ENCAPSULATE_DECAPSULATE"
    )
    assert code == "UnsupportedOperationException" and "ML-KEM" in message
    code, message = error_of(
        kms.encapsulate, KeyId=new_key(kms)["KeyId"], EncapsulationAlgorithm="ML_KEM"
    )
    assert code == "UnsupportedOperationException" and "ML-KEM" in message
    assert error_of(kms.create_key, MultiRegion=True, Origin="EXTERNAL")[0] == (
        "UnsupportedOperationException"
    )
    assert error_of(kms.describe_custom_key_stores)[0] == "UnsupportedOperationException"


def test_external_origin_key_waits_for_material(kms: Any) -> None:
    key = new_key(kms, Origin="EXTERNAL")
    assert (
        key["KeyState"] == "PendingImport"
        and key["Enabled"] is False
        and "CurrentKeyMaterialId" not in key
    )
    assert error_of(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x") == (
        "KMSInvalidStateException",
        f"{key['Arn']} is pending import.",
    )


def test_dry_run(kms: Any) -> None:
    key = new_key(kms)["KeyId"]
    assert (
        error_of(kms.encrypt, KeyId=key, Plaintext=b"x", DryRun=True)[0]
        == "DryRunOperationException"
    )
    kms.disable_key(KeyId=key)
    assert error_of(kms.encrypt, KeyId=key, Plaintext=b"x", DryRun=True)[0] == "DisabledException"


def test_update_key_description_and_policy_stored(kms: Any) -> None:
    policy = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]}'
    )
    key = new_key(kms, Policy=policy)["KeyId"]
    assert kms.get_key_policy(KeyId=key)["Policy"] == policy  # stored as given
    kms.update_key_description(KeyId=key, Description="new words")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Description"] == "new words"
    assert error_of(kms.create_key, Policy="{not json")[0] == "MalformedPolicyDocumentException"
