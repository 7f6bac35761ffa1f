"""On PostgreSQL a cryptographic request costs at most two round trips to the database once
the worker's caches are warm: one read of the change generation (so a change made through
any node holds at once) and its share of one audit batch (one multi-row INSERT in
autocommit). Counted by the server itself: every statement it receives is logged."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg

from tests.postgres import PostgresCluster
from tests.server.harness import DEV_ACCOUNT, InProcessServer, build_service

REQUESTS = 30
STATEMENT = re.compile(rb"LOG:  (?:statement|execute [^:]*):")


def _logging_every_statement(cluster: PostgresCluster) -> str:
    url = cluster.new_database()
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(cluster.admin_url, autocommit=True) as connection:
        connection.execute(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")
    return url


def _statements_during(cluster: PostgresCluster, requests: Any) -> list[bytes]:
    log = cluster.directory / "server.log"
    start = log.stat().st_size
    requests()
    with log.open("rb") as reading:
        reading.seek(start)
        return [line for line in reading.read().splitlines() if STATEMENT.search(line)]


def test_a_cryptographic_request_costs_at_most_two_round_trips(
    postgres: PostgresCluster, tmp_path: Path
) -> None:
    service = build_service(tmp_path, database=_logging_every_statement(postgres))
    server = InProcessServer(service)
    try:
        kms = server.client(server.credentials(DEV_ACCOUNT, "alice"))
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"warm")["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=blob)  # every cache this path uses is now filled

        def requests() -> None:
            for _ in range(REQUESTS):
                kms.generate_data_key(KeyId=key, KeySpec="AES_256")
                kms.encrypt(KeyId=key, Plaintext=b"x")
                kms.decrypt(CiphertextBlob=blob)

        statements = _statements_during(postgres, requests)
    finally:
        server.stop()
        service.close()
    # one request at a time: every audit batch holds one record, the costliest case
    assert 0 < len(statements) <= 2 * 3 * REQUESTS, b"\n".join(statements[:12]).decode()
    inserts = [s for s in statements if b"INSERT INTO audit_log" in s]
    assert len(inserts) == 3 * REQUESTS
    assert not [s for s in statements if re.search(rb"\b(BEGIN|COMMIT)\b", s)]
