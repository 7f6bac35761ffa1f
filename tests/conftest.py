from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import PostgresCluster


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL server for the session; each test takes a fresh database from it."""
    cluster = PostgresCluster()
    try:
        yield cluster
    finally:
        cluster.stop()
