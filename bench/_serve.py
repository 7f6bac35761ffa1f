"""Shared by the hardening benches: a ``sealbox serve`` subprocess with a fresh store,
access keys made with ``sealbox admin``, signed requests over raw keep-alive
connections, and a process's resident memory."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealbox.server.access import sigv4

REGION = "us-east-1"


@dataclass
class Server:
    endpoint: str
    host: str
    port: int
    pid: int
    keys: dict[str, tuple[str, str]]  # account -> (access key id, secret)

    def access_key(self, account: str) -> tuple[str, str]:
        return self.keys[account]


def _create_access_key(
    store: list[str], root_key: Path, account: str, env: dict[str, str]
) -> tuple[str, str]:
    """Made before the server starts (``sealbox admin`` initializes the new store)."""
    command = [sys.executable, "-m", "sealbox", "admin", *store]
    command += ["--root-key", str(root_key), "create-access-key", "--account", account]
    out = subprocess.run(
        [*command, "--user", "bench", "--admin"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    created = json.loads(out.stdout)
    return created["AccessKeyId"], created["SecretAccessKey"]


@contextlib.contextmanager
def sealbox_server(
    extra: Sequence[str] = (),
    *,
    accounts: Sequence[str] = ("111122223333",),
    python_path: str | None = None,
    nofile: int | None = None,
    database: str | None = None,
) -> Iterator[Server]:
    """``sealbox serve`` on 127.0.0.1 (one worker: the worker is this pid); ``nofile``
    sets its soft open-file limit (1024 is the usual default on Linux); ``database``: a
    postgresql:// URL of an empty database to keep the store in instead of SQLite."""
    scratch = Path(tempfile.mkdtemp(prefix="sealbox-bench-"))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if python_path:
        env["PYTHONPATH"] = python_path
    data_dir, root_key = scratch / "data", scratch / "root.key"
    store = ["--data-dir", str(data_dir)] + (["--database", database] if database else [])
    keys = {a: _create_access_key(store, root_key, a, env) for a in accounts}
    log = open(scratch / "server.log", "wb")
    command = [sys.executable, "-m", "sealbox", "serve", "--port", "0", "--log-level", "warning"]
    command += [*store, "--root-key", str(root_key)]
    process = subprocess.Popen(
        [*command, *extra],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,
        env=env,
        preexec_fn=None if nofile is None else lambda: _soft_nofile(nofile),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("sealbox: serving"):
            raise RuntimeError(f"no server: {(scratch / 'server.log').read_text()[-2000:]}")
        endpoint = line.split(" on ")[1].split(" with ")[0]
        host, port = endpoint.split("//")[1].split(":")
        _wait_ready(endpoint)
        yield Server(endpoint, host, int(port), process.pid, keys)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        if os.environ.get("SEALBOX_BENCH_LOG"):  # show the server's log (debugging a bench)
            print((scratch / "server.log").read_text()[-6000:], file=sys.stderr)
        shutil.rmtree(scratch, ignore_errors=True)


def _soft_nofile(limit: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def _wait_ready(endpoint: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(endpoint + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.05)
    raise RuntimeError(f"{endpoint} did not become ready")


@dataclass
class Signer:
    host: str
    port: int
    access_key: str
    secret: str = field(repr=False)

    def request(self, operation: str, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        data = json.dumps(body).encode()
        amz_date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        headers = {
            "content-type": "application/x-amz-json-1.1",
            "host": f"{self.host}:{self.port}",
            "x-amz-date": amz_date,
            "x-amz-target": f"TrentService.{operation}",
        }
        signed = tuple(sorted(headers))
        headers["authorization"] = sigv4.authorization_value(
            sigv4.Request("POST", "/", "", list(headers.items()), data),
            signed,
            access_key_id=self.access_key,
            key=sigv4.signing_key(self.secret, amz_date[:8], REGION, "kms"),
            amz_date=amz_date,
            region=REGION,
        )
        return data, headers

    def call(
        self, operation: str, body: dict[str, Any], *, timeout: float = 30.0
    ) -> tuple[int, Any]:
        """One request on a fresh connection: (status, decoded body)."""
        data, headers = self.request(operation, body)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request("POST", "/", data, headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def old_tree(commit: str = "HEAD") -> str:
    """The committed source (before this working tree's changes), for before/after runs:
    ``git archive`` into a temporary directory; returns its ``src`` for PYTHONPATH."""
    target = Path(tempfile.mkdtemp(prefix="sealbox-old-"))
    archive = subprocess.run(
        ["git", "archive", commit, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return str(target / "src")


def worker_pids(pid: int) -> list[int]:
    """The processes serving for ``sealbox serve`` (``pid``): the workers it spawned with
    ``--workers N`` (multiprocessing; its resource tracker left out), or with one worker
    ``pid`` itself."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = []
    for child in children:
        command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"spawn_main" in command:
            workers.append(int(child))
    return workers or [pid]
