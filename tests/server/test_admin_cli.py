"""`sealbox admin` as a user runs it (issue 11): importing a known credential, the note when
no server uses the store written to, admin actions in the audit log (and `audit verify`
clean after them), `audit query --key-id alias/NAME`, and another store's checkpoint
reported as foreign rather than as tampering."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sealbox.server.audit.checkpoint import CHECKPOINT_DIR
from sealbox.server.store.repository import Store
from tests.server.harness import (
    DEV_ACCOUNT,
    OTHER_ACCOUNT,
    InProcessServer,
    SubprocessServer,
    build_service,
    kms_client,
)
from tests.server.harness import Credentials as Creds

IMPORTED_ID = "AKIAIMPORTEDFIXTURE1"
IMPORTED_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYIMPORTED1"


def sealbox(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sealbox", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )


def flags(directory: Path) -> list[str]:
    return ["--data-dir", str(directory / "data"), "--root-key", str(directory / "root.key")]


def admin(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return sealbox("admin", *flags(directory), *args)


def secret_file(directory: Path, text: str) -> Path:
    path = directory / "secret.txt"
    path.write_text(text)
    return path


def import_key(directory: Path, key_id: str, secret: Path) -> subprocess.CompletedProcess[str]:
    return admin(
        directory,
        "create-access-key",
        "--account",
        DEV_ACCOUNT,
        "--user",
        "imported",
        "--admin",
        "--access-key-id",
        key_id,
        "--secret-access-key-file",
        str(secret),
    )


def note(directory: Path) -> str:
    path = (directory / "data").resolve()
    return (
        f"sealbox: note: no running sealbox serve uses the store at {path}; start one with "
        f"--data-dir {path}, or pass the --data-dir of the server you meant\n"
    )


def records(directory: Path, *query: str) -> list[dict[str, Any]]:
    result = sealbox("audit", "query", *flags(directory), *query)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def verified(directory: Path) -> None:
    result = sealbox("audit", "verify", *flags(directory))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("audit log intact: ")


# -- importing a known credential --------------------------------------------------------


def test_an_imported_credential_signs_requests_to_the_server_on_the_store(
    tmp_path: Path,
) -> None:
    server = SubprocessServer(tmp_path / "data", tmp_path / "root.key")
    try:
        # one trailing newline, as `echo` writes it, is not part of the secret
        result = import_key(tmp_path, IMPORTED_ID, secret_file(tmp_path, IMPORTED_SECRET + "\n"))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {
            "AccessKeyId": IMPORTED_ID,
            "Arn": f"arn:aws:iam::{DEV_ACCOUNT}:user/imported",
        }
        assert IMPORTED_SECRET not in result.stdout + result.stderr
        assert result.stderr == ""  # a server uses this store: no note
        kms = kms_client(server.endpoint, Creds(IMPORTED_ID, IMPORTED_SECRET, ""))
        try:
            key = kms.create_key()["KeyMetadata"]["KeyId"]
            blob = kms.encrypt(KeyId=key, Plaintext=b"moved in")["CiphertextBlob"]
            assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"moved in"
        finally:
            kms.close()
    finally:
        server.stop()
    [created] = records(tmp_path, "--event-name", "CreateAccessKey")
    assert created["requestParameters"]["imported"] is True
    assert IMPORTED_SECRET not in json.dumps(created)


def test_an_existing_id_is_refused(tmp_path: Path) -> None:
    secret = secret_file(tmp_path, IMPORTED_SECRET)
    assert import_key(tmp_path, IMPORTED_ID, secret).returncode == 0
    again = import_key(tmp_path, IMPORTED_ID, secret)
    assert again.returncode == 2
    assert again.stdout == ""
    assert again.stderr == (
        f"sealbox: error: access key {IMPORTED_ID} already exists; delete it first "
        f"(sealbox admin delete-access-key --access-key-id {IMPORTED_ID}) or import another id\n"
    )


@pytest.mark.parametrize(
    ("key_id", "secret", "message"),
    [
        (
            "akiaLOWERCASE00001",
            IMPORTED_SECRET,
            "access key id 'akiaLOWERCASE00001' must be 16-128 upper-case letters and digits, "
            "as AWS access key ids are (e.g. AKIAIOSFODNN7EXAMPLE)",
        ),
        (
            "AKIASHORT",
            IMPORTED_SECRET,
            "access key id 'AKIASHORT' must be 16-128 upper-case letters and digits, "
            "as AWS access key ids are (e.g. AKIAIOSFODNN7EXAMPLE)",
        ),
        (IMPORTED_ID, "\n", "the secret access key file is empty; put the secret in it"),
        (
            IMPORTED_ID,
            "two words",
            "the secret access key must be 1-128 visible ASCII characters (no spaces or line "
            "breaks; AWS's are 40 characters of Base64)",
        ),
    ],
)
def test_a_bad_imported_credential_is_refused_before_the_store_is_touched(
    tmp_path: Path, key_id: str, secret: str, message: str
) -> None:
    result = import_key(tmp_path, key_id, secret_file(tmp_path, secret))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"sealbox: error: {message}\n"
    assert not (tmp_path / "data").exists()


def test_an_id_without_its_secret_is_refused(tmp_path: Path) -> None:
    result = admin(
        tmp_path,
        *("create-access-key", "--account", DEV_ACCOUNT, "--user", "u"),
        *("--access-key-id", IMPORTED_ID),
    )
    assert result.returncode == 2
    assert result.stderr == (
        "sealbox: error: importing an access key takes both --access-key-id and "
        "--secret-access-key-file\n"
    )


# -- the note when no server uses the store -----------------------------------------------


def test_a_credential_made_in_a_store_no_server_uses_says_so(tmp_path: Path) -> None:
    result = admin(tmp_path, "create-access-key", "--account", DEV_ACCOUNT, "--user", "bob")
    assert result.returncode == 0  # the key was made all the same
    assert json.loads(result.stdout)["AccessKeyId"].startswith("AKIA")
    assert result.stderr == note(tmp_path)


def test_no_note_while_a_server_uses_the_store(tmp_path: Path) -> None:
    server = SubprocessServer(tmp_path / "data", tmp_path / "root.key")
    try:
        result = admin(
            tmp_path, "create-access-key", "--account", DEV_ACCOUNT, "--user", "bob", "--admin"
        )
        created = json.loads(result.stdout)
        assert (result.returncode, result.stderr) == (0, "")
        kms = kms_client(
            server.endpoint, Creds(created["AccessKeyId"], created["SecretAccessKey"], "")
        )
        try:
            assert kms.list_keys()["Keys"] == []  # the server knows the new key
        finally:
            kms.close()
    finally:
        server.stop()
    after = admin(tmp_path, "delete-access-key", "--access-key-id", created["AccessKeyId"])
    assert (after.returncode, after.stderr) == (0, note(tmp_path))


# -- admin actions in the audit log ---------------------------------------------------------


def test_admin_actions_are_audited_and_the_log_verifies(tmp_path: Path) -> None:
    source, restored = tmp_path / "source", tmp_path / "restored"
    made = admin(source, "create-access-key", "--account", DEV_ACCOUNT, "--user", "carol")
    key = json.loads(made.stdout)
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}],
            }
        )
    )
    steps: list[tuple[str, ...]] = [
        ("create-access-key", "--account", DEV_ACCOUNT, "--user", "kept"),  # rotation re-wraps it
        ("update-access-key", "--access-key-id", key["AccessKeyId"], "--status", "Inactive"),
        (
            *("put-user-policy", "--account", DEV_ACCOUNT, "--user", "carol"),
            *("--policy-name", "p", "--policy-document", str(policy)),
        ),
        ("delete-user-policy", "--account", DEV_ACCOUNT, "--user", "carol", "--policy-name", "p"),
        ("delete-access-key", "--access-key-id", key["AccessKeyId"]),
        ("backup", str(tmp_path / "store.backup")),
        ("rotate-root-key", "--new-root-key", str(source / "next.key")),
    ]
    for step in steps:
        assert admin(source, *step).returncode == 0
    rotated = ["--data-dir", str(source / "data"), "--root-key", str(source / "next.key")]
    result = sealbox("audit", "verify", *rotated)
    assert result.returncode == 0, result.stderr

    query = sealbox("audit", "query", *rotated)
    found = [json.loads(line) for line in query.stdout.splitlines()]
    admin_records = [r for r in found if r["eventSource"] == "sealbox.admin"]
    assert [r["eventName"] for r in admin_records] == [
        "CreateAccessKey",
        "CreateAccessKey",
        "UpdateAccessKey",
        "PutUserPolicy",
        "DeleteUserPolicy",
        "DeleteAccessKey",
        "CreateBackup",
        "RotateRootKey",
    ]
    for record in admin_records:
        assert record["eventType"] == "SealboxAdminEvent"
        assert record["userIdentity"]["invokedBy"] == "sealbox admin"
        assert record["userIdentity"]["type"] == "LocalUser"
    assert key["SecretAccessKey"] not in query.stdout
    assert admin_records[0]["additionalEventData"] == {"accessKeyId": key["AccessKeyId"]}
    assert admin_records[-1]["additionalEventData"] == {"valuesRewrapped": 1}

    restored.mkdir()
    shutil.copy(source / "root.key", restored / "root.key")
    done = admin(restored, "restore", str(tmp_path / "store.backup"))
    assert done.returncode == 0, done.stderr
    verified(restored)  # chains brought back without their checkpoints: the restore names them
    [restore] = records(restored, "--event-name", "RestoreBackup")
    assert restore["eventSource"] == "sealbox.admin"
    assert len(restore["additionalEventData"]["restoredChains"]) == 7  # one per admin run


def test_records_cut_from_a_restored_chain_are_detected(tmp_path: Path) -> None:
    source, restored = tmp_path / "source", tmp_path / "restored"
    for user in ("a", "b"):
        admin(source, "create-access-key", "--account", DEV_ACCOUNT, "--user", user)
    assert admin(source, "backup", str(tmp_path / "store.backup")).returncode == 0
    restored.mkdir()
    shutil.copy(source / "root.key", restored / "root.key")
    assert admin(restored, "restore", str(tmp_path / "store.backup")).returncode == 0
    first = records(restored, "--event-name", "CreateAccessKey")[0]
    with sqlite3.connect(restored / "data" / "sealbox.db") as db:
        chain = db.execute(
            "SELECT chain FROM audit_log WHERE record LIKE ?", (f"%{first['eventID']}%",)
        ).fetchone()[0]
        db.execute("DELETE FROM audit_log WHERE chain = ?", (chain,))
    result = sealbox("audit", "verify", *flags(restored))
    assert result.returncode == 1
    assert "anchored this chain at record 1, but the log ends at record 0" in result.stderr


# -- audit query --key-id alias/NAME ------------------------------------------------------------


def test_query_by_alias_finds_the_records_of_the_key_it_names(tmp_path: Path) -> None:
    server = InProcessServer(build_service(tmp_path))
    try:
        kms = server.client()
        other = server.client(server.credentials(OTHER_ACCOUNT, "dave"))
        try:
            key = kms.create_key()["KeyMetadata"]["Arn"]
            kms.create_key()  # another key: not in the answer
            kms.create_alias(AliasName="alias/app", TargetKeyId=key)
            kms.encrypt(KeyId="alias/app", Plaintext=b"x")
            for client in (kms, other):
                shared = client.create_key()["KeyMetadata"]["KeyId"]
                client.create_alias(AliasName="alias/shared", TargetKeyId=shared)
        finally:
            kms.close()
            other.close()
    finally:
        server.stop()
    found = records(tmp_path, "--key-id", "alias/app")
    assert [r["eventName"] for r in found] == ["CreateKey", "CreateAlias", "Encrypt"]
    assert all(r["resources"][0]["ARN"] == key for r in found)
    by_arn = records(tmp_path, "--key-id", f"arn:aws:kms:us-east-1:{DEV_ACCOUNT}:alias/app")
    assert by_arn == found

    missing = sealbox("audit", "query", *flags(tmp_path), "--key-id", "alias/gone")
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr == (
        "sealbox: error: no alias alias/gone in this store (was it deleted?); give the key's id "
        "or ARN with --key-id\n"
    )
    ambiguous = sealbox("audit", "query", *flags(tmp_path), "--key-id", "alias/shared")
    assert ambiguous.returncode == 2
    assert ambiguous.stderr == (
        f"sealbox: error: alias/shared exists in 2 accounts or regions ({DEV_ACCOUNT} in "
        f"us-east-1, {OTHER_ACCOUNT} in us-east-1); give its alias ARN "
        "(arn:aws:kms:REGION:ACCOUNT:alias/shared) or the key's id or ARN\n"
    )


# -- another store's checkpoint ----------------------------------------------------------------


def test_another_stores_checkpoint_is_reported_as_foreign(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for directory in (ours, theirs):
        server = InProcessServer(build_service(directory))
        try:
            kms = server.client()
            try:
                kms.create_key()
            finally:
                kms.close()
        finally:
            server.stop()
    [foreign] = (theirs / "data" / CHECKPOINT_DIR).glob("*.checkpoint")
    shutil.copy(foreign, ours / "data" / CHECKPOINT_DIR)
    store = Store.open_sqlite(theirs / "data")
    try:
        their_id = store.get_meta("store_id")
    finally:
        store.close()

    result = sealbox("audit", "verify", *flags(ours))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"sealbox: audit: chain {foreign.stem} at record 0: checkpoint {foreign.name} belongs "
        f"to another store (id {their_id}); it is not this store's: move it to that store's "
        "checkpoint directory"
    )
    assert "altered" not in result.stderr
    (ours / "data" / CHECKPOINT_DIR / foreign.name).unlink()
    verified(ours)
