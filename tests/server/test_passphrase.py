"""A root key from a passphrase (scrypt, a salt per store): read from a file descriptor or a
terminal, never from the environment; a wrong passphrase leaves the store sealed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealbox.errors import UsageError
from sealbox.server.bootstrap import open_service, prepare
from sealbox.server.config import ServerConfig, load_config
from sealbox.server.rootkey import passphrase
from tests.server.harness import InProcessServer, kms_client

PASSPHRASE = b"correct horse battery staple"


def pipe_with(text: bytes) -> int:
    """A file descriptor from which the passphrase can be read once."""
    read_end, write_end = os.pipe()
    os.write(write_end, text + b"\n")
    os.close(write_end)
    return read_end


@pytest.fixture(autouse=True)
def forget_passphrases() -> None:
    passphrase._read.clear()  # each test reads its own, as a new process would


def admin(tmp_path: Path, secret: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    fd = pipe_with(secret)
    try:
        return subprocess.run(
            [sys.executable, "-m", "sealbox", "admin", "--data-dir", str(tmp_path / "data"),
             "--root-key", f"passphrase:fd={fd}", *args],
            capture_output=True, text=True, timeout=120, pass_fds=(fd,),
        )  # fmt: skip
    finally:
        os.close(fd)


def test_a_store_sealed_by_a_passphrase(tmp_path: Path) -> None:
    config = ServerConfig(
        data_dir=tmp_path / "data", root_key=f"passphrase:fd={pipe_with(PASSPHRASE)}"
    )
    prepare(config)  # reads the passphrase once; open_service reuses it in this process
    server = InProcessServer(open_service(config))
    try:
        assert server.service.root_key is not None
        assert server.service.root_key.key_id.startswith("passphrase:")
        credentials = server.credentials()
        kms = kms_client(server.endpoint, credentials)
        arn = kms.create_key()["KeyMetadata"]["Arn"]
        blob = kms.encrypt(KeyId=arn, Plaintext=b"under a passphrase")["CiphertextBlob"]
    finally:
        server.stop()
    assert not list(tmp_path.rglob("root.key"))
    assert PASSPHRASE not in (tmp_path / "data" / "sealbox.db").read_bytes()

    # another process, the same passphrase: the store opens (the salt is in the store)
    listed = admin(tmp_path, PASSPHRASE, "list-access-keys")
    assert listed.returncode == 0, listed.stderr
    assert credentials.access_key_id in listed.stdout
    wrong = admin(tmp_path, b"incorrect horse battery staple", "list-access-keys")
    assert wrong.returncode == 1
    assert "is not this store's root key" in wrong.stderr

    passphrase._read.clear()
    again = InProcessServer(
        open_service(
            ServerConfig(
                data_dir=tmp_path / "data", root_key=f"passphrase:fd={pipe_with(PASSPHRASE)}"
            )
        )
    )
    try:
        assert kms_client(again.endpoint, credentials).decrypt(CiphertextBlob=blob)[
            "Plaintext"
        ] == (b"under a passphrase")
    finally:
        again.stop()


def test_where_a_passphrase_may_come_from(tmp_path: Path) -> None:
    no_terminal = subprocess.run(
        [sys.executable, "-m", "sealbox", "admin", "--data-dir", str(tmp_path / "data"),
         "--root-key", "passphrase:", "list-access-keys"],
        capture_output=True, text=True, timeout=120, start_new_session=True,
    )  # fmt: skip
    assert no_terminal.returncode == 1
    assert "asks on a terminal and there is none; use passphrase:fd=N" in no_terminal.stderr
    short = admin(tmp_path / "short", b"too short", "list-access-keys")
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    with pytest.raises(UsageError, match="a passphrase root key is read once, by one process"):
        load_config({"root_key": "passphrase:", "workers": 2}, environ={})
