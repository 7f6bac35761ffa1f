"""A throwaway Sealbox KMS for your own tests.

    from sealbox.testing import serve

    with serve() as kms:
        client = kms.client()               # a boto3 KMS client for the development account
        client.encrypt(KeyId=kms.alias, Plaintext=b"...")
        os.environ.update(kms.environment)  # or point the aws CLI / any SDK at it

``serve()`` starts ``sealbox serve --dev`` on 127.0.0.1 with a free port and a
temporary store, waits until it answers, and stops it (and deletes the store)
when the block ends. Needs ``pip install 'sealbox[server]'`` (and boto3 for ``client()``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class DevServer:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str
    account: str = "111122223333"
    alias: str = "alias/sealbox-dev"
    key_arn: str = ""

    @property
    def environment(self) -> dict[str, str]:
        """Variables that point the aws CLI and AWS SDKs at this server."""
        return {
            "AWS_ENDPOINT_URL_KMS": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self, **kwargs: Any) -> Any:
        import boto3
        from botocore.config import Config

        kwargs.setdefault("config", Config(retries={"total_max_attempts": 1}))
        return boto3.client(
            "kms",
            endpoint_url=self.endpoint_url,
            region_name=kwargs.pop("region_name", self.region),
            aws_access_key_id=kwargs.pop("aws_access_key_id", self.access_key_id),
            aws_secret_access_key=kwargs.pop("aws_secret_access_key", self.secret_access_key),
            **kwargs,
        )


def _parse(lines: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in lines:
        if line.startswith("export "):
            name, _, value = line[len("export ") :].partition("=")
            values[name] = value
        elif line.startswith("# development key "):
            values["KEY_ARN"] = line.split()[3]
    return values


@contextlib.contextmanager
def serve(*, workers: int = 1, extra_args: Sequence[str] = ()) -> Iterator[DevServer]:
    """Run a development Sealbox KMS for the duration of the block."""
    with tempfile.TemporaryDirectory(prefix="sealbox-test-") as scratch:
        log = open(os.path.join(scratch, "server.log"), "wb")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "sealbox",
                "serve",
                "--dev",
                "--port",
                "0",
                "--workers",
                str(workers),
                "--data-dir",
                os.path.join(scratch, "data"),
                "--root-key",
                os.path.join(scratch, "root.key"),
                *extra_args,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert process.stdout is not None
            lines: list[str] = []
            for line in process.stdout:
                lines.append(line.strip())
                if line.startswith("# admin: "):  # the last line --dev prints on stdout
                    break
            values = _parse(lines)
            if "AWS_ENDPOINT_URL_KMS" not in values:
                raise RuntimeError(f"sealbox serve --dev did not start; see {log.name}: {lines}")
            server = DevServer(
                endpoint_url=values["AWS_ENDPOINT_URL_KMS"],
                access_key_id=values["AWS_ACCESS_KEY_ID"],
                secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
                region=values["AWS_DEFAULT_REGION"],
                key_arn=values.get("KEY_ARN", ""),
            )
            _wait_ready(server.endpoint_url)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
            log.close()


def _wait_ready(endpoint: str) -> None:
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(endpoint + "/readyz", timeout=2) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Sealbox server at {endpoint} did not become ready")
        time.sleep(0.05)
