"""The command line: Sealbox vs the official aws-encryption-cli.

    python -m bench.cli                    # start-up x 10, then a 1 GiB file
    python -m bench.cli --size-mib 256 --startup-runs 5

Start-up is the wall time of ``--version`` (median of the runs). Throughput
encrypts and decrypts one file with each command, interleaved, with the same
KMS key of a ``sealbox serve --dev`` instance (the reference CLI only has KMS
providers), the same suite (0x0578, its default and ours) and the same frame
length (4096), from a file to a file on the same disk. The reference CLI's
output is checked to decrypt with ours and the other way round.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sealbox.testing import serve

MiB = 1 << 20
BIN = Path(sys.executable).parent
SEALBOX = [str(BIN / "sealbox")]
REFERENCE = [str(BIN / "aws-encryption-cli")]


def timed(command: list[str], environment: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=environment, check=True, capture_output=True)
    return time.perf_counter() - start


def startup(runs: int, environment: dict[str, str]) -> None:
    ours = statistics.median(timed([*SEALBOX, "--version"], environment) for _ in range(runs))
    theirs = statistics.median(timed([*REFERENCE, "--version"], environment) for _ in range(runs))
    print(f"--version start-up, median of {runs}")
    print(f"  sealbox              {ours * 1000:8.1f} ms")
    print(f"  aws-encryption-cli   {theirs * 1000:8.1f} ms")
    print(f"  sealbox / reference  {ours / theirs:8.2f}  (target <= 0.20)")


def digest(path: Path) -> bytes:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 * MiB):
            sha.update(chunk)
    return sha.digest()


def throughput(size_mib: int, directory: Path, environment: dict[str, str], key_arn: str) -> None:
    plain = directory / "plain"
    with plain.open("wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(MiB))
    expected = digest(plain)
    flags = ["-w", f"key={key_arn}", "--commitment-policy", "require-encrypt-require-decrypt"]
    flags += ["-S"]
    common = ["--frame-length", "4096"]
    runs = {
        "sealbox encrypt": [
            *SEALBOX,
            "-e",
            "-i",
            str(plain),
            "-o",
            str(directory / "ours"),
            *flags,
            *common,
        ],
        "reference encrypt": [
            *REFERENCE,
            "-e",
            "-i",
            str(plain),
            "-o",
            str(directory / "theirs"),
            *flags,
            *common,
        ],
        "sealbox decrypt": [
            *SEALBOX,
            "-d",
            "-i",
            str(directory / "theirs"),
            "-o",
            str(directory / "p1"),
            *flags,
        ],
        "reference decrypt": [
            *REFERENCE,
            "-d",
            "-i",
            str(directory / "ours"),
            "-o",
            str(directory / "p2"),
            *flags,
        ],
    }
    seconds = {name: timed(command, environment) for name, command in runs.items()}
    for output in ("p1", "p2"):
        assert digest(directory / output) == expected, f"{output} differs from the input"
    print(
        f"\n{size_mib} MiB file, suite 0x0578, frames of 4096 bytes (each decrypts the other's output)"
    )
    for name, value in seconds.items():
        print(f"  {name:20} {value:8.2f} s  {size_mib / value:8.1f} MiB/s")
    for operation in ("encrypt", "decrypt"):
        ratio = seconds[f"reference {operation}"] / seconds[f"sealbox {operation}"]
        print(f"  {operation}: sealbox is {ratio:.2f}x the reference  (target >= 4)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--startup-runs", type=int, default=10)
    args = parser.parse_args()
    with serve() as server, tempfile.TemporaryDirectory(dir=".") as directory:
        environment = {
            **os.environ,
            **server.environment,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "PYTHONWARNINGS": "ignore",
        }
        startup(args.startup_runs, environment)
        throughput(args.size_mib, Path(directory), environment, server.key_arn)


if __name__ == "__main__":
    main()
