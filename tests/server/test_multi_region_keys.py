"""Multi-Region keys: one mrk- key id with a copy per region, sharing key material (so a
ciphertext made in one region decrypts in another) and rotation, each copy with its own
policy, tags, state and deletion; ReplicateKey, UpdatePrimaryRegion and AWS's rules."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sealbox.server.clock import ManualClock
from tests.server.harness import (
    DEV_ACCOUNT,
    InProcessServer,
    aws_cli,
    build_service,
    error_of,
    manual_clock,
)

EAST, WEST, EU = "us-east-1", "us-west-2", "eu-west-1"
DAY = 86400.0


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return manual_clock()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, clock: ManualClock
) -> Iterator[InProcessServer]:
    running = InProcessServer(build_service(tmp_path_factory.mktemp("mrk"), clock))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def clients(server: InProcessServer) -> dict[str, Any]:
    credentials = server.credentials(DEV_ACCOUNT, "alice")
    return {region: server.client(credentials, region) for region in (EAST, WEST, EU)}


def _mrk(clients: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    made: dict[str, Any] = clients[EAST].create_key(MultiRegion=True, **kwargs)["KeyMetadata"]
    return made


def test_create_and_replicate(clients: dict[str, Any]) -> None:
    key = _mrk(clients, Description="primary")
    key_id = key["KeyId"]
    assert re.fullmatch(r"mrk-[0-9a-f]{32}", key_id) and key["MultiRegion"] is True
    primary_arn = f"arn:aws:kms:{EAST}:{DEV_ACCOUNT}:key/{key_id}"
    assert key["Arn"] == primary_arn
    assert key["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "PRIMARY",
        "PrimaryKey": {"Arn": primary_arn, "Region": EAST},
        "ReplicaKeys": [],
    }
    replicated = clients[EAST].replicate_key(KeyId=key_id, ReplicaRegion=WEST,
                                             Tags=[{"TagKey": "team", "TagValue": "west"}])  # fmt: skip
    replica = replicated["ReplicaKeyMetadata"]
    west_arn = f"arn:aws:kms:{WEST}:{DEV_ACCOUNT}:key/{key_id}"
    assert (replica["KeyId"], replica["Arn"], replica["Description"]) == (key_id, west_arn, "")
    assert replica["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "REPLICA",
        "PrimaryKey": {"Arn": primary_arn, "Region": EAST},
        "ReplicaKeys": [{"Arn": west_arn, "Region": WEST}],
    }
    assert replicated["ReplicaTags"] == [{"TagKey": "team", "TagValue": "west"}]
    assert json.loads(replicated["ReplicaPolicy"])["Id"] == "key-default-1"
    described = clients[WEST].describe_key(KeyId=key_id)["KeyMetadata"]
    assert described["Arn"] == west_arn and described["KeyState"] == "Enabled"
    primary = clients[EAST].describe_key(KeyId=key_id)["KeyMetadata"]
    assert primary["MultiRegionConfiguration"]["ReplicaKeys"] == [{"Arn": west_arn, "Region": WEST}]
    assert primary["Description"] == "primary"
    # tags are each copy's own; the key id lists in each region
    assert clients[EAST].list_resource_tags(KeyId=key_id)["Tags"] == []
    assert key_id in {k["KeyId"] for k in clients[WEST].list_keys()["Keys"]}
    assert key_id not in {k["KeyId"] for k in clients[EU].list_keys()["Keys"]}
    assert error_of(clients[EU].describe_key, KeyId=key_id) == (
        "NotFoundException",
        f"Key 'arn:aws:kms:{EU}:{DEV_ACCOUNT}:key/{key_id}' does not exist",
    )


def test_ciphertexts_cross_regions(clients: dict[str, Any]) -> None:
    key_id = _mrk(clients)["KeyId"]
    clients[EAST].replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    context = {"app": "orders"}
    blob = clients[EAST].encrypt(
        KeyId=key_id, Plaintext=b"from the east", EncryptionContext=context
    )["CiphertextBlob"]
    opened = clients[WEST].decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert opened["Plaintext"] == b"from the east"
    assert opened["KeyId"] == f"arn:aws:kms:{WEST}:{DEV_ACCOUNT}:key/{key_id}"
    data_key = clients[WEST].generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert (
        clients[EAST].decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"]
        == (data_key["Plaintext"])
    )
    # a region with no copy cannot open it, and cannot tell it from garbage
    assert error_of(clients[EU].decrypt, CiphertextBlob=blob, EncryptionContext=context)[0] == (
        "InvalidCiphertextException"
    )
    # each copy's state is its own
    clients[WEST].disable_key(KeyId=key_id)
    assert error_of(clients[WEST].decrypt, CiphertextBlob=blob, EncryptionContext=context)[0] == (
        "DisabledException"
    )
    assert clients[EAST].decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]
    clients[WEST].enable_key(KeyId=key_id)


def test_asymmetric_multi_region_keys_share_their_key_pair(clients: dict[str, Any]) -> None:
    key_id = _mrk(clients, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyId"]
    clients[EAST].replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    assert (
        clients[EAST].get_public_key(KeyId=key_id)["PublicKey"]
        == (clients[WEST].get_public_key(KeyId=key_id)["PublicKey"])
    )
    signed = clients[WEST].sign(KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    assert clients[EAST].verify(KeyId=key_id, Message=b"m", Signature=signed["Signature"],
                                SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"]  # fmt: skip


def test_rotation_is_the_primarys_and_reaches_replicas(clients: dict[str, Any]) -> None:
    key_id = _mrk(clients)["KeyId"]
    clients[EAST].replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    before = clients[WEST].encrypt(KeyId=key_id, Plaintext=b"old")["CiphertextBlob"]
    clients[EAST].rotate_key_on_demand(KeyId=key_id)
    after = clients[EAST].encrypt(KeyId=key_id, Plaintext=b"new")
    assert clients[WEST].decrypt(CiphertextBlob=after["CiphertextBlob"])["Plaintext"] == b"new"
    assert clients[EAST].decrypt(CiphertextBlob=before)["Plaintext"] == b"old"
    west_rotations = clients[WEST].list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in west_rotations] == ["ON_DEMAND"]
    replica_arn = f"arn:aws:kms:{WEST}:{DEV_ACCOUNT}:key/{key_id}"
    for call in (clients[WEST].enable_key_rotation, clients[WEST].rotate_key_on_demand):
        code, message = error_of(call, KeyId=key_id)
        assert code == "UnsupportedOperationException" and replica_arn in message
    clients[EAST].enable_key_rotation(KeyId=key_id, RotationPeriodInDays=120)
    status = clients[WEST].get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 120
    assert status["KeyId"] == replica_arn


def test_replicate_key_refusals(clients: dict[str, Any]) -> None:
    single = clients[EAST].create_key()["KeyMetadata"]
    assert error_of(clients[EAST].replicate_key, KeyId=single["KeyId"], ReplicaRegion=WEST) == (
        "UnsupportedOperationException",
        f"{single['Arn']} is not a multi-region primary key.",
    )
    key_id = _mrk(clients)["KeyId"]
    assert error_of(clients[EAST].replicate_key, KeyId=key_id, ReplicaRegion=EAST)[0] == (
        "ValidationException"
    )
    clients[EAST].replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    assert error_of(clients[EAST].replicate_key, KeyId=key_id, ReplicaRegion=WEST)[0] == (
        "AlreadyExistsException"
    )
    clients[EAST].disable_key(KeyId=key_id)
    assert error_of(clients[EAST].replicate_key, KeyId=key_id, ReplicaRegion=EU)[0] == (
        "DisabledException"
    )
    clients[EAST].enable_key(KeyId=key_id)
    assert error_of(clients[WEST].replicate_key, KeyId=key_id, ReplicaRegion=EU) == (
        "UnsupportedOperationException",
        f"arn:aws:kms:{WEST}:{DEV_ACCOUNT}:key/{key_id} is not a multi-region primary key.",
    )
    assert error_of(clients[EAST].create_key, MultiRegion=True, Origin="EXTERNAL")[0] == (
        "UnsupportedOperationException"
    )


def test_update_primary_region(clients: dict[str, Any]) -> None:
    key_id = _mrk(clients)["KeyId"]
    clients[EAST].replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    clients[EAST].enable_key_rotation(KeyId=key_id)
    assert error_of(clients[EAST].update_primary_region, KeyId=key_id, PrimaryRegion=EU) == (
        "NotFoundException",
        f"Key 'arn:aws:kms:{EU}:{DEV_ACCOUNT}:key/{key_id}' does not exist",
    )
    clients[WEST].disable_key(KeyId=key_id)
    assert error_of(clients[EAST].update_primary_region, KeyId=key_id, PrimaryRegion=WEST)[0] == (
        "DisabledException"
    )
    clients[WEST].enable_key(KeyId=key_id)
    clients[EAST].update_primary_region(KeyId=key_id, PrimaryRegion=WEST)
    west = clients[WEST].describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]
    east = clients[EAST].describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]
    assert (west["MultiRegionKeyType"], east["MultiRegionKeyType"]) == ("PRIMARY", "REPLICA")
    assert east["PrimaryKey"]["Region"] == WEST
    assert east["ReplicaKeys"] == [
        {"Arn": f"arn:aws:kms:{EAST}:{DEV_ACCOUNT}:key/{key_id}", "Region": EAST}
    ]
    assert clients[WEST].get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert error_of(clients[EAST].rotate_key_on_demand, KeyId=key_id)[0] == (
        "UnsupportedOperationException"
    )
    clients[WEST].rotate_key_on_demand(KeyId=key_id)
    assert error_of(clients[EAST].update_primary_region, KeyId=key_id, PrimaryRegion=WEST)[
        1
    ].endswith("is not a multi-region primary key.")


def test_a_primary_waits_for_its_replicas_deletion(
    server: InProcessServer, clients: dict[str, Any], clock: ManualClock
) -> None:
    key_id = _mrk(clients)["KeyId"]
    clients[EAST].replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    scheduled = clients[EAST].schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert scheduled["KeyState"] == "PendingReplicaDeletion" and "DeletionDate" not in scheduled
    primary = clients[EAST].describe_key(KeyId=key_id)["KeyMetadata"]
    assert primary["KeyState"] == "PendingReplicaDeletion" and "DeletionDate" not in primary
    assert primary["PendingDeletionWindowInDays"] == 7
    assert error_of(clients[EAST].encrypt, KeyId=key_id, Plaintext=b"x")[0] == (
        "KMSInvalidStateException"
    )
    clients[WEST].schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    clock.advance(7 * DAY + 1)
    server.service.sweep()
    assert error_of(clients[WEST].describe_key, KeyId=key_id)[0] == "NotFoundException"
    primary = clients[EAST].describe_key(KeyId=key_id)["KeyMetadata"]
    assert primary["KeyState"] == "PendingDeletion"
    assert primary["DeletionDate"].timestamp() == pytest.approx(clock.now() + 7 * DAY, abs=2)
    clients[EAST].cancel_key_deletion(KeyId=key_id)
    assert clients[EAST].describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


def test_the_aws_cli_replicates(
    server: InProcessServer, clients: dict[str, Any], tmp_path: Path
) -> None:
    key_id = _mrk(clients)["KeyId"]
    aws = aws_cli(server, server.credentials(DEV_ACCOUNT, "carol"))
    done = aws(
        "replicate-key", "--key-id", key_id, "--replica-region", EU, "--description", "eu copy"
    )
    assert done.returncode == 0, done.stderr
    replica = json.loads(done.stdout)["ReplicaKeyMetadata"]
    assert replica["Arn"] == f"arn:aws:kms:{EU}:{DEV_ACCOUNT}:key/{key_id}"
    assert replica["Description"] == "eu copy"
    moved = aws("update-primary-region", "--key-id", key_id, "--primary-region", EU)
    assert moved.returncode == 0, moved.stderr
    kind = clients[EU].describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]
    assert kind["MultiRegionKeyType"] == "PRIMARY"
