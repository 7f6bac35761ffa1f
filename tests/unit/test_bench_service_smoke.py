"""bench.service_wrk's smoke mode runs against Sealbox and moto and reports its figures.

Only that it runs and reports: no timing is asserted (the machine is shared and noisy).
wrk is a system program (scripts/test.sh installs it); without it this fails, not skips.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ("GenerateDataKey", "Encrypt", "Decrypt")


@pytest.mark.slow
def test_service_benchmark_smoke_runs_and_reports(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.fail(
            "wrk is not installed (apt-get install -y wrk; scripts/test.sh installs it)",
            pytrace=False,
        )
    figures = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.service_wrk", "--smoke", "--json", str(figures)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(figures.read_text())
    assert set(report["best"]) == {"sealbox", "moto server"}
    for cells in (*report["best"].values(), *report["half_peak"].values()):
        assert set(cells) == set(OPERATIONS)
        for cell in cells.values():
            assert cell["requests_per_second"] > 0 and cell["errors"] == 0, cell
            assert 0 <= cell["p50_ms"] <= cell["p99_ms"], cell
    assert "Sealbox / peer" in result.stdout
    assert "latency at half the peak" in result.stdout
