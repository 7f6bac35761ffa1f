"""sealbox admin backup / restore: after a restore every ciphertext made before the backup
decrypts, into SQLite or PostgreSQL; an altered file, another root key or a non-empty store
is refused before anything is written."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres import PostgresCluster
from tests.server.harness import InProcessServer, build_service, kms_client


def sealbox_admin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sealbox", "admin", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def store_flags(directory: Path, database: str | None = None) -> list[str]:
    flags = ["--data-dir", str(directory / "data"), "--root-key", str(directory / "root.key")]
    return [*flags, "--database", database] if database else flags


@pytest.mark.parametrize("target", ["sqlite", "postgresql"])
def test_restore_brings_back_everything_made_before_the_backup(
    tmp_path: Path, target: str, postgres: PostgresCluster
) -> None:
    source = tmp_path / "source"
    server = InProcessServer(build_service(source))
    alice = server.credentials()
    kms = kms_client(server.endpoint, alice)
    keys = [kms.create_key()["KeyMetadata"]["Arn"] for _ in range(3)]
    kms.create_alias(AliasName="alias/kept", TargetKeyId=keys[0])
    kms.rotate_key_on_demand(KeyId=keys[1])
    sealed = [(k, kms.encrypt(KeyId=k, Plaintext=k.encode())["CiphertextBlob"]) for k in keys]
    server.stop()

    made = sealbox_admin(*store_flags(source), "backup", str(tmp_path / "store.backup"))
    assert made.returncode == 0, made.stderr
    assert "back the root key up separately" in made.stderr
    assert stat.S_IMODE((tmp_path / "store.backup").stat().st_mode) == 0o600
    assert b"arn:aws:kms" in (tmp_path / "store.backup").read_bytes()  # metadata in the clear,
    assert alice.secret_access_key.encode() not in (tmp_path / "store.backup").read_bytes()

    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    shutil.copy(source / "root.key", restored_dir / "root.key")
    database = postgres.new_database() if target == "postgresql" else None
    done = sealbox_admin(
        *store_flags(restored_dir, database), "restore", str(tmp_path / "store.backup")
    )
    assert done.returncode == 0, done.stderr
    assert "deleted since the backup are back" in done.stderr

    restored = InProcessServer(build_service(restored_dir, database=database))
    try:
        client = kms_client(restored.endpoint, alice)  # the old access key works too
        for key, blob in sealed:
            assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == key.encode()
        assert client.describe_key(KeyId="alias/kept")["KeyMetadata"]["Arn"] == keys[0]
        assert len(client.list_key_rotations(KeyId=keys[1])["Rotations"]) == 1
        client.encrypt(KeyId=keys[2], Plaintext=b"and it keeps working")
    finally:
        restored.stop()

    again = sealbox_admin(
        *store_flags(restored_dir, database), "restore", str(tmp_path / "store.backup")
    )
    assert again.returncode == 1
    assert "the store is not empty (table " in again.stderr


def test_an_altered_backup_or_another_root_key_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "source"
    server = InProcessServer(build_service(source))
    kms_client(server.endpoint, server.credentials()).create_key()
    server.stop()
    backup = tmp_path / "b"
    assert sealbox_admin(*store_flags(source), "backup", str(backup)).returncode == 0

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(source / "root.key", fresh / "root.key")
    lines = backup.read_bytes().splitlines(keepends=True)
    altered = tmp_path / "altered"
    key_row = next(i for i, line in enumerate(lines) if b'"key_state":"Enabled"' in line)
    edited = [*lines]
    edited[key_row] = lines[key_row].replace(b'"Enabled"', b'"Disabled"')
    altered.write_bytes(b"".join(edited))
    result = sealbox_admin(*store_flags(fresh), "restore", str(altered))
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "the contents do not match the trailer; the file was altered"
    )
    truncated = tmp_path / "truncated"
    truncated.write_bytes(b"".join(lines[:-1]))
    result = sealbox_admin(*store_flags(fresh), "restore", str(truncated))
    assert result.returncode == 1 and "is incomplete: it has no trailer" in result.stderr

    other = tmp_path / "other"
    other.mkdir()
    build_service(other).close()  # a store of its own, with another root key
    (other / "data").rename(other / "unused")
    result = sealbox_admin(*store_flags(other), "restore", str(backup))
    assert result.returncode == 1
    assert (
        "was made under root key file:" in result.stderr and "give that root key" in result.stderr
    )
    # nothing was written by any refused restore
    restored = build_service(fresh)
    try:
        assert restored.store.is_empty()
    finally:
        restored.close()
    assert os.path.exists(fresh / "data")
