"""kill -9 at random points while clients write: every acknowledged change survives, and so
does the audit record of every answered request.

CI runs 20 rounds; set SEALBOX_CRASH_ROUNDS for more (the test plan's nightly figure is 100+).
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from tests.server.harness import Credentials, SubprocessServer, admin, kms_client

ROUNDS = int(os.environ.get("SEALBOX_CRASH_ROUNDS", "20"))
CLIENTS = 2


@dataclass
class Acknowledged:
    keys: set[str] = field(default_factory=set)
    aliases: dict[str, str] = field(default_factory=dict)
    ciphertexts: list[tuple[bytes, bytes, dict[str, str]]] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)  # every answered request's
    lock: threading.Lock = field(default_factory=threading.Lock)


def writer(
    endpoint: str, credentials: Credentials, done: Acknowledged, stop: threading.Event, tag: str
) -> None:
    client = kms_client(endpoint, credentials)
    n = 0
    while not stop.is_set():
        n += 1
        try:
            created = client.create_key(Description=f"{tag}-{n}")
            key = created["KeyMetadata"]["KeyId"]
            with done.lock:
                done.keys.add(key)
                done.request_ids.append(created["ResponseMetadata"]["RequestId"])
            alias = f"alias/{tag}-{n}"
            aliased = client.create_alias(AliasName=alias, TargetKeyId=key)
            with done.lock:
                done.aliases[alias] = key
                done.request_ids.append(aliased["ResponseMetadata"]["RequestId"])
            plaintext = os.urandom(64)
            context = {"round": tag, "n": str(n)}
            sealed = client.encrypt(KeyId=key, Plaintext=plaintext, EncryptionContext=context)
            with done.lock:
                done.ciphertexts.append((sealed["CiphertextBlob"], plaintext, context))
                done.request_ids.append(sealed["ResponseMetadata"]["RequestId"])
        except (ClientError, BotoCoreError, OSError, KeyError):
            # The server died mid-request: nothing in flight counts as acknowledged. (KeyError: the
            # connection closed after the headers, and botocore parsed the missing body as {}.)
            return


def test_kill_dash_nine_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data_dir, root_key = tmp_path / "data", tmp_path / "root.key"
    created = admin(
        "create-access-key",
        "--account",
        "111122223333",
        "--user",
        "crash",
        "--admin",
        data_dir=data_dir,
        root_key=root_key,
    )
    credentials = Credentials(created["AccessKeyId"], created["SecretAccessKey"], created["Arn"])
    done = Acknowledged()
    random.seed(20261122)
    for round_number in range(ROUNDS):
        server = SubprocessServer(data_dir, root_key)
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=writer,
                args=(server.endpoint, credentials, done, stop, f"r{round_number}c{c}"),
            )
            for c in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(random.uniform(0.05, 0.6))
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert len(done.keys) > ROUNDS  # the test did write something in most rounds

    server = SubprocessServer(data_dir, root_key)
    try:
        client = kms_client(server.endpoint, credentials)
        listed: set[str] = set()
        pages = client.get_paginator("list_keys").paginate()
        for page in pages:
            listed |= {k["KeyId"] for k in page["Keys"]}
        assert done.keys <= listed
        for alias, key in done.aliases.items():
            assert client.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key
        for blob, plaintext, context in done.ciphertexts:
            assert (
                client.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]
                == plaintext
            )
    finally:
        server.stop()
    with sqlite3.connect(data_dir / "sealbox.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # every answer that left the service had its audit record durable first
        recorded = {
            row[0]
            for row in db.execute("SELECT json_extract(record, '$.requestID') FROM audit_log")
        }
    assert set(done.request_ids) <= recorded
    # and no crash left a chain that does not verify
    verified = subprocess.run(
        [
            sys.executable,
            "-m",
            "sealbox",
            "audit",
            "verify",
            "--data-dir",
            str(data_dir),
            "--root-key",
            str(root_key),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stderr
