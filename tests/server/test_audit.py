"""The audit log: one record per request whatever its outcome, nothing secret in it,
tampering detected by `sealbox audit verify`, and no answer when no record can be written."""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sealbox.server.audit.records import MAX_RECORD
from sealbox.server.clock import ManualClock
from sealbox.server.store.audit_rows import AuditAppender
from sealbox.server.store.repository import Store
from tests.server.harness import (
    DEV_ACCOUNT,
    OTHER_ACCOUNT,
    InProcessServer,
    RawClient,
    build_service,
    error_of,
)

RUN_LENGTH = 1500
DAY = 86400.0


def records(store: Store) -> list[dict[str, Any]]:
    return [json.loads(row.record) for row in store.audit.rows()]


def sealbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sealbox", *args], capture_output=True, text=True, timeout=120
    )


def store_flags(directory: Path, database: str | None = None) -> list[str]:
    flags = ["--data-dir", str(directory / "data"), "--root-key", str(directory / "root.key")]
    return [*flags, "--database", database] if database else flags


def test_a_randomized_run_is_recorded_one_to_one_without_secrets(server: InProcessServer) -> None:
    rng = random.Random(20261122)
    admin = server.credentials()
    dev = server.credentials(user="dev", admin=False)
    as_admin, as_dev = RawClient(server.endpoint, admin), RawClient(server.endpoint, dev)
    _, created_headers, created = as_admin.send("TrentService.CreateKey", "{}")
    key = created["KeyMetadata"]["Arn"]
    answered: dict[str, tuple[str, str]] = {}  # request id -> (operation, error code or "")
    secrets: list[bytes] = [admin.secret_access_key.encode(), dev.secret_access_key.encode()]
    blobs: list[tuple[str, dict[str, str]]] = []

    def send(client: RawClient, operation: str | None, body: Any, **options: Any) -> Any:
        text = body if isinstance(body, str | bytes) else json.dumps(body)
        status, headers, document = client.send(
            None if operation is None else f"TrentService.{operation}", text, **options
        )
        request_id = headers["x-amzn-requestid"]
        assert request_id not in answered
        code = "" if status == 200 else document["__type"]
        answered[request_id] = (operation or "unknown", code)
        return document

    for n in range(RUN_LENGTH):
        kind = rng.choice(
            [
                "encrypt",
                "encrypt",
                "decrypt",
                "data_key",
                "denied",
                "malformed",
                "invalid",
                "unknown_operation",
                "bad_signature",
                "unsigned",
                "not_found",
                "tag",
            ]
        )
        context = {"tenant": f"t{rng.randrange(5)}", "n": str(n)}
        if kind == "encrypt":
            plaintext = f"canary-plaintext-{n}-{rng.getrandbits(64):016x}".encode()
            secrets.append(plaintext)
            result = send(
                as_admin,
                "Encrypt",
                {
                    "KeyId": key,
                    "Plaintext": base64.b64encode(plaintext).decode(),
                    "EncryptionContext": context,
                },
            )
            blobs.append((result["CiphertextBlob"], context))
            secrets.append(base64.b64decode(result["CiphertextBlob"]))
        elif kind == "decrypt" and blobs:
            blob, used = rng.choice(blobs)
            send(as_admin, "Decrypt", {"CiphertextBlob": blob, "EncryptionContext": used})
        elif kind == "data_key":
            result = send(
                as_admin,
                "GenerateDataKey",
                {"KeyId": key, "KeySpec": "AES_256", "EncryptionContext": context},
            )
            secrets += [
                base64.b64decode(result["Plaintext"]),
                base64.b64decode(result["CiphertextBlob"]),
            ]
        elif kind == "denied":
            assert send(as_dev, "GenerateDataKey", {"KeyId": key, "KeySpec": "AES_256"})[
                "__type"
            ] == ("AccessDeniedException")
        elif kind == "malformed":
            assert send(as_admin, "Encrypt", "{not json")["__type"] == "SerializationException"
        elif kind == "invalid":
            assert send(as_admin, "Encrypt", {"KeyId": key})["__type"] == "ValidationException"
        elif kind == "unknown_operation":
            assert send(as_admin, "MakeCoffee", {})["__type"] == "UnknownOperationException"
        elif kind == "bad_signature":
            document = send(
                as_admin, "Encrypt", {"KeyId": key, "Plaintext": "AAAA"}, secret="wrong" * 8
            )
            assert document["__type"] == "InvalidSignatureException"
        elif kind == "unsigned":
            assert (
                send(as_admin, "ListKeys", {}, sign=False)["__type"]
                == "MissingAuthenticationTokenException"
            )
        elif kind == "not_found":
            assert (
                send(as_admin, "DescribeKey", {"KeyId": "alias/missing"})["__type"]
                == "NotFoundException"
            )
        else:
            send(
                as_admin,
                "TagResource",
                {"KeyId": key, "Tags": [{"TagKey": f"k{n % 7}", "TagValue": str(n)}]},
            )

    logged = records(server.service.store)
    by_id = {record["requestID"]: record for record in logged if "requestID" in record}
    assert len(by_id) == len(logged)  # no duplicates
    # one record per request: those of the run, and the CreateKey before it
    assert len(answered) > RUN_LENGTH * 0.9
    assert set(by_id) == set(answered) | {created_headers["x-amzn-requestid"]}
    assert len(logged) == len(answered) + 1
    for request_id, (operation, code) in answered.items():
        record = by_id[request_id]
        assert record["eventName"] == ("unknown" if operation == "MakeCoffee" else operation)
        assert record.get("errorCode", "") == code
        assert record["eventSource"] == "kms.amazonaws.com" and record["awsRegion"] in (
            "us-east-1",
            "",
        )
        assert record["sourceIPAddress"] == "127.0.0.1"

    # nothing secret in the log: no plaintext, data key, blob or secret key, in any encoding
    text = "\n".join(row.record for row in server.service.store.audit.rows())
    for secret in secrets:
        for encoded in (secret, base64.b64encode(secret), secret.hex().encode()):
            assert encoded.decode("latin-1") not in text
    # ...while what is not secret is there, as CloudTrail has it
    an_encrypt = next(r for r in logged if r["eventName"] == "Encrypt" and "errorCode" not in r)
    assert set(an_encrypt["requestParameters"]) == {"keyId", "encryptionContext"}
    assert an_encrypt["resources"] == [
        {"accountId": DEV_ACCOUNT, "type": "AWS::KMS::Key", "ARN": key}
    ]
    unsigned = next(
        r for r in logged if r.get("errorCode") == "MissingAuthenticationTokenException"
    )
    assert unsigned["userIdentity"] == {"type": "Unknown"} and unsigned["requestParameters"] is None
    assert len(json.dumps(unsigned)) < 1024  # unauthenticated requests are recorded compactly


def test_alias_changes_name_the_keys_they_touch(server: InProcessServer, kms: Any) -> None:
    """As AWS's records do: DeleteAlias names the key the alias named, UpdateAlias both."""
    first, second = (kms.create_key()["KeyMetadata"]["Arn"] for _ in range(2))
    kms.create_alias(AliasName="alias/audited-move", TargetKeyId=first)
    moved = kms.update_alias(AliasName="alias/audited-move", TargetKeyId=second)
    deleted = kms.delete_alias(AliasName="alias/audited-move")
    logged = {r["requestID"]: r for r in records(server.service.store)}
    named = {
        name: sorted(
            resource["ARN"]
            for resource in logged[answer["ResponseMetadata"]["RequestId"]]["resources"]
        )
        for name, answer in (("update", moved), ("delete", deleted))
    }
    assert named == {"update": sorted([first, second]), "delete": [second]}


def test_records_match_what_boto3_saw(server: InProcessServer, kms: Any) -> None:
    created = kms.create_key(Description="audited")
    key = created["KeyMetadata"]["Arn"]
    encrypted = kms.encrypt(KeyId=key, Plaintext=b"p", EncryptionContext={"purpose": "audit"})
    refused = error_of(kms.decrypt, CiphertextBlob=encrypted["CiphertextBlob"])
    logged = {r["requestID"]: r for r in records(server.service.store)}
    record = logged[encrypted["ResponseMetadata"]["RequestId"]]
    assert record["requestID"] == encrypted["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert record["eventName"] == "Encrypt" and record["readOnly"] is True
    assert record["userIdentity"]["arn"] == f"arn:aws:iam::{DEV_ACCOUNT}:user/alice"
    assert (
        record["userIdentity"]["type"] == "IAMUser"
        and record["userIdentity"]["accountId"] == DEV_ACCOUNT
    )
    assert record["requestParameters"] == {"keyId": key, "encryptionContext": {"purpose": "audit"}}
    assert record["responseElements"] is None
    assert "Boto3" in record["userAgent"] or "botocore" in record["userAgent"]
    assert record["eventTime"].endswith("Z") and len(record["eventID"]) == 36
    creation = logged[created["ResponseMetadata"]["RequestId"]]
    assert creation["readOnly"] is False
    assert creation["responseElements"]["keyMetadata"]["arn"] == key
    failed = [r for r in logged.values() if r.get("errorCode") == "InvalidCiphertextException"]
    assert len(failed) == 1 and failed[0]["errorMessage"] == refused[1]


def test_oversized_parameters_are_summarized(server: InProcessServer, kms: Any) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{DEV_ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    padding = [{**statement, "Sid": f"s{n:05d}" + "x" * 200} for n in range(60)]  # < 32 KB
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement, *padding]})
    assert MAX_RECORD < len(document) <= 32 * 1024
    key = kms.create_key()["KeyMetadata"]["Arn"]
    answer = kms.put_key_policy(KeyId=key, Policy=document)
    record = {r["requestID"]: r for r in records(server.service.store)}[
        answer["ResponseMetadata"]["RequestId"]
    ]
    assert len(json.dumps(record)) <= MAX_RECORD
    assert record["requestParameters"]["truncated"] is True
    assert "policy" in record["requestParameters"]["keys"]


def test_service_events_are_recorded(server: InProcessServer, kms: Any, clock: ManualClock) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    doomed = kms.create_key()["KeyMetadata"]["Arn"]
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    clock.advance(91 * DAY)
    kms.encrypt(KeyId=key, Plaintext=b"finds the rotation due")

    server.service.sweep()
    events = [r for r in records(server.service.store) if r["eventType"] == "AwsServiceEvent"]
    assert [(r["eventName"], r["resources"][0]["ARN"]) for r in events] == [
        ("RotateKey", key),
        ("DeleteKey", doomed),
    ]
    rotation = events[0]
    assert rotation["userIdentity"] == {"accountId": DEV_ACCOUNT, "invokedBy": "kms.amazonaws.com"}
    assert (
        rotation["additionalEventData"]["keyMaterialId"]
        == (kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"])
    )


def test_a_failing_audit_sink_fails_every_request(
    tmp_path: Path,
    server: InProcessServer,
    kms: Any,
    monkeypatch: pytest.MonkeyPatch,
    database: str | None,
) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    keys_before = kms.list_keys()["Keys"]

    def broken(*_: Any, **__: Any) -> None:
        raise OSError("disk full")

    # both ways records reach the database: inside a state change's transaction, and batched
    monkeypatch.setattr(server.service.store.audit, "append", broken)
    monkeypatch.setattr(AuditAppender, "append", broken)
    for call, kwargs in [
        (kms.encrypt, {"KeyId": key, "Plaintext": b"must not be answered"}),
        (kms.generate_data_key, {"KeyId": key, "KeySpec": "AES_256"}),
        (kms.list_keys, {}),
        (kms.create_key, {}),
        (kms.create_alias, {"AliasName": "alias/unaudited", "TargetKeyId": key}),
        (kms.disable_key, {"KeyId": key}),
    ]:
        code, message = error_of(call, **kwargs)
        assert code == "KMSInternalException", (call, code, message)
    monkeypatch.undo()
    # nothing the refused requests tried to change was changed
    assert kms.list_keys()["Keys"] == keys_before
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert error_of(kms.describe_key, KeyId="alias/unaudited")[0] == "NotFoundException"
    kms.encrypt(KeyId=key, Plaintext=b"audited again")
    server.stop()
    verified = sealbox("audit", "verify", *store_flags(tmp_path, database))
    assert verified.returncode == 0, verified.stderr  # the refused requests left no gap


def test_throttling_is_answered_and_recorded(tmp_path: Path, clock: ManualClock) -> None:
    server = InProcessServer(build_service(tmp_path, clock), account_quota=5)
    try:
        kms = server.client()
        other = server.client(server.credentials(account=OTHER_ACCOUNT, user="other"))
        outcomes = []
        for _ in range(40):
            try:
                kms.list_aliases()
                outcomes.append("ok")
            except ClientError as error:
                outcomes.append(error.response["Error"]["Code"])
        assert set(outcomes) == {"ok", "ThrottlingException"} and outcomes.count("ok") >= 5
        other.list_aliases()  # the quota is per account
        throttled = [
            r for r in records(server.service.store) if r.get("errorCode") == "ThrottlingException"
        ]
        assert len(throttled) == outcomes.count("ThrottlingException")
        assert all(r["userIdentity"]["accountId"] == DEV_ACCOUNT for r in throttled)
    finally:
        server.stop()


# -- verification and tampering ------------------------------------------------------------


@pytest.fixture(scope="module")
def audited_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stopped service's directory with a log of 22 records in one chain."""
    directory = tmp_path_factory.mktemp("audited")
    server = InProcessServer(build_service(directory))
    try:
        kms = server.client()
        key = kms.create_key()["KeyMetadata"]["Arn"]
        for n in range(20):
            kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"n": str(n)})
        error_of(kms.describe_key, KeyId="alias/nothing")
    finally:
        server.stop()
    return directory


def tampered(audited_store: Path, tmp_path: Path, *statements: str) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(audited_store, copy)
    with sqlite3.connect(copy / "data" / "sealbox.db") as connection:
        for statement in statements:
            connection.execute(statement)
    return copy


def test_an_intact_log_verifies(audited_store: Path) -> None:
    result = sealbox("audit", "verify", *store_flags(audited_store))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "audit log intact: 22 records verified"


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (
            [
                'UPDATE audit_log SET record = replace(record, \'"n":"7"\', \'"n":"8"\') WHERE seq = 9'
            ],
            "at record 9: MAC mismatch",
        ),
        (["DELETE FROM audit_log WHERE seq = 5"], "at record 6: expected record 5"),
        (
            [
                "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 5",
                "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 105",
                "INSERT INTO audit_log SELECT chain, 5, event_time, event_name, principal, key_arn,"
                " error_code, record, mac FROM audit_log WHERE seq = 4",
            ],
            "at record 5: MAC mismatch",
        ),
        (
            [
                "UPDATE audit_log SET seq = -1 WHERE seq = 5",
                "UPDATE audit_log SET seq = 5 WHERE seq = 6",
                "UPDATE audit_log SET seq = 6 WHERE seq = -1",
            ],
            "at record 5: MAC mismatch",
        ),
        (["DELETE FROM audit_log WHERE seq > 20"], "records were deleted from the end"),
        (["DELETE FROM audit_log"], "the log ends at record 0"),
    ],
    ids=["edited", "deleted", "inserted", "reordered", "truncated", "emptied"],
)
def test_tampering_is_detected_and_located(
    audited_store: Path, tmp_path: Path, statements: list[str], expected: str
) -> None:
    copy = tampered(audited_store, tmp_path, *statements)
    result = sealbox("audit", "verify", *store_flags(copy))
    assert result.returncode == 1
    assert expected in result.stderr, result.stderr


def test_an_altered_or_deleted_checkpoint_is_detected(audited_store: Path, tmp_path: Path) -> None:
    copy = tampered(audited_store, tmp_path, "DELETE FROM audit_log WHERE seq > 20")
    (checkpoint,) = (copy / "data" / "audit-checkpoints").glob("*.checkpoint")
    # lowering the recorded head to hide the deletion breaks the slots' tags
    lowered = re.sub(rb'"seq": \d+', b'"seq": 20', checkpoint.read_bytes())
    checkpoint.write_bytes(lowered)
    result = sealbox("audit", "verify", *store_flags(copy))
    assert result.returncode == 1
    assert "slot 0 was altered" in result.stderr and "slot 1 was altered" in result.stderr
    checkpoint.unlink()
    result = sealbox("audit", "verify", *store_flags(copy))
    assert result.returncode == 1 and "has no checkpoint file" in result.stderr


def test_rewriting_the_log_needs_the_root_key(audited_store: Path, tmp_path: Path) -> None:
    """Recomputing MACs with any key but the store's own still fails verification."""
    import hashlib
    import hmac as hmac_module

    copy = tampered(audited_store, tmp_path)
    with sqlite3.connect(copy / "data" / "sealbox.db") as connection:
        rows = connection.execute(
            "SELECT chain, seq, record FROM audit_log ORDER BY seq"
        ).fetchall()
        previous = b"\x00" * 32
        for chain, seq, record in rows:
            forged = record.replace('"n":"3"', '"n":"4"')
            mac = hmac_module.digest(
                b"guessed key",
                previous + f"\x00{chain}\x00{seq}\x00".encode() + forged.encode(),
                hashlib.sha256,
            )
            connection.execute(
                "UPDATE audit_log SET record = ?, mac = ? WHERE seq = ?", (forged, mac, seq)
            )
            previous = mac
    result = sealbox("audit", "verify", *store_flags(copy))
    assert result.returncode == 1 and "at record 1: MAC mismatch" in result.stderr


def test_query_filters(audited_store: Path) -> None:
    def query(*filters: str) -> list[dict[str, Any]]:
        result = sealbox("audit", "query", *store_flags(audited_store), *filters)
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    everything = query()
    assert len(everything) == 22
    times = [r["eventTime"] for r in everything]
    assert times == sorted(times)
    key = next(r for r in everything if r["eventName"] == "CreateKey")["responseElements"][
        "keyMetadata"
    ]
    assert [r["eventName"] for r in query("--event-name", "Encrypt")] == ["Encrypt"] * 20
    assert len(query("--key-id", key["keyId"])) == 21  # CreateKey and the encryptions
    assert len(query("--key-id", key["arn"])) == 21
    assert [r["errorCode"] for r in query("--error-code", "NotFoundException")] == [
        "NotFoundException"
    ]
    assert len(query("--principal", f"arn:aws:iam::{DEV_ACCOUNT}:user/alice")) == 22
    assert query("--principal", f"arn:aws:iam::{DEV_ACCOUNT}:user/nobody") == []
    assert query("--since", "2999-01-01T00:00:00Z") == []
    assert len(query("--until", "2999-01-01")) == 22
    bad = sealbox("audit", "query", *store_flags(audited_store), "--since", "yesterday")
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr
    missing = sealbox("audit", "verify", "--data-dir", str(audited_store / "nowhere"))
    assert missing.returncode == 2 and "no Sealbox store" in missing.stderr
