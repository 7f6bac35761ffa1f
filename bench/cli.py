"""The command line: Sealbox vs the official aws-encryption-cli.

    python -m bench.cli                    # start-up x 10, then a 1 GiB file, 3 rounds
    python -m bench.cli --size-mib 256 --startup-runs 5 --rounds 5
    python -m bench.cli --smoke            # 8 MiB, 1 round: that it runs and reports
    python -m bench.cli --baseline /tmp/old/src   # also an older Sealbox, interleaved

Start-up is the wall time of ``--version`` (median of the runs). Throughput
encrypts and decrypts one file with each command, with the same KMS key of a
``sealbox serve --dev`` instance (the reference CLI only has KMS providers),
the same suite (0x0578, its default and ours) and the same frame length
(4096), from a file to a file on the same disk. The four commands run
interleaved, round after round, and each keeps its best round. Before every
command the page cache is flushed (``sync``), so that no command pays for the
writeback of another's output, and the command's input is read once, so that
every command starts from a cached input (Sealbox writes its output around the
cache, so the reference would otherwise read Sealbox's from the disk).
Sealbox's time includes its fsync of the output (renamed into place only once
durable); the reference CLI does not sync. Peak RSS and CPU time are each command's own (``wait4``); Sealbox's
peak is also shown over that of the same command on an empty file (the
interpreter, boto3 and the KMS call: what copying the file adds). The
reference CLI's output is checked to decrypt with ours and the other way round.
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
from dataclasses import dataclass, field
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


@dataclass
class Run:
    """One command's best round: wall seconds, with that round's CPU seconds and peak RSS."""

    command: list[str]
    source: Path
    target: Path
    seconds: float = float("inf")
    cpu: float = 0.0
    rss_mib: float = 0.0
    rounds: list[float] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)  # added to the common one

    def measure(self, environment: dict[str, str]) -> None:
        os.sync()  # nobody pays for the writeback of an earlier command's output
        digest(self.source)  # nor reads its input from the disk: every input starts cached
        start = time.perf_counter()
        child = subprocess.Popen(
            self.command,
            env={**environment, **self.environment},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        assert child.stderr is not None
        errors = child.stderr.read().decode(errors="replace")
        child.stderr.close()
        if child.returncode:
            raise SystemExit(f"{' '.join(self.command)} failed ({child.returncode}):\n{errors}")
        self.rounds.append(seconds)
        if seconds < self.seconds:
            self.seconds = seconds
            self.cpu = usage.ru_utime + usage.ru_stime
            self.rss_mib = usage.ru_maxrss / 1024  # kilobytes on Linux


def digest(path: Path) -> bytes:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 * MiB):
            sha.update(chunk)
    return sha.digest()


def throughput(
    size_mib: int,
    rounds: int,
    directory: Path,
    environment: dict[str, str],
    key_arn: str,
    baseline_src: Path | None,
) -> None:
    plain = directory / "plain"
    with plain.open("wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(MiB))
    expected = digest(plain)
    flags = ["-w", f"key={key_arn}", "--commitment-policy", "require-encrypt-require-decrypt"]
    flags += ["-S"]
    common = ["--frame-length", "4096"]

    def command(tool: list[str], mode: str, source: str, target: str, *extra: str) -> Run:
        paths = ["-i", str(directory / source), "-o", str(directory / target)]
        return Run([*tool, mode, *paths, *flags, *extra], directory / source, directory / target)

    (directory / "empty").touch()
    empty = {
        "encrypt": command(SEALBOX, "-e", "empty", "empty.sealed", *common),
        "decrypt": command(SEALBOX, "-d", "empty.sealed", "empty.out"),
    }
    for run in empty.values():
        run.measure(environment)  # the memory of a command with nothing to copy
    runs = {
        "sealbox encrypt": command(SEALBOX, "-e", "plain", "ours", *common),
        "reference encrypt": command(REFERENCE, "-e", "plain", "theirs", *common),
        "sealbox decrypt": command(SEALBOX, "-d", "theirs", "p1"),
        "reference decrypt": command(REFERENCE, "-d", "ours", "p2"),
    }
    if baseline_src is not None:
        # The same commands from another source tree, with the same interpreter.
        module = [sys.executable, "-m", "sealbox"]
        runs["baseline encrypt"] = command(module, "-e", "plain", "old", *common)
        runs["baseline decrypt"] = command(module, "-d", "theirs", "p3")
        for run in (runs["baseline encrypt"], runs["baseline decrypt"]):
            run.environment = {"PYTHONPATH": str(baseline_src.resolve())}
    for _ in range(rounds):
        for run in runs.values():
            run.target.unlink(missing_ok=True)  # each command writes a new file
            run.measure(environment)
    for output in ("p1", "p2", "p3") if baseline_src else ("p1", "p2"):
        assert digest(directory / output) == expected, f"{output} differs from the input"
    print(
        f"\n{size_mib} MiB file, suite 0x0578, frames of 4096 bytes (each decrypts the other's "
        f"output); best of {rounds} interleaved rounds"
    )
    for name, run in runs.items():
        every = ", ".join(f"{s:.2f}" for s in run.rounds)
        print(
            f"  {name:20} {run.seconds:8.2f} s  {size_mib / run.seconds:8.1f} MiB/s  "
            f"cpu {run.cpu:6.2f} s  peak RSS {run.rss_mib:6.1f} MiB  (rounds: {every})"
        )
    for operation in ("encrypt", "decrypt"):
        ours, theirs = runs[f"sealbox {operation}"], runs[f"reference {operation}"]
        growth = ours.rss_mib - empty[operation].rss_mib
        print(
            f"  {operation}: sealbox is {theirs.seconds / ours.seconds:.2f}x the reference  "
            f"(target >= 4); peak RSS {ours.rss_mib:.1f} MiB, {growth:.1f} MiB over the same "
            f"command on an empty file ({empty[operation].rss_mib:.1f} MiB; target <= 64)"
        )
        if baseline_src is not None:
            old = runs[f"baseline {operation}"]
            print(
                f"  {operation}: the baseline is {theirs.seconds / old.seconds:.2f}x the "
                f"reference; sealbox is {old.seconds / ours.seconds:.2f}x the baseline"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--startup-runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="8 MiB, one round, 2 start-ups")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="SRC",
        help="also time `python -m sealbox` from this source tree (e.g. a `git archive` of main)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.size_mib, args.rounds, args.startup_runs = 8, 1, 2
    with serve() as server, tempfile.TemporaryDirectory(dir=".") as directory:
        environment = {
            **os.environ,
            **server.environment,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "PYTHONWARNINGS": "ignore",
        }
        startup(args.startup_runs, environment)
        throughput(
            args.size_mib,
            args.rounds,
            Path(directory),
            environment,
            server.key_arn,
            args.baseline,
        )


if __name__ == "__main__":
    main()
