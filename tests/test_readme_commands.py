"""The README's two commands, run as a newcomer runs them: in a fresh clone, in a clean
environment (no virtualenv, an empty home directory, no AWS or Sealbox settings).

The first command installs and starts the development KMS; the test reads the exports it
prints, uses them with boto3, and stops it. The second, run next in the same checkout as a
newcomer would, installs the test dependencies and runs the checks; here it is given a
small part of the suite to run (the whole suite is what is running this test), so that
its install, lint and type-check steps are proven.

What is cloned is the repository's committed state (HEAD), as CI and a newcomer see it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL_SECONDS = 900  # a fresh virtualenv's pip install, on a slow day
DEFAULT_PORT = 8400
EXPORT = re.compile(r"^export (AWS_[A-Z_]+)=(\S+)$")


def readme_commands() -> tuple[str, str]:
    """The two shell commands under "## The two commands", in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 2, "the README must show exactly two commands"
    first, second = (block.strip() for block in blocks)
    return first, second


def clean_environment(home: Path) -> dict[str, str]:
    """This machine's environment, less anything a previous session or this test run set:
    no virtualenv on PATH, an empty home, no AWS_*/SEALBOX_*/PYTHON* settings. pip's
    download cache is kept (a cache, not configuration) so the installs stay quick."""
    venv_bin = str(Path(sys.prefix) / "bin")
    dropped = ("AWS_", "SEALBOX_", "PYTHON", "PYTEST", "VIRTUAL_ENV", "PROMETHEUS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    env["HOME"] = str(home)
    env.pop("CI", None)  # the README's commands take no CI-only path
    return env


def fresh_clone(base: Path, name: str) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    target = base / name
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    return target


def read_exports(process: subprocess.Popen[str], seconds: float) -> dict[str, str]:
    """The export lines the dev server prints first, read until the last one (a thread
    reads, so that a server that never prints them fails the test instead of hanging it)."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout

    def pump() -> None:
        with contextlib.suppress(ValueError):  # the pipe closed under it at the end
            for line in stdout:
                lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + seconds
    exports: dict[str, str] = {}
    while "AWS_DEFAULT_REGION" not in exports:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError("the first command printed no exports in time") from None
        match = EXPORT.match(line.strip())
        if match:
            exports[match.group(1)] = match.group(2)
    return exports


@pytest.mark.slow
@pytest.mark.timeout(3 * INSTALL_SECONDS)
def test_the_readme_commands_work_in_a_fresh_clone(tmp_path: Path) -> None:
    """As a newcomer does: clone, run the first command and use the KMS it starts, stop
    it, then run the second command in the same checkout."""
    install_and_serve, run_checks = readme_commands()
    with socket.socket() as probe:  # the README's command serves on the default port
        if probe.connect_ex(("127.0.0.1", DEFAULT_PORT)) == 0:
            pytest.skip(f"port {DEFAULT_PORT} is taken (a sealbox serve running here?)")
    clone = fresh_clone(tmp_path, "sealbox")
    home = tmp_path / "home"
    home.mkdir()
    env = clean_environment(home)
    assert not (clone / ".venv").exists()
    run_first_command(install_and_serve, clone, env, tmp_path / "first.log")
    result = subprocess.run(
        ["bash", "-c", f"{run_checks} -q -p no:cacheprovider tests/unit/test_format.py"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert re.search(r"^\d+ passed", result.stdout.splitlines()[-1]), result.stdout[-2000:]


def run_first_command(command: str, clone: Path, env: dict[str, str], log_path: Path) -> None:
    """Start the development KMS as the README says, use it with boto3, stop it."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,  # pip, sealbox and its workers stop together
        )
        try:
            exports = read_exports(process, INSTALL_SECONDS)
            kms = boto3.client(
                "kms",
                endpoint_url=exports["AWS_ENDPOINT_URL_KMS"],
                region_name=exports["AWS_DEFAULT_REGION"],
                aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
            )
            try:
                blob = kms.encrypt(KeyId="alias/sealbox-dev", Plaintext=b"first hour")
                answer = kms.decrypt(CiphertextBlob=blob["CiphertextBlob"])
                assert answer["Plaintext"] == b"first hour"
            finally:
                kms.close()
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                status = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                status = process.wait()
            assert process.stdout is not None
            process.stdout.close()
    assert status == 0, log_path.read_text()[-4000:]
