from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sealbox.server.clock import ManualClock
from tests.server.harness import InProcessServer, build_service, manual_clock


@pytest.fixture
def clock() -> ManualClock:
    return manual_clock()


@pytest.fixture
def server(tmp_path: Path, clock: ManualClock) -> Iterator[InProcessServer]:
    """A fresh service (own store, own root key, lifecycle clock under test control)."""
    running = InProcessServer(build_service(tmp_path, clock))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def kms(server: InProcessServer) -> Any:
    """A boto3 KMS client for an admin of account 111122223333 in us-east-1."""
    return server.client()
