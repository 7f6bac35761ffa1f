"""Several `sealbox serve` nodes on one PostgreSQL: a change made through one node is in
force on the other at once (the documented bound is the next request), and concurrent
work on both loses nothing."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sealbox.server.audit.checkpoint import CHECKPOINT_DIR
from sealbox.server.store.repository import Store
from tests.postgres import PostgresCluster
from tests.server.harness import (
    DEV_ACCOUNT,
    Credentials,
    InProcessServer,
    SubprocessServer,
    build_service,
    error_of,
    kms_client,
    manual_clock,
    wait_ready,
)
from tests.server.test_crash_safety import Acknowledged, writer

ROUNDS = 200  # per kind of change; five kinds: 1000 checks


def admin(database: str, root_key: Path, *args: str) -> Any:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sealbox",
            "admin",
            "--database",
            database,
            "--data-dir",  # where its audit chain's checkpoint goes (not the home directory)
            str(root_key.parent / "admin"),
            "--root-key",
            str(root_key),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def nodes(
    tmp_path: Path, postgres: PostgresCluster
) -> Iterator[tuple[SubprocessServer, SubprocessServer, str, Path]]:
    database = postgres.new_database()
    root_key = tmp_path / "root.key"
    extra = ("--database", database)
    first = SubprocessServer(tmp_path / "a", root_key, extra=extra)
    second = SubprocessServer(tmp_path / "b", root_key, extra=extra)
    try:
        yield first, second, database, root_key
    finally:
        first.stop()
        second.stop()


def credentials(
    database: str, root_key: Path, user: str, *, admin_rights: bool = True
) -> Credentials:
    flags = ["--admin"] if admin_rights else []
    created = admin(
        database, root_key, "create-access-key", "--account", DEV_ACCOUNT, "--user", user, *flags
    )
    return Credentials(created["AccessKeyId"], created["SecretAccessKey"], created["Arn"])


def test_a_change_on_one_node_is_in_force_on_the_other_at_once(
    nodes: tuple[SubprocessServer, SubprocessServer, str, Path],
) -> None:
    first, second, database, root_key = nodes
    alice = credentials(database, root_key, "alice")
    on_a, on_b = kms_client(first.endpoint, alice), kms_client(second.endpoint, alice)
    checks = 0

    for _ in range(ROUNDS):  # create, then rotate: every new key and rotation is visible on B
        arn = on_a.create_key()["KeyMetadata"]["Arn"]
        assert on_b.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
        on_a.rotate_key_on_demand(KeyId=arn)
        assert len(on_b.list_key_rotations(KeyId=arn)["Rotations"]) == 1
        checks += 2

    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{DEV_ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": alice.arn},
                    "Action": "kms:Encrypt",
                    "Resource": "*",
                },
            ],
        }
    )
    default_policy = on_a.get_key_policy(KeyId=arn, PolicyName="default")["Policy"]
    for _ in range(ROUNDS):  # disable/enable and policy changes
        on_a.disable_key(KeyId=arn)
        assert error_of(on_b.encrypt, KeyId=arn, Plaintext=b"x")[0] == "DisabledException"
        on_a.enable_key(KeyId=arn)
        on_a.put_key_policy(KeyId=arn, PolicyName="default", Policy=policy)
        assert error_of(on_b.encrypt, KeyId=arn, Plaintext=b"x")[0] == "AccessDeniedException"
        on_a.put_key_policy(KeyId=arn, PolicyName="default", Policy=default_policy)
        on_b.encrypt(KeyId=arn, Plaintext=b"x")
        checks += 2

    bob = credentials(database, root_key, "bob")
    bob_on_b = kms_client(second.endpoint, bob)
    store = Store.open_postgres(database)  # what `sealbox admin update-access-key` does
    try:
        for _ in range(ROUNDS):
            bob_on_b.list_keys()  # cached as valid on B
            with store.write() as connection:
                assert store.identities.set_access_key_status(
                    bob.access_key_id, "Inactive", connection
                )
            assert error_of(bob_on_b.list_keys)[0] == "UnrecognizedClientException"
            with store.write() as connection:
                assert store.identities.set_access_key_status(
                    bob.access_key_id, "Active", connection
                )
            checks += 1
    finally:
        store.close()
    assert checks == 5 * ROUNDS


def test_concurrent_rotation_and_encryption_on_both_nodes_lose_nothing(
    nodes: tuple[SubprocessServer, SubprocessServer, str, Path],
) -> None:
    first, second, database, root_key = nodes
    alice = credentials(database, root_key, "alice")
    arn = kms_client(first.endpoint, alice).create_key()["KeyMetadata"]["Arn"]
    ciphertexts: list[tuple[bytes, bytes]] = []
    rotations: list[str] = []
    lock = threading.Lock()

    def work(endpoint: str, name: str) -> None:
        client = kms_client(endpoint, alice)
        for n in range(150):
            plaintext = f"{name}-{n}".encode()
            blob = client.encrypt(KeyId=arn, Plaintext=plaintext)["CiphertextBlob"]
            with lock:
                ciphertexts.append((plaintext, blob))
            if n % 75 == 0:  # 8 rotations in all, within the on-demand limit of 10
                client.rotate_key_on_demand(KeyId=arn)
                with lock:
                    rotations.append(name)

    failures: list[BaseException] = []

    def guarded(endpoint: str, name: str) -> None:
        try:
            work(endpoint, name)
        except BaseException as error:
            failures.append(error)

    threads = [
        threading.Thread(target=guarded, args=(node.endpoint, f"{node_name}{i}"))
        for node_name, node in (("a", first), ("b", second))
        for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(ciphertexts) == 600 and len(rotations) == 8
    on_a, on_b = kms_client(first.endpoint, alice), kms_client(second.endpoint, alice)
    listed = on_b.list_key_rotations(KeyId=arn, Limit=1000)["Rotations"]
    assert len(listed) == len(rotations)
    for i, (plaintext, blob) in enumerate(ciphertexts):
        assert (on_a if i % 2 else on_b).decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext


def test_background_work_runs_once_across_nodes(tmp_path: Path, postgres: PostgresCluster) -> None:
    database = postgres.new_database()
    clock = manual_clock()
    services = [build_service(tmp_path / "a", clock, database)]
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / "root.key", tmp_path / "b" / "root.key")
    services.append(build_service(tmp_path / "b", clock, database))
    server = InProcessServer(services[0])
    try:
        kms = server.client()
        arns = [kms.create_key()["KeyMetadata"]["Arn"] for _ in range(20)]
        for arn in arns:
            kms.enable_key_rotation(KeyId=arn, RotationPeriodInDays=90)
        kms.schedule_key_deletion(KeyId=arns[0], PendingWindowInDays=7)
        clock.advance(91 * 86400)
        swept: list[int] = []
        threads = [threading.Thread(target=lambda s=s: swept.append(s.sweep())) for s in services]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rotations = [
            json.loads(r.record) for r in services[1].store.audit.query(event_name="RotateKey")
        ]
        deletions = list(services[1].store.audit.query(event_name="DeleteKey"))
        assert len(rotations) == 19 and len(deletions) == 1
        assert sorted(r["resources"][0]["ARN"] for r in rotations) == sorted(arns[1:])
        for arn in arns[1:]:
            assert len(kms.list_key_rotations(KeyId=arn)["Rotations"]) == 1
    finally:
        server.stop()
        services[1].close()


CRASH_ROUNDS = int(os.environ.get("SEALBOX_CRASH_ROUNDS", "6"))


def test_kill_dash_nine_of_a_node_or_of_postgresql_loses_nothing_acknowledged(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    """Writers on two nodes; each round kill -9 one node or the PostgreSQL server itself."""
    database = postgres.new_database()
    root_key = tmp_path / "root.key"
    extra = ("--database", database)
    nodes = [SubprocessServer(tmp_path / "a", root_key, extra=extra)]
    nodes.append(SubprocessServer(tmp_path / "b", root_key, extra=extra))
    alice = credentials(database, root_key, "crash")
    done = Acknowledged()
    random.seed(20261122)
    try:
        for round_number in range(CRASH_ROUNDS):
            stop = threading.Event()
            threads = [
                threading.Thread(
                    target=writer,
                    args=(node.endpoint, alice, done, stop, f"r{round_number}n{i}"),
                )
                for i, node in enumerate(nodes)
            ]
            for thread in threads:
                thread.start()
            time.sleep(random.uniform(0.2, 0.8))
            if round_number % 2:
                postgres.kill()
                stop.set()
                for thread in threads:
                    thread.join(timeout=120)
                postgres.start()
            else:
                victim = round_number // 2 % 2
                nodes[victim].kill()
                stop.set()
                for thread in threads:
                    thread.join(timeout=120)
                nodes[victim] = SubprocessServer(tmp_path / "ab"[victim], root_key, extra=extra)
        assert len(done.keys) > CRASH_ROUNDS
        for node in nodes:  # the nodes that lived through a database crash serve again
            wait_ready(node.endpoint)
        client = kms_client(nodes[1].endpoint, alice)
        listed: set[str] = set()
        for page in client.get_paginator("list_keys").paginate():
            listed |= {k["KeyId"] for k in page["Keys"]}
        assert done.keys <= listed
        for alias, key in done.aliases.items():
            assert client.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key
        for blob, plaintext, context in done.ciphertexts:
            opened = client.decrypt(CiphertextBlob=blob, EncryptionContext=context)
            assert opened["Plaintext"] == plaintext
    finally:
        for node in nodes:
            node.stop()
    with psycopg.connect(database) as connection:
        recorded = {
            row[0] for row in connection.execute("SELECT record::json->>'requestID' FROM audit_log")
        }
    assert set(done.request_ids) <= recorded
    checkpoints = [tmp_path / node / CHECKPOINT_DIR for node in ("a", "b", "admin")]
    verified = subprocess.run(
        [sys.executable, "-m", "sealbox", "audit", "verify", "--database", database,
         "--root-key", str(root_key), *(f"--checkpoints={c}" for c in checkpoints)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
