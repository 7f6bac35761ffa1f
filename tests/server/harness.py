"""Servers for tests: in-process (with an injectable clock) or ``sealbox serve`` subprocesses."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
import uvicorn
from botocore.config import Config
from botocore.exceptions import ClientError

from sealbox.server.access import sigv4
from sealbox.server.access.principals import create_access_key, put_user_policy
from sealbox.server.bootstrap import open_service, prepare
from sealbox.server.clock import Clock, ManualClock
from sealbox.server.config import DEFAULT_ACCOUNT_QUOTA, ServerConfig
from sealbox.server.http.app import KmsApp
from sealbox.server.service import KmsService

DEV_ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"


def build_service(
    directory: Path, clock: Clock | None = None, database: str | None = None
) -> KmsService:
    config = ServerConfig(
        data_dir=directory / "data", root_key=str(directory / "root.key"), database=database
    )
    prepare(config)
    return open_service(config, clock)


@dataclass
class Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    arn: str


class InProcessServer:
    """A KmsApp served by uvicorn on a background thread, bound to 127.0.0.1:0."""

    def __init__(
        self,
        service: KmsService,
        *,
        sweep_seconds: float = 3600.0,
        account_quota: float = DEFAULT_ACCOUNT_QUOTA,
    ) -> None:
        self.service = service
        self.app = KmsApp(service, sweep_seconds=sweep_seconds, account_quota=account_quota)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the in-process server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def credentials(
        self, account: str = DEV_ACCOUNT, user: str = "alice", *, admin: bool = True
    ) -> Credentials:
        root = self.service.require_unsealed()
        created = create_access_key(
            self.service.store, root, account=account, user_name=user, admin=admin, now=time.time()
        )
        return Credentials(created.access_key_id, created.secret_access_key, created.arn)

    def client(self, credentials: Credentials | None = None, region: str = REGION) -> Any:
        credentials = credentials or self.credentials()
        return kms_client(self.endpoint, credentials, region)

    def put_user_policy(
        self, account: str, user: str, name: str, statements: list[dict[str, Any]]
    ) -> None:
        """What ``sealbox admin put-user-policy`` does, straight into the store."""
        put_user_policy(
            self.service.store,
            account=account,
            user_name=user,
            name=name,
            document=json.dumps({"Version": "2012-10-17", "Statement": statements}),
            now=time.time(),
        )

    def delete_user_policy(self, account: str, user: str, name: str) -> None:
        store = self.service.store
        with store.write() as connection:
            assert store.identities.delete_user_policy(account, user, name, connection)


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    """The (code, message) of the ClientError that ``call(**kwargs)`` raises."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def kms_client(endpoint: str, credentials: Credentials, region: str = REGION) -> Any:
    return boto3.client(
        "kms",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        # parameter_validation off: every limit must be enforced by the server itself
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=False),
    )


def manual_clock() -> ManualClock:
    return ManualClock(start=time.time())


class SubprocessServer:
    """``sealbox serve`` as a user runs it (own process group, so kill -9 takes the workers too)."""

    def __init__(
        self,
        data_dir: Path,
        root_key: Path,
        *,
        workers: int = 1,
        extra: tuple[str, ...] = (),
        cafile: Path | None = None,
    ) -> None:
        import os
        import subprocess
        import sys

        self.log_path = data_dir.parent / f"server-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sealbox",
                "serve",
                "--port",
                "0",
                "--workers",
                str(workers),
                "--data-dir",
                str(data_dir),
                "--root-key",
                str(root_key),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            start_new_session=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("sealbox: serving"):
            self.stop()
            raise RuntimeError(
                f"server did not start: {line!r}; log: {self.log_path.read_text()[-2000:]}"
            )
        self.endpoint = line.split(" on ")[1].split(" with ")[0]
        wait_ready(self.endpoint, cafile=cafile)

    def kill(self) -> None:
        import os
        import signal

        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._close()

    def stop(self) -> None:
        import os
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except Exception:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._close()

    def _close(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


def wait_ready(endpoint: str, timeout: float = 60.0, cafile: Path | None = None) -> None:
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(
                endpoint + "/readyz", timeout=2, context=context
            ) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{endpoint} did not become ready")


def admin(*args: str, data_dir: Path, root_key: Path) -> Any:
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sealbox",
            "admin",
            "--data-dir",
            str(data_dir),
            "--root-key",
            str(root_key),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return json.loads(result.stdout) if result.stdout.strip() else None


class RawClient:
    """Sends KMS requests over http.client, signing them the way botocore does (or not)."""

    def __init__(self, endpoint: str, credentials: Credentials) -> None:
        parsed = urlparse(endpoint)
        self.host = f"{parsed.hostname}:{parsed.port}"
        self.credentials = credentials

    def send(
        self,
        target: str | None,
        body: bytes | str = b"{}",
        *,
        sign: bool = True,
        when: float | None = None,
        region: str = "us-east-1",
        secret: str | None = None,
        headers: dict[str, str] | None = None,
        signed_headers: tuple[str, ...] = ("content-type", "host", "x-amz-date", "x-amz-target"),
        tamper_body: bytes | None = None,
        method: str = "POST",
        path: str = "/",
    ) -> tuple[int, dict[str, str], Any]:
        body = body.encode() if isinstance(body, str) else body
        amz_date = datetime.fromtimestamp(when or time.time(), UTC).strftime("%Y%m%dT%H%M%SZ")
        all_headers = {
            "content-type": "application/x-amz-json-1.1",
            "host": self.host,
            "x-amz-date": amz_date,
        }
        if target is not None:
            all_headers["x-amz-target"] = target
        all_headers.update(headers or {})
        if sign:
            signed = tuple(h for h in signed_headers if h in all_headers)
            all_headers["authorization"] = sigv4.authorization_value(
                sigv4.Request(method, path, "", list(all_headers.items()), body),
                signed,
                access_key_id=self.credentials.access_key_id,
                key=sigv4.signing_key(
                    secret or self.credentials.secret_access_key, amz_date[:8], region, "kms"
                ),
                amz_date=amz_date,
                region=region,
            )
        connection = http.client.HTTPConnection(self.host, timeout=30)
        connection.request(
            method, path, tamper_body if tamper_body is not None else body, all_headers
        )
        response = connection.getresponse()
        raw = response.read()
        reply_headers = {k.lower(): v for k, v in response.getheaders()}
        connection.close()
        try:
            document = json.loads(raw)
        except ValueError:
            document = raw
        return response.status, reply_headers, document


AWS = str(Path(sys.executable).with_name("aws"))


def aws_cli(server: InProcessServer, credentials: Credentials) -> Any:
    """``aws kms …`` as a user runs it against ``server`` (JSON output; nothing read from the
    user's own AWS configuration): call it with the arguments after ``kms``."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL_KMS": server.endpoint,
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AWS, "kms", *args, "--output", "json"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return aws


def module_server(name: str) -> Any:
    """A module-scoped ``server`` fixture: one service of the module's own, shared by its tests
    (bind it as ``server = module_server("name")``)."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
        running = InProcessServer(build_service(tmp_path_factory.mktemp(name)))
        try:
            yield running
        finally:
            running.stop()

    return server


@pytest.fixture(scope="module", name="kms")
def module_kms(server: InProcessServer) -> Any:
    """The ``kms`` fixture beside :func:`module_server`: a boto3 client of an admin of the
    dev account (bind it as ``kms = module_kms``)."""
    return server.client(server.credentials(DEV_ACCOUNT, "alice"))
