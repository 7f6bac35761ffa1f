"""Streaming a 1 GiB message grows peak RSS by at most 64 MiB (memory is O(frame))."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("frame_length", [4096, 1 << 20])
def test_one_gib_streams_in_bounded_memory(frame_length: int) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.stream_memory",
            "--gib",
            "1",
            "--frame-length",
            str(frame_length),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    )
    report = json.loads(result.stdout)
    assert report["bytes"] == 1 << 30
    assert report["peak_rss_growth_mib"] <= 64, report
