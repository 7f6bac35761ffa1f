"""sealbox admin rotate-root-key: every wrapped value moves to the new root key while the
service keeps answering, an interrupted run resumes, and PKCS#11 → file needs its flag."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from sealbox.server.bootstrap import open_service, prepare
from sealbox.server.config import ServerConfig
from sealbox.server.rootkey.core import load_root_key_file
from sealbox.server.rootkey.rekey import rotate_root_key
from tests.server.harness import InProcessServer, kms_client
from tests.softhsm import MODULE, Token


def admin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sealbox", "admin", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


def seed(config: ServerConfig) -> tuple[Any, list[tuple[bytes, bytes]], Any]:
    """A store with keys, an import token, access keys and ciphertexts under the old key."""
    prepare(config)
    server = InProcessServer(open_service(config))
    credentials = server.credentials()
    kms = kms_client(server.endpoint, credentials)
    sealed = []
    for n in range(5):
        arn = kms.create_key()["KeyMetadata"]["Arn"]
        kms.rotate_key_on_demand(KeyId=arn)
        plaintext = b"before the rotation %d" % n
        sealed.append((kms.encrypt(KeyId=arn, Plaintext=plaintext)["CiphertextBlob"], plaintext))
    external = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    kms.get_parameters_for_import(
        KeyId=external, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    server.stop()
    return credentials, sealed, external


def assert_all_decrypt(
    config: ServerConfig, credentials: Any, sealed: list[tuple[bytes, bytes]]
) -> None:
    server = InProcessServer(open_service(config))
    try:
        client = kms_client(server.endpoint, credentials)
        for blob, plaintext in sealed:
            assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
    finally:
        server.stop()


def test_file_to_file_online_and_resumable(tmp_path: Path) -> None:
    old_path, new_path = tmp_path / "old.key", tmp_path / "new.key"
    old_config = ServerConfig(data_dir=tmp_path / "data", root_key=str(old_path))
    credentials, sealed, _ = seed(old_config)
    made = admin(
        "--data-dir",
        str(tmp_path / "data"),
        "--root-key",
        str(old_path),
        "new-root-key",
        str(new_path),
    )
    assert made.returncode == 0, made.stderr

    # every node restarts with the new key and the old one as previous, then the rotation runs
    during = ServerConfig(
        data_dir=tmp_path / "data", root_key=str(new_path), previous_root_key=str(old_path)
    )
    server = InProcessServer(open_service(during))
    failures: list[BaseException] = []
    stop = threading.Event()

    def traffic() -> None:
        client = kms_client(server.endpoint, credentials)
        try:
            while not stop.is_set():
                for blob, plaintext in sealed:
                    assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
                arn = client.create_key()["KeyMetadata"]["Arn"]
                new_blob = client.encrypt(KeyId=arn, Plaintext=b"during")["CiphertextBlob"]
                sealed.append((new_blob, b"during"))
        except BaseException as error:
            failures.append(error)

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        store = server.service.store
        old, new = load_root_key_file(old_path), load_root_key_file(new_path)
        calls = []

        def interrupt(table: str, count: int) -> None:
            calls.append(table)
            if len(calls) == 2:
                raise KeyboardInterrupt  # an operator's Ctrl-C halfway through

        with pytest.raises(KeyboardInterrupt):
            rotate_root_key(store, old, new, progress=interrupt)
        resumed = admin(
            "--data-dir", str(tmp_path / "data"), "--root-key", str(old_path),
            "rotate-root-key", "--new-root-key", str(new_path),
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
        assert "the store is now bound to root key" in resumed.stderr
    finally:
        stop.set()
        worker.join(timeout=60)
        server.stop()
    assert failures == []

    after = ServerConfig(data_dir=tmp_path / "data", root_key=str(new_path))
    assert_all_decrypt(after, credentials, sealed)
    sealed_with_old = open_service(old_config)
    assert (
        sealed_with_old.sealed_reason is not None
        and "is not this store's root key" in sealed_with_old.sealed_reason
    )
    sealed_with_old.close()
    # nothing under the old key is left: the old key file can be destroyed
    old_path.unlink()
    again = InProcessServer(open_service(after))
    try:
        assert kms_client(again.endpoint, credentials).list_keys()["Keys"]
    finally:
        again.stop()


def test_file_to_pkcs11_to_pkcs11_and_the_downgrade_flag(tmp_path: Path, token: Token) -> None:
    old_path = tmp_path / "old.key"
    data = ["--data-dir", str(tmp_path / "data")]
    config_file = tmp_path / "sealbox.toml"
    config_file.write_text(f'[pkcs11]\nmodule = "{MODULE}"\npin_file = "{token.pin_file}"\n')
    credentials, sealed, _ = seed(ServerConfig(data_dir=tmp_path / "data", root_key=str(old_path)))
    first, second = token.uri, token.uri.replace("object=sealbox-root", "object=sealbox-root-2")
    steps = [(str(old_path), first), (first, second)]
    for current, target in steps:
        done = admin(
            *data,
            "--config",
            str(config_file),
            "--root-key",
            current,
            "rotate-root-key",
            "--new-root-key",
            target,
        )
        assert done.returncode == 0, done.stderr
    refused = admin(
        *data,
        "--config",
        str(config_file),
        "--root-key",
        second,
        "rotate-root-key",
        "--new-root-key",
        str(tmp_path / "back.key"),
    )
    assert refused.returncode == 2
    assert "takes it out of the HSM; add --allow-downgrade-to-file" in refused.stderr
    assert not (tmp_path / "back.key").exists()

    on_token = ServerConfig(
        data_dir=tmp_path / "data",
        root_key=second,
        pkcs11_module=MODULE,
        pkcs11_pin_file=str(token.pin_file),
    )
    assert_all_decrypt(on_token, credentials, sealed)
    allowed = admin(*data, "--config", str(config_file), "--root-key", second, "rotate-root-key",
                    "--new-root-key", str(tmp_path / "back.key"), "--allow-downgrade-to-file")  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert_all_decrypt(
        ServerConfig(data_dir=tmp_path / "data", root_key=str(tmp_path / "back.key")),
        credentials,
        sealed,
    )
