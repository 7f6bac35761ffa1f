from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sealbox.server.clock import ManualClock
from tests.postgres import PostgresCluster
from tests.server.harness import InProcessServer, build_service, manual_clock
from tests.softhsm import softhsm, token  # noqa: F401 - fixtures for the PKCS#11 tests


@pytest.fixture
def clock() -> ManualClock:
    return manual_clock()


# Modules whose tests run against both stores; the rest use SQLite only.
BOTH_STORES = {
    "test_kms_operations",
    "test_governance",
    "test_rotation",
    "test_import",
    "test_audit",
    "test_kms_keyrings",
    "test_emulator_traps",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames:
        module = metafunc.module.__name__.rsplit(".", 1)[-1]
        kinds = ["sqlite", "postgresql"] if module in BOTH_STORES else ["sqlite"]
        metafunc.parametrize("store_kind", kinds)


@pytest.fixture
def database(store_kind: str, request: pytest.FixtureRequest) -> str | None:
    """None for SQLite; for PostgreSQL the URL of a fresh database."""
    if store_kind == "sqlite":
        return None
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database()


@pytest.fixture
def server(tmp_path: Path, clock: ManualClock, database: str | None) -> Iterator[InProcessServer]:
    """A fresh service (own store, own root key, lifecycle clock under test control)."""
    running = InProcessServer(build_service(tmp_path, clock, database))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def kms(server: InProcessServer) -> Any:
    """A boto3 KMS client for an admin of account 111122223333 in us-east-1."""
    return server.client()
