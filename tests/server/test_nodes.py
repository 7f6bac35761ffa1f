"""Several `sealbox serve` nodes on one PostgreSQL: a change made through one node is in
force on the other at once (the documented bound is the next request), and concurrent
work on both loses nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sealbox.server import lifecycle
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
)

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
            assert store.set_access_key_status(bob.access_key_id, "Inactive")
            assert error_of(bob_on_b.list_keys)[0] == "UnrecognizedClientException"
            assert store.set_access_key_status(bob.access_key_id, "Active")
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
        threads = [
            threading.Thread(target=lambda s=s: swept.append(lifecycle.sweep(s))) for s in services
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rotations = [
            json.loads(r.record) for r in services[1].store.query_audit(event_name="RotateKey")
        ]
        deletions = list(services[1].store.query_audit(event_name="DeleteKey"))
        assert len(rotations) == 19 and len(deletions) == 1
        assert sorted(r["resources"][0]["ARN"] for r in rotations) == sorted(arns[1:])
        for arn in arns[1:]:
            assert len(kms.list_key_rotations(KeyId=arn)["Rotations"]) == 1
    finally:
        server.stop()
        services[1].store.close()
