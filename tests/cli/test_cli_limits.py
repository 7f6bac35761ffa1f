"""The command line decrypts with the library's limits for untrusted input (issue 10, item 15)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from bench.stream_memory import MAX_FIELD, Flood, forged_header_start

import sealbox
from tests.cli.conftest import Run

MiB = 1 << 20


@pytest.fixture
def key(sealbox_cli: Run) -> str:
    sealbox_cli("keygen", "-o", "k.json", check=True)
    return "key=k.json"


def _edk_flood(path: Path, size: int) -> None:
    field = struct.pack(">H", MAX_FIELD) + b"A" * MAX_FIELD
    source = Flood(forged_header_start() + struct.pack(">H", MAX_FIELD), field, size)
    path.write_bytes(b"".join(iter(lambda: source.read(MiB), b"")))


def test_a_header_flood_is_refused_by_default(sealbox_cli: Run, key: str, tmp_path: Path) -> None:
    _edk_flood(tmp_path / "hostile", 8 * MiB)
    refused = sealbox_cli("decrypt", "-w", key, "-i", "hostile", "-o", "out")
    assert refused.returncode == 1
    assert b"the message header is larger than max_header_size=4194304 bytes" in refused.stderr
    assert b"--max-header-size" in refused.stderr
    assert not (tmp_path / "out").exists()
    # with the limit lifted, the same (cut) flood is merely truncated
    lifted = sealbox_cli("decrypt", "-w", key, "-i", "hostile", "--max-header-size", "none")
    assert lifted.returncode == 1
    assert b"message is truncated" in lifted.stderr


def test_a_frame_length_over_the_default_needs_max_length(
    sealbox_cli: Run, key: str, tmp_path: Path
) -> None:
    frame_length = sealbox.DEFAULT_MAX_BODY_LENGTH + 1
    sealbox_cli(
        "encrypt", "-w", key, "-o", "m", "--frame-length", str(frame_length), stdin=b"tiny",
        check=True,
    )  # fmt: skip
    refused = sealbox_cli("decrypt", "-w", key, "-i", "m")
    assert refused.returncode == 1
    assert (
        f"the message's frame length {frame_length} is larger than "
        f"max_body_length={sealbox.DEFAULT_MAX_BODY_LENGTH} bytes"
    ).encode() in refused.stderr
    assert b"--max-length" in refused.stderr
    for limit in (str(frame_length), "none", "NONE"):
        allowed = sealbox_cli("decrypt", "-w", key, "-i", "m", "--max-length", limit, check=True)
        assert allowed.stdout == b"tiny"


@pytest.mark.parametrize("flag", ["--max-length", "--max-header-size"])
@pytest.mark.parametrize("value", ["0", "-5", "lots"])
def test_limit_flags_take_a_positive_size_or_none(
    sealbox_cli: Run, key: str, flag: str, value: str
) -> None:
    result = sealbox_cli("decrypt", "-w", key, flag, value, stdin=b"x")
    assert result.returncode == 2
    assert f"argument {flag}:".encode() in result.stderr


def test_limit_flags_are_decrypt_only(sealbox_cli: Run, key: str) -> None:
    result = sealbox_cli("encrypt", "-w", key, "--max-header-size", "10", stdin=b"x")
    assert result.returncode == 2
    assert b"--max-header-size" in result.stderr
