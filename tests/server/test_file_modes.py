"""Files private: every file the service, `sealbox admin` and backups create is 0600 (and
every directory they create 0700) whatever the umask and the mode of a directory that
already existed; a root key file open to group or others stops the service."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.harness import Credentials, SubprocessServer, admin, kms_client


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The umask the commands run under (they inherit it from this process)."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def sealbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sealbox", *args], capture_output=True, text=True, timeout=120
    )


def modes(root: Path, *, skip: set[Path]) -> dict[str, str]:
    """Mode of everything under ``root`` (but ``skip``), as octal text."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path in skip or path.name.startswith("server-"):  # the harness's own server logs
            continue
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def test_everything_created_is_private(
    tmp_path: Path, umask: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a data directory that already exists, open to all, and a metrics directory given
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    metrics.chmod(0o755)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics))
    data_dir, root_key = shared / "data", tmp_path / "keys" / "root.key"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    created = admin(
        "create-access-key", "--account", "111122223333", "--user", "files", "--admin",
        data_dir=data_dir, root_key=root_key,
    )  # fmt: skip
    credentials = Credentials(created["AccessKeyId"], created["SecretAccessKey"], created["Arn"])
    server = SubprocessServer(data_dir, root_key, workers=2)
    try:
        kms = kms_client(server.endpoint, credentials)
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        for _ in range(10):
            kms.encrypt(KeyId=key, Plaintext=b"x")
        live = modes(tmp_path, skip={shared, data_dir, metrics})
    finally:
        server.stop()
    backup = tmp_path / "backups" / "store.backup"
    backup.parent.mkdir()
    location = ["--data-dir", str(data_dir), "--root-key", str(root_key)]
    assert sealbox("admin", *location, "backup", str(backup)).returncode == 0
    restored = ["--data-dir", str(tmp_path / "restored"), "--root-key", str(root_key)]
    result = sealbox("admin", *restored, "restore", str(backup))
    assert result.returncode == 0, result.stderr
    assert sealbox("audit", "verify", *location).returncode == 0
    stopped = modes(tmp_path, skip={shared, data_dir, metrics, backup.parent})

    for found in (live, stopped):
        files = {name: mode for name, mode in found.items() if not (tmp_path / name).is_dir()}
        directories = {name: mode for name, mode in found.items() if name not in files}
        assert files and set(files.values()) == {"0o600"}, files
        assert set(directories.values()) == {"0o700"}, directories
    assert {
        "shared/data/sealbox.db",
        "shared/data/sealbox.db-wal",  # SQLite removes these two once the last user closes
        "shared/data/sealbox.db-shm",
        "keys/root.key",
    } <= set(live)
    assert {"backups/store.backup", "restored/sealbox.db", "keys/root.key"} <= set(stopped)
    assert any(name.startswith("shared/data/audit-checkpoints/") for name in live)
    assert any(name.startswith("metrics/") and name.endswith(".db") for name in live)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644])
def test_a_root_key_open_to_others_stops_the_service(tmp_path: Path, mode: int) -> None:
    data_dir, root_key = tmp_path / "data", tmp_path / "root.key"
    admin("list-access-keys", data_dir=data_dir, root_key=root_key)  # creates both
    root_key.chmod(mode)
    expected = (
        f"root key file {root_key} is open to group or others (mode {mode:04o}); "
        f"run: chmod 600 {root_key}"
    )
    location = ["--data-dir", str(data_dir), "--root-key", str(root_key)]
    for command in (
        ["serve", *location, "--port", "0"],
        ["admin", *location, "list-access-keys"],
        ["audit", "verify", *location],
    ):
        result = sealbox(*command)
        assert result.returncode != 0
        assert result.stderr.strip().splitlines()[-1].endswith(expected), result.stderr
    root_key.chmod(0o600)
    assert sealbox("admin", *location, "list-access-keys").returncode == 0


def test_a_store_left_open_to_others_is_made_private(tmp_path: Path) -> None:
    data_dir, root_key = tmp_path / "data", tmp_path / "root.key"
    admin("list-access-keys", data_dir=data_dir, root_key=root_key)
    database = data_dir / "sealbox.db"
    for path in (database, data_dir / "sealbox.db-wal"):
        path.touch()
        path.chmod(0o644)
    admin("list-access-keys", data_dir=data_dir, root_key=root_key)
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
