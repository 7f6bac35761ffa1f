"""Region confinement: a request signed for one region reaches keys and aliases of that region only.

Every operation of the KMS model that names a key or an alias is called, from us-east-1, with
the key ARN and the alias ARN of a key the same principal made in eu-west-1: each answers
NotFoundException as AWS does ("Invalid arn eu-west-1"), and the other region's key is left
exactly as it was.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.loaders
import pytest

from sealbox.server.bootstrap import open_service, prepare
from sealbox.server.config import ServerConfig
from tests.server.harness import (
    DEV_ACCOUNT,
    REGION,
    Credentials,
    InProcessServer,
    error_of,
)

OTHER_REGION = "eu-west-1"
MISSING = ("NotFoundException", f"Invalid arn {OTHER_REGION}")
KEY_NAME_SHAPES = {"KeyIdType", "AliasNameType"}
PATTERNED = {"RegionType": "us-west-2"}  # strings whose model pattern "x" does not meet
MODEL: dict[str, Any] = botocore.loaders.Loader().load_service_model("kms", "service-2")


def _filler(shape_name: str) -> Any:
    """A value of ``shape_name`` that passes the model's validation."""
    shape = MODEL["shapes"][shape_name]
    kind = shape["type"]
    if kind == "structure":
        return {m: _filler(shape["members"][m]["shape"]) for m in shape.get("required", [])}
    if kind == "list":
        return [_filler(shape["member"]["shape"])] * max(1, shape.get("min", 1))
    if kind == "map":
        return {}
    if kind == "string":
        if shape_name in PATTERNED:
            return PATTERNED[shape_name]
        return shape["enum"][0] if "enum" in shape else "x" * max(1, shape.get("min", 1))
    if kind == "blob":
        return b"x" * max(1, shape.get("min", 1))
    if kind in ("integer", "long"):
        return max(1, shape.get("min", 1))
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return time.time() + 86400
    raise AssertionError(f"no filler for {shape_name} ({kind})")


def _key_naming_requests() -> list[tuple[str, str, str]]:
    """(operation, member, form) for every member of every operation that names a key or an
    alias; a KeyId member is tried with a key ARN and an alias ARN, an AliasName with an alias ARN."""
    cases = []
    for name, spec in sorted(MODEL["operations"].items()):
        if "input" not in spec:
            continue
        for member, ref in MODEL["shapes"][spec["input"]["shape"]]["members"].items():
            if ref["shape"] == "KeyIdType":
                cases += [(name, member, "key-arn"), (name, member, "alias-arn")]
            elif ref["shape"] == "AliasNameType":
                cases.append((name, member, "alias-arn"))
    return cases


CASES = _key_naming_requests()


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


@dataclasses.dataclass
class World:
    server: InProcessServer
    credentials: Credentials
    home: Any  # client signing for us-east-1
    away: Any  # the same principal, signing for eu-west-1
    home_key: str
    away_key: dict[str, Any]
    away_alias_arn: str

    def away_state(self) -> dict[str, Any]:
        """Everything an operation could have changed on the eu-west-1 key."""
        away, key_id = self.away, self.away_key["KeyId"]
        metadata = away.describe_key(KeyId=key_id)["KeyMetadata"]
        return {
            "metadata": metadata,
            "policy": away.get_key_policy(KeyId=key_id)["Policy"],
            "tags": away.list_resource_tags(KeyId=key_id)["Tags"],
            "grants": away.list_grants(KeyId=key_id)["Grants"],
            "aliases": away.list_aliases(KeyId=key_id)["Aliases"],
            "rotation": {
                k: v
                for k, v in away.get_key_rotation_status(KeyId=key_id).items()
                if k != "ResponseMetadata"
            },
            "rotations": away.list_key_rotations(
                KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL"
            )["Rotations"],
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("regions")
    config = ServerConfig(data_dir=directory / "data", root_key=str(directory / "root.key"))
    prepare(config)
    server = InProcessServer(open_service(config))
    try:
        credentials = server.credentials(user="carol")
        home, away = server.client(credentials, REGION), server.client(credentials, OTHER_REGION)
        away_key = away.create_key(Description="eu only", Tags=[{"TagKey": "t", "TagValue": "v"}])[
            "KeyMetadata"
        ]
        away.create_alias(AliasName="alias/shared-name", TargetKeyId=away_key["KeyId"])
        # the same alias name exists at home too: only the ARN's region tells them apart
        home_key = home.create_key()["KeyMetadata"]["KeyId"]
        home.create_alias(AliasName="alias/shared-name", TargetKeyId=home_key)
        alias_arn = f"arn:aws:kms:{OTHER_REGION}:{DEV_ACCOUNT}:alias/shared-name"
        yield World(server, credentials, home, away, home_key, away_key, alias_arn)
    finally:
        server.stop()


def test_the_table_covers_the_operations_named_in_the_issue() -> None:
    operations = {operation for operation, _, _ in CASES}
    assert {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "DescribeKey",
        "DisableKey",
        "EnableKey",
        "ScheduleKeyDeletion",
        "CreateGrant",
        "RetireGrant",
        "RevokeGrant",
        "ListGrants",
        "ListAliases",
        "ListResourceTags",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
    } <= operations
    members = {member for _, member, _ in CASES}
    assert {"KeyId", "TargetKeyId", "SourceKeyId", "DestinationKeyId", "AliasName"} <= members


@pytest.mark.parametrize(("operation", "member", "form"), CASES)
def test_another_regions_key_is_not_found(
    world: World, operation: str, member: str, form: str
) -> None:
    before = world.away_state()
    spec = MODEL["operations"][operation]
    shape = MODEL["shapes"][spec["input"]["shape"]]
    params = {m: _filler(shape["members"][m]["shape"]) for m in shape.get("required", [])}
    # every other key-naming member names something real at home, so only ``member`` is foreign
    for other, ref in shape["members"].items():
        if ref["shape"] == "KeyIdType" and other in params:
            params[other] = world.home_key
        elif ref["shape"] == "AliasNameType":
            params[other] = "alias/fresh-name"
    if "CiphertextBlob" in shape["members"]:
        params["CiphertextBlob"] = world.home.encrypt(KeyId=world.home_key, Plaintext=b"p")[
            "CiphertextBlob"
        ]
    params[member] = world.away_key["Arn"] if form == "key-arn" else world.away_alias_arn
    assert error_of(getattr(world.home, _snake(operation)), **params) == MISSING
    assert world.away_state() == before
    assert before["metadata"]["KeyState"] == "Enabled" and "DeletionDate" not in before["metadata"]


def test_the_same_principal_still_reaches_it_in_its_own_region(world: World) -> None:
    blob = world.away.encrypt(KeyId=world.away_alias_arn, Plaintext=b"p")["CiphertextBlob"]
    assert world.away.decrypt(CiphertextBlob=blob, KeyId=world.away_key["Arn"])["Plaintext"] == b"p"
    # ...and from home its ciphertext is as unknown as garbage, with or without a KeyId
    assert error_of(world.home.decrypt, CiphertextBlob=blob)[0] == "InvalidCiphertextException"
    assert (
        error_of(world.home.re_encrypt, CiphertextBlob=blob, DestinationKeyId=world.home_key)[0]
        == "InvalidCiphertextException"
    )


def test_a_grant_token_of_another_region_reaches_nothing(world: World) -> None:
    key_id, arn = world.away_key["KeyId"], world.credentials.arn
    grant = world.away.create_grant(
        KeyId=key_id, GranteePrincipal=arn, RetiringPrincipal=arn, Operations=["Encrypt"]
    )
    try:
        assert error_of(world.home.retire_grant, GrantToken=grant["GrantToken"]) == (
            "NotFoundException",
            "The grant this token names does not exist (it was retired or revoked).",
        )
        assert [g["GrantId"] for g in world.away.list_grants(KeyId=key_id)["Grants"]] == [
            grant["GrantId"]
        ]
        # ListRetirableGrants lists the grants of the request's region only
        assert world.home.list_retirable_grants(RetiringPrincipal=arn)["Grants"] == []
        listed = world.away.list_retirable_grants(RetiringPrincipal=arn)["Grants"]
        assert [g["GrantId"] for g in listed] == [grant["GrantId"]]
    finally:
        world.away.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])


def test_a_deny_on_the_requested_region_cannot_be_sidestepped(world: World) -> None:
    """The issue's case: Deny in eu-west-1, sign for us-east-1, name the eu-west-1 key's ARN."""
    server = world.server
    limited = server.credentials(user="dave")
    server.put_user_policy(
        DEV_ACCOUNT,
        "dave",
        "no-eu",
        [
            {
                "Effect": "Deny",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": OTHER_REGION}},
            }
        ],
    )
    home, away = server.client(limited, REGION), server.client(limited, OTHER_REGION)
    arn = world.away_key["Arn"]
    assert error_of(away.encrypt, KeyId=arn, Plaintext=b"x")[0] == "AccessDeniedException"
    calls: list[tuple[Any, dict[str, Any]]] = [
        (home.encrypt, {"Plaintext": b"x"}),
        (home.generate_data_key, {"KeySpec": "AES_256"}),
        (home.describe_key, {}),
        (home.disable_key, {}),
        (home.schedule_key_deletion, {"PendingWindowInDays": 7}),
    ]
    for call, params in calls:
        assert error_of(call, KeyId=arn, **params) == MISSING
    assert world.away.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"


@pytest.fixture
def eu_key_then_us_only(tmp_path: Path) -> Iterator[tuple[InProcessServer, Credentials, str]]:
    """A key made in eu-west-1; then the same store served with ``--regions us-east-1``."""
    config = ServerConfig(data_dir=tmp_path / "data", root_key=str(tmp_path / "root.key"))
    prepare(config)
    first = InProcessServer(open_service(config))
    try:
        credentials = first.credentials(user="erin")
        arn = first.client(credentials, OTHER_REGION).create_key()["KeyMetadata"]["Arn"]
    finally:
        first.stop()  # closes its store too
    restricted = dataclasses.replace(config, regions=(REGION,))
    server = InProcessServer(open_service(restricted))
    try:
        yield server, credentials, arn
    finally:
        server.stop()


def test_the_regions_setting_holds_for_keys_named_by_arn(
    eu_key_then_us_only: tuple[InProcessServer, Credentials, str],
) -> None:
    server, credentials, arn = eu_key_then_us_only
    home, away = server.client(credentials, REGION), server.client(credentials, OTHER_REGION)
    assert error_of(away.describe_key, KeyId=arn)[0] == "InvalidSignatureException"
    assert error_of(home.encrypt, KeyId=arn, Plaintext=b"x") == MISSING
    assert error_of(home.schedule_key_deletion, KeyId=arn) == MISSING
    record = server.service.store.keys.get_key(arn.rsplit("/", 1)[1])
    assert record is not None and record.key_state == "Enabled"
    assert json.loads(record.policy)["Statement"]  # untouched, still the default policy
