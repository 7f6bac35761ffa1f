from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def sealbox_cli(tmp_path: Path) -> Run:
    """Run the real ``sealbox`` command in ``tmp_path``."""

    def run(
        *args: str, stdin: bytes = b"", check: bool = False
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "sealbox", *args],
            cwd=tmp_path,
            input=stdin,
            capture_output=True,
            check=check,
            timeout=120,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )

    return run
