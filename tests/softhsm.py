"""SoftHSM2 tokens for the PKCS#11 root key tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sealbox.server.config import ServerConfig
from tests.system_tools import missing_system_tool

MODULE = next(
    (
        p
        for p in (
            "/usr/lib/softhsm/libsofthsm2.so",
            "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        )
        if Path(p).exists()
    ),
    "/usr/lib/softhsm/libsofthsm2.so",
)
USER_PIN = "4817-2265"


@dataclass
class Token:
    label: str
    pin_file: Path
    uri: str

    def config(self, base: Path, **changes: Any) -> ServerConfig:
        values: dict[str, Any] = {
            "data_dir": base / "data",
            "root_key": self.uri,
            "pkcs11_module": MODULE,
            "pkcs11_pin_file": str(self.pin_file),
        }
        values.update(changes)
        return ServerConfig(**values)


TOKENS = 10  # enough for this module; SoftHSM sees only the tokens present when loaded


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SoftHSM2 configuration and a pool of fresh tokens for the session: the library
    reads both once per process (SOFTHSM2_CONF is SoftHSM's own setting, not a secret)."""
    if shutil.which("softhsm2-util") is None:
        missing_system_tool("SoftHSM2 is not installed: apt-get install softhsm2")
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    labels = [f"sealbox-test-{n}" for n in range(TOKENS)]
    for label in labels:
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label,
             "--pin", USER_PIN, "--so-pin", "0000-0000"],
            check=True, capture_output=True,
        )  # fmt: skip
    return iter(labels)


@pytest.fixture
def token(tmp_path: Path, softhsm: Iterator[str]) -> Token:
    """A fresh token of its own for each test."""
    label = next(softhsm)
    pin_file = tmp_path / "pin"
    pin_file.write_text(USER_PIN + "\n")
    pin_file.chmod(0o600)
    return Token(label, pin_file, f"pkcs11:token={label};object=sealbox-root")
