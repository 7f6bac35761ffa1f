from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.postgres import PostgresCluster

# The wire fuzzer's budget (tests/server/test_wire_fuzz.py): at least a minute in CI.
DEFAULT_FUZZ_SECONDS = 65.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-seconds",
        type=float,
        default=None,
        help="wall time for the wire fuzzer (default: $SEALBOX_FUZZ_SECONDS, else "
        f"{DEFAULT_FUZZ_SECONDS:.0f})",
    )


def _fuzz_seconds(config: pytest.Config) -> float:
    chosen = config.getoption("--fuzz-seconds")
    if chosen is None:
        chosen = float(os.environ.get("SEALBOX_FUZZ_SECONDS", DEFAULT_FUZZ_SECONDS))
    return float(chosen)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A longer fuzz run needs a longer per-test timeout than the suite's default.
    for item in items:
        if "fuzz_seconds" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(_fuzz_seconds(config) + 300))


@pytest.fixture(scope="session")
def fuzz_seconds(pytestconfig: pytest.Config) -> float:
    return _fuzz_seconds(pytestconfig)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL server for the session; each test takes a fresh database from it."""
    cluster = PostgresCluster()
    try:
        yield cluster
    finally:
        cluster.stop()
