"""The audit log cannot be made to lie: every stored column is authenticated (item 11),
and records cut from the end of a chain show even when its checkpoint file is cut back
or an older copy of it is put back (item 12). Checked by `sealbox audit verify` with
the root key and nothing else (no backup)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sealbox.server.audit.checkpoint import CHECKPOINT_DIR, SLOT
from tests.server.harness import (
    Credentials,
    InProcessServer,
    SubprocessServer,
    admin,
    build_service,
    kms_client,
)


def sealbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sealbox", *args], capture_output=True, text=True, timeout=120
    )


def flags(directory: Path) -> list[str]:
    return ["--data-dir", str(directory / "data"), "--root-key", str(directory / "root.key")]


def verify(directory: Path) -> subprocess.CompletedProcess[str]:
    return sealbox("audit", "verify", *flags(directory))


def checkpoint(directory: Path, chain: str) -> Path:
    return directory / "data" / CHECKPOINT_DIR / f"{chain}.checkpoint"


@dataclass(frozen=True)
class Log:
    """A stopped service's directory: chain ``first`` (11 records) written, closed, then
    chain ``second`` (its anchor record and 8 more), with copies of both chains'
    checkpoint files taken while they were being written."""

    directory: Path
    first: str
    second: str
    first_copy: bytes  # `first`'s checkpoint after its record 6
    second_copy: bytes  # `second`'s checkpoint after its record 5


def chain_of_last_record(directory: Path) -> str:
    with sqlite3.connect(directory / "data" / "sealbox.db") as db:
        return str(db.execute("SELECT chain FROM audit_log ORDER BY rowid DESC").fetchone()[0])


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    directory = tmp_path_factory.mktemp("log")
    server = InProcessServer(build_service(directory))
    try:
        kms = server.client()
        key = kms.create_key()["KeyMetadata"]["Arn"]
        for n in range(5):
            kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"n": str(n)})
        first = chain_of_last_record(directory)
        first_copy = checkpoint(directory, first).read_bytes()  # head: record 6
        for n in range(4):
            kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"n": str(n)})
        kms.describe_key(KeyId=key)
    finally:
        server.stop()
    server = InProcessServer(build_service(directory))
    try:
        kms = server.client()  # creating the access key is not an audited request
        for n in range(4):
            kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"m": str(n)})
        second = chain_of_last_record(directory)
        second_copy = checkpoint(directory, second).read_bytes()  # head: record 5
        for n in range(4):
            kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"m": str(n)})
    finally:
        server.stop()
    return Log(directory, first, second, first_copy, second_copy)


def copy_of(log: Log, tmp_path: Path, *statements: str) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(log.directory, copy)
    with sqlite3.connect(copy / "data" / "sealbox.db") as db:
        for statement in statements:
            db.execute(statement)
    return copy


def refused(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1, result.stdout
    for text in expected:
        assert text in result.stderr, result.stderr


def test_the_untouched_log_verifies_and_anchors_the_first_chain(log: Log) -> None:
    result = verify(log.directory)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "audit log intact: 20 records verified"
    with sqlite3.connect(log.directory / "data" / "sealbox.db") as db:
        (record,) = db.execute(
            "SELECT record FROM audit_log WHERE chain = ? AND seq = 1", (log.second,)
        ).fetchone()
    anchor = json.loads(record)
    assert anchor["eventName"] == "SealboxAuditAnchor"
    assert [(a["chain"], a["seq"]) for a in anchor["additionalEventData"]["anchors"]] == [
        (log.first, 11)
    ]


# -- item 11: every stored column is authenticated ---------------------------------------------

COLUMN_EDITS = {
    "event_time": "event_time = event_time + 86400",
    "event_name": "event_name = 'Decrypt'",
    "principal": "principal = 'arn:aws:iam::111122223333:user/someone-else'",
    "key_arn": "key_arn = ''",
    "error_code": "error_code = 'AccessDeniedException'",
}


@pytest.mark.parametrize("column", sorted(COLUMN_EDITS))
def test_editing_an_indexed_column_fails_verify(log: Log, tmp_path: Path, column: str) -> None:
    copy = copy_of(
        log,
        tmp_path,
        f"UPDATE audit_log SET {COLUMN_EDITS[column]} WHERE chain = '{log.first}' AND seq = 4",
    )
    refused(verify(copy), f"chain {log.first} at record 4: column {column} was edited")


@pytest.mark.parametrize(
    ("column", "query"),
    [
        ("event_name", ["--event-name", "Encrypt"]),
        ("principal", ["--principal", "arn:aws:iam::111122223333:user/alice"]),
        ("error_code", ["--error-code", ""]),
        ("event_time", ["--until", "2999-01-01T00:00:00Z"]),
    ],
)
def test_an_edited_column_hides_nothing_from_a_query(
    log: Log, tmp_path: Path, column: str, query: list[str]
) -> None:
    copy = copy_of(log, tmp_path)
    before = sealbox("audit", "query", *flags(copy), *query)
    assert before.returncode == 0, before.stderr
    edit = {**COLUMN_EDITS, "event_time": "event_time = 1e12"}[column]
    with sqlite3.connect(copy / "data" / "sealbox.db") as db:
        db.execute(f"UPDATE audit_log SET {edit} WHERE chain = '{log.first}' AND seq = 4")
    after = sealbox("audit", "query", *flags(copy), *query)
    assert after.returncode == 1
    assert f"chain {log.first} record 4: its indexed columns were edited" in after.stderr
    assert sorted(after.stdout.splitlines()) == sorted(before.stdout.splitlines())


# -- item 12: tail truncation -------------------------------------------------------------------


def cut_last(chain: str, keep: int) -> str:
    return f"DELETE FROM audit_log WHERE chain = '{chain}' AND seq > {keep}"


def test_cutting_the_checkpoint_back_to_its_other_slot_is_detected(
    log: Log, tmp_path: Path
) -> None:
    """The quoted attack: delete the newest record, and cut the checkpoint file back to
    the slot holding the head before it (by truncating, copying or swapping slots)."""
    for name, chain in (("first", log.first), ("second", log.second)):
        data = checkpoint(log.directory, chain).read_bytes()
        slots = [data[:SLOT], data[SLOT:]]
        heads = [json.loads(slot) for slot in slots]
        older = min(range(2), key=lambda i: heads[i]["n"])
        last = max(head["seq"] for head in heads)
        for variant, content in {
            "truncated": slots[0],
            "older-slot-only": slots[older],
            "older-slot-copied": slots[older] * 2,
            "swapped": slots[1] + slots[0],
        }.items():
            copy = copy_of(log, tmp_path / f"{name}-{variant}", cut_last(chain, last - 1))
            checkpoint(copy, chain).write_bytes(content)
            result = verify(copy)
            assert result.returncode == 1, (name, variant)
            assert f"chain {chain}" in result.stderr, (name, variant, result.stderr)


def test_an_older_checkpoint_put_back_with_a_cut_log_is_detected(log: Log, tmp_path: Path) -> None:
    """The quoted attack on the newest chain: its log cut back to record 5 and the copy of
    its checkpoint from that moment put back. Nothing anchors it yet, but it no longer
    ends closed, and it is not being written."""
    copy = copy_of(log, tmp_path, cut_last(log.second, 5))
    checkpoint(copy, log.second).write_bytes(log.second_copy)
    refused(verify(copy), f"chain {log.second} at record 5: the chain ended without being closed")


def test_an_anchored_chain_cannot_be_cut_back(log: Log, tmp_path: Path) -> None:
    copy = copy_of(log, tmp_path, cut_last(log.first, 6))
    checkpoint(copy, log.first).write_bytes(log.first_copy)
    refused(
        verify(copy),
        f"chain {log.first} at record 11: chain {log.second} anchored this chain at record 11, "
        "but the log ends at record 6",
    )


def test_an_anchored_chain_cannot_be_deleted(log: Log, tmp_path: Path) -> None:
    copy = copy_of(log, tmp_path, f"DELETE FROM audit_log WHERE chain = '{log.first}'")
    checkpoint(copy, log.first).unlink()
    refused(verify(copy), f"chain {log.second} anchored this chain at record 11")


def test_the_closed_mark_cannot_be_dropped_from_a_checkpoint(log: Log, tmp_path: Path) -> None:
    """Rewriting the final (closed) slot as not closed breaks its tag."""
    copy = copy_of(log, tmp_path)
    path = checkpoint(copy, log.second)
    path.write_bytes(path.read_bytes().replace(b'"closed": true', b'"closed": false'))
    refused(verify(copy), "was altered")


def test_a_crashed_chain_is_reported_until_the_next_start_anchors_it(tmp_path: Path) -> None:
    data_dir, root_key = tmp_path / "data", tmp_path / "root.key"
    created = admin(
        "create-access-key", "--account", "111122223333", "--user", "crash", "--admin",
        data_dir=data_dir, root_key=root_key,
    )  # fmt: skip
    credentials = Credentials(created["AccessKeyId"], created["SecretAccessKey"], created["Arn"])
    server = SubprocessServer(data_dir, root_key)
    kms: Any = kms_client(server.endpoint, credentials)
    kms.list_keys()
    assert verify(tmp_path).returncode == 0  # running: the chain is live
    server.kill()
    refused(verify(tmp_path), "the chain ended without being closed")
    server = SubprocessServer(data_dir, root_key)
    kms_client(server.endpoint, credentials).list_keys()
    server.stop()
    result = verify(tmp_path)
    assert result.returncode == 0, result.stderr
