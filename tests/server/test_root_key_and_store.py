"""The root of trust and the store at rest: nothing secret in plaintext, no silent new root key."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, event

from sealbox.server.bootstrap import open_service, prepare
from sealbox.server.config import ServerConfig
from sealbox.server.rootkey.core import RootKeyError
from sealbox.server.store import schema
from sealbox.server.store.engine import StoreError, check_sqlite_durability
from sealbox.server.store.migrations import SCHEMA_VERSION
from sealbox.server.store.records import material_aad
from tests.server.harness import (
    DEV_ACCOUNT,
    Credentials,
    InProcessServer,
    admin,
    error_of,
    kms_client,
)


def config(tmp_path: Path) -> ServerConfig:
    return ServerConfig(data_dir=tmp_path / "data", root_key=str(tmp_path / "keys" / "root.key"))


def test_first_start_creates_a_private_root_key_outside_the_data_dir(tmp_path: Path) -> None:
    settings = config(tmp_path)
    prepare(settings)
    key_file = Path(settings.root_key)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not key_file.is_relative_to(settings.data_dir)
    service = open_service(settings)
    assert not service.sealed and service.store.get_meta("root_key_id") == service.root_key.key_id  # type: ignore[union-attr]
    service.close()


def test_missing_or_different_root_key_seals_the_service(tmp_path: Path) -> None:
    settings = config(tmp_path)
    prepare(settings)
    credentials = admin(
        "create-access-key",
        "--account",
        "111122223333",
        "--user",
        "a",
        data_dir=settings.data_dir,
        root_key=Path(settings.root_key),
    )
    key_file = Path(settings.root_key)
    original = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(RootKeyError, match="does not exist"):
        prepare(settings)
    assert not key_file.exists()  # never a new root key for a store that has keys
    sealed = open_service(settings)
    assert sealed.sealed and "does not exist" in str(sealed.sealed_reason)
    server = InProcessServer(sealed)
    try:
        import urllib.error
        import urllib.request

        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(server.endpoint + "/readyz")
        assert caught.value.code == 503
        caught.value.close()
        with urllib.request.urlopen(server.endpoint + "/healthz") as response:
            assert response.status == 200
        client = kms_client(
            server.endpoint,
            Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], ""),
        )
        with pytest.raises(ClientError) as error:
            client.list_keys()
        assert error.value.response["Error"]["Code"] == "KMSInternalException"
        assert "sealed" in error.value.response["Error"]["Message"]
    finally:
        server.stop()
    # another root key is refused too
    key_file.write_bytes(
        original.replace(original.split(b"\n")[1], base64.b64encode(os.urandom(32)))
    )
    key_file.chmod(0o600)
    with pytest.raises(RootKeyError, match="is not this store's root key"):
        prepare(settings)
    key_file.write_bytes(original)
    prepare(settings)  # the right key opens it again


def test_root_key_file_must_be_private(tmp_path: Path) -> None:
    settings = config(tmp_path)
    prepare(settings)
    Path(settings.root_key).chmod(0o644)
    with pytest.raises(RootKeyError, match="chmod 600"):
        prepare(settings)


def _store_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())


def test_no_key_material_or_secret_in_plaintext_at_rest(
    server: InProcessServer, tmp_path: Path
) -> None:
    """Trap 20 and the canary scan: the store holds nothing secret in plaintext."""
    credentials = server.credentials()
    kms = server.client(credentials)
    key = kms.create_key()["KeyMetadata"]
    canaries = [
        credentials.secret_access_key.encode(),
        base64.b64decode(credentials.secret_access_key),
    ]
    for _ in range(5):
        data_key = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
        canaries.append(data_key["Plaintext"])
        canaries.append(kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"])
    entry = server.service.key(key["KeyId"])
    assert entry is not None
    material = server.service.material(entry, key["CurrentKeyMaterialId"])
    assert material is not None and len(material) == 32
    canaries.append(material)
    database = server.service.store.engine.url.database
    assert database is not None
    stored = _store_bytes(Path(database).parent)  # the database, its WAL and shared-memory files
    for canary in canaries:
        assert canary not in stored


def test_wrapped_values_are_bound_to_their_identity(server: InProcessServer) -> None:
    """A wrapped key material copied onto another key does not unwrap there."""
    kms = server.client()
    first, second = kms.create_key()["KeyMetadata"], kms.create_key()["KeyMetadata"]
    database = server.service.store.engine.url.database
    assert database is not None
    with sqlite3.connect(database) as db:
        wrapped = db.execute(
            "SELECT wrapped FROM key_materials WHERE key_id = ?", (first["KeyId"],)
        ).fetchone()[0]
        db.execute(
            "UPDATE key_materials SET wrapped = ? WHERE key_id = ?", (wrapped, second["KeyId"])
        )
        db.execute("UPDATE meta SET value = value + 1 WHERE name = 'generation'")
    with pytest.raises(ClientError) as caught:
        kms.encrypt(KeyId=second["KeyId"], Plaintext=b"x")
    assert caught.value.response["Error"]["Code"] == "KMSInternalException"
    root = server.service.require_unsealed()
    assert (
        len(root.unwrap(wrapped, aad=material_aad(first["Arn"], first["CurrentKeyMaterialId"])))
        == 32
    )


def test_sqlite_must_be_wal_and_synchronous_full(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'weak.db'}")

    @event.listens_for(engine, "connect")
    def _weak(dbapi: Any, _record: Any) -> None:
        dbapi.execute("PRAGMA synchronous=NORMAL")

    with pytest.raises(StoreError, match="synchronous=FULL"):
        check_sqlite_durability(engine)
    engine.dispose()
    service_config = config(tmp_path)
    prepare(service_config)
    service = open_service(service_config)
    with service.store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    assert schema.metadata.tables.keys() >= {
        "meta",
        "kms_keys",
        "key_materials",
        "aliases",
        "tags",
        "access_keys",
    }
    service.close()


def test_a_version_1_store_is_migrated_and_keeps_working(tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).parent / "data" / "store-v1", tmp_path / "store")
    (tmp_path / "store" / "root.key").chmod(0o600)
    made = json.loads((tmp_path / "store" / "fixture.json").read_text())
    config = ServerConfig(
        data_dir=tmp_path / "store", root_key=str(tmp_path / "store" / "root.key")
    )
    prepare(config)
    service = open_service(config)
    assert service.store.get_meta("schema_version") == str(SCHEMA_VERSION) == "3"
    assert [name for name, _ in service.store.identities.user_policies(DEV_ACCOUNT, "admin")] == [
        "SealboxAdministrator"
    ]
    assert service.store.identities.user_policies(DEV_ACCOUNT, "app") == []
    server = InProcessServer(service)
    try:

        def client(who: str) -> Any:
            return kms_client(
                server.endpoint,
                Credentials(made[who]["AccessKeyId"], made[who]["SecretAccessKey"], ""),
            )

        admin = client("admin")
        blob = base64.b64decode(made["CiphertextBlob"])
        opened = admin.decrypt(CiphertextBlob=blob, EncryptionContext=made["EncryptionContext"])
        assert opened["Plaintext"] == made["Plaintext"].encode()
        assert admin.describe_key(KeyId=made["Alias"])["KeyMetadata"]["Arn"] == made["KeyArn"]
        # what schema 2 adds works on the old key
        admin.enable_key_rotation(KeyId=made["KeyArn"])
        admin.rotate_key_on_demand(KeyId=made["KeyArn"])
        assert admin.decrypt(CiphertextBlob=blob, EncryptionContext=made["EncryptionContext"])
        # a user made without --admin had no identity policy then, and has none now
        code = error_of(client("app").encrypt, KeyId=made["KeyArn"], Plaintext=b"x")[0]
        assert code == "AccessDeniedException"
    finally:
        server.stop()
    verified = subprocess.run(
        [
            sys.executable,
            "-m",
            "sealbox",
            "audit",
            "verify",
            "--data-dir",
            str(tmp_path / "store"),
            "--root-key",
            str(tmp_path / "store" / "root.key"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0 and "6 records verified" in verified.stdout, verified
