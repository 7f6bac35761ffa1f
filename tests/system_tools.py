"""System programs some tests need (PostgreSQL, SoftHSM2) but pip cannot install.

``scripts/test.sh`` installs them where it can (root or sudo). Where they are still
missing, the tests that need them skip with a one-line reason; with
``SEALBOX_REQUIRE_SYSTEM_TOOLS=1`` (set by ``.ci/run``) they fail instead, so CI never
passes by skipping.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_VARIABLE = "SEALBOX_REQUIRE_SYSTEM_TOOLS"


def missing_system_tool(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{reason} ({REQUIRE_VARIABLE}=1)", pytrace=False)
    pytest.skip(reason)
