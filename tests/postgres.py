"""A throwaway PostgreSQL server for tests: initdb in a temporary directory, on 127.0.0.1.

initdb refuses to run as root, so under root the cluster belongs to ``nobody``.
The binaries come from ``SEALBOX_PG_BIN``, ``pg_config --bindir`` or the Debian
layout (``/usr/lib/postgresql/N/bin``); ``.ci/run`` installs them.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.system_tools import missing_system_tool

SUPERUSER = "sealbox"


def find_bindir() -> Path:
    candidates = [os.environ.get("SEALBOX_PG_BIN", "")]
    if shutil.which("pg_config"):
        result = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(result.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    missing_system_tool(
        "PostgreSQL binaries (initdb, postgres) not found: apt-get install postgresql, "
        "or set SEALBOX_PG_BIN"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresCluster:
    def __init__(self, *, tls: tuple[bytes, bytes] | None = None) -> None:
        """``tls``: the server's certificate and key (PEM) to serve TLS with."""
        self.bindir = find_bindir()
        self.directory = Path(tempfile.mkdtemp(prefix="sealbox-pg-"))
        self.data = self.directory / "data"
        self.port = _free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            os.chown(self.directory, 65534, 65534)
            # runuser lives in /usr/sbin, which a minimal PATH may leave out
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            self._as_user = [runuser, "-u", "nobody", "--"]
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8")
        self._options: list[str] = []
        if tls is not None:
            for name, pem in zip(("server.crt", "server.key"), tls, strict=True):
                path = self.data / name
                path.write_bytes(pem)
                path.chmod(0o600)
                if self._as_user:
                    os.chown(path, 65534, 65534)
            self._options = [
                "-c",
                "ssl=on",
                "-c",
                "ssl_cert_file=server.crt",
                "-c",
                "ssl_key_file=server.key",
            ]
        self.process: subprocess.Popen[bytes] | None = None
        self.start()
        self._names = itertools.count()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as_user, str(self.bindir / tool), *args],
            check=True,
            capture_output=True,
            cwd=self.directory,
        )

    @property
    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server; after a crash it may take a moment before the old one's
        shared memory and port are free, so a start that exits at once is retried."""
        for _ in range(10):
            if self._launch():
                return
            time.sleep(1)
        log = (self.directory / "server.log").read_text(errors="replace")[-1500:]
        raise RuntimeError(f"the test PostgreSQL server did not start: {log}")

    def _launch(self) -> bool:
        with (self.directory / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*self._as_user, str(self.bindir / "postgres"), "-D", str(self.data),
                 "-h", "127.0.0.1", "-p", str(self.port), "-k", str(self.directory),
                 *self._options],
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=self.directory,
                start_new_session=True,  # one process group: kill() reaches every backend
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                psycopg.connect(self.admin_url, connect_timeout=1).close()
                return True
            except psycopg.OperationalError:
                if self.process.poll() is not None:
                    return False
                time.sleep(0.1)
        return False

    def kill(self) -> None:
        """kill -9 the postmaster and every backend (as a crash would)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        time.sleep(0.5)  # let the backends' sockets and shared memory go

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
        shutil.rmtree(self.directory, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"sealbox_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"
