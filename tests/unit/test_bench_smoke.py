"""Each performance benchmark's smoke mode runs against its peers and reports its ratios:
the wrk service benchmark (Sealbox on SQLite and on PostgreSQL, OpenBao with a file
audit device, moto), the large-frame library run and the CLI run against
aws-encryption-cli.

Only that they run and report: no timing is asserted (the machine is shared and noisy).
wrk and PostgreSQL are system programs (scripts/test.sh installs them); without them
the service benchmark's test skips, or fails under SEALBOX_REQUIRE_SYSTEM_TOOLS=1 (CI).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres import find_bindir
from tests.system_tools import missing_system_tool

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ("GenerateDataKey", "Encrypt", "Decrypt")
RATIO = r"\d+\.\d\dx"


def _bench(module: str, *args: str, timeout: int = 300) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module, "--smoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_service_benchmark_smoke_runs_and_reports(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        missing_system_tool("wrk is not installed (apt-get install -y wrk)")
    find_bindir()  # PostgreSQL's binaries, for the node on PostgreSQL
    figures = tmp_path / "figures.json"
    out = _bench("bench.service_wrk", "--json", str(figures), timeout=400)
    report = json.loads(figures.read_text())
    peers = {"sealbox", "sealbox on PostgreSQL", "OpenBao transit + file audit", "moto server"}
    assert set(report["best"]) == peers
    for cells in (*report["best"].values(), *report["half_peak"].values()):
        assert set(cells) == set(OPERATIONS)
        for cell in cells.values():
            assert cell["requests_per_second"] > 0 and cell["errors"] == 0, cell
            assert 0 <= cell["p50_ms"] <= cell["p99_ms"], cell
    for name in ("sealbox", "sealbox on PostgreSQL"):
        for cell in report["best"][name].values():
            store = cell["store"]
            assert cell["cpu_us"] > 0 and store["records_per_batch"] >= 1, cell
    for cell in report["best"]["sealbox on PostgreSQL"].values():
        assert 0 < cell["store"]["pg_round_trips"] <= 2 and cell["store"]["pg_cpu_us"] > 0, cell
    for operation in OPERATIONS:  # Sealbox over each peer, and PostgreSQL over SQLite
        assert re.search(rf"^{operation} +{RATIO} \((met|below) 1.25x\) +{RATIO}", out, re.M), out
        assert re.search(rf"^{operation} +{RATIO} \((met|below) 0.8x\)$", out, re.M), out
    assert "latency at half the peak" in out


@pytest.mark.slow
def test_library_benchmark_smoke_runs_and_reports() -> None:
    out = _bench("bench.library")
    for label in ("0x0478/1MiB", "0x0578/4KiB"):  # the large-frame and default cases
        for operation in ("encrypt", "decrypt"):
            assert re.search(
                rf"{label} {operation} *: +{RATIO} reference, +{RATIO} SHA-384, +{RATIO} AES-GCM",
                out,
            ), out


@pytest.mark.slow
def test_cli_benchmark_smoke_runs_and_reports() -> None:
    out = _bench("bench.cli")
    for operation in ("encrypt", "decrypt"):
        assert re.search(
            rf"{operation}: sealbox is \d+\.\d\dx the reference .*peak RSS \d+\.\d MiB", out
        ), out
