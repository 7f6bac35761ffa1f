"""GenerateDataKey throughput and latency: Sealbox vs moto's server vs OpenBao transit.

    python -m bench.kms_load                       # 10 s per peer, 4 client processes
    python -m bench.kms_load --seconds 5 --clients 2 --workers 2 --peers sealbox,moto

Each client process holds one keep-alive connection and signs every request
(SigV4 with a cached signing key for KMS peers; a token header for OpenBao), so
the client costs the same for every peer. Client and server share this
machine's cores, so the figures are lower bounds for the servers. OpenBao runs
in dev mode (in-memory storage), with and without a file audit device.
Sealbox always writes its audit log: every answered request is a durable,
hash-chained record committed (fsync) before the response is sent, while
OpenBao's file audit device does not fsync.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealbox.server.access import sigv4

REGION = "us-east-1"


@dataclass(frozen=True)
class Target:
    """How to build one request for a peer."""

    name: str
    host: str
    port: int
    kind: str  # "kms" | "bao"
    key_id: str
    access_key: str = ""
    secret: str = ""
    token: str = ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _kms_request(target: Target, signing: dict[str, bytes]) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(
        {"KeyId": target.key_id, "KeySpec": "AES_256", "EncryptionContext": {"purpose": "bench"}}
    ).encode()
    amz_date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": f"{target.host}:{target.port}",
        "x-amz-date": amz_date,
        "x-amz-target": "TrentService.GenerateDataKey",
    }
    signed = ("content-type", "host", "x-amz-date", "x-amz-target")
    key = signing.get(amz_date[:8])
    if key is None:
        key = signing[amz_date[:8]] = sigv4.signing_key(target.secret, amz_date[:8], REGION, "kms")
    headers["authorization"] = sigv4.authorization_value(
        sigv4.Request("POST", "/", "", list(headers.items()), body),
        signed,
        access_key_id=target.access_key,
        key=key,
        amz_date=amz_date,
        region=REGION,
    )
    return "/", body, headers


def _bao_request(target: Target) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps({"bits": 256, "associated_data": "YmVuY2g="}).encode()
    return (
        f"/v1/transit/datakey/plaintext/{target.key_id}",
        body,
        {
            "X-Vault-Token": target.token,
            "Content-Type": "application/json",
        },
    )


def _client(target: Target, seconds: float, results: Any) -> None:
    connection = http.client.HTTPConnection(target.host, target.port, timeout=30)
    signing: dict[str, bytes] = {}
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        path, body, headers = (
            _kms_request(target, signing) if target.kind == "kms" else _bao_request(target)
        )
        started = time.perf_counter()
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        errors += response.status != 200
    connection.close()
    results.put((latencies, errors))


def measure(target: Target, *, seconds: float, clients: int) -> dict[str, float]:
    results: Any = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=_client, args=(target, seconds, results))
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    gathered = [results.get() for _ in processes]
    for process in processes:
        process.join()
    latencies = sorted(x for lat, _ in gathered for x in lat)
    errors = sum(e for _, e in gathered)
    if not latencies:
        raise RuntimeError(f"{target.name}: no request completed")
    return {
        "requests_per_second": len(latencies) / seconds,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": errors,
    }


def _wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@contextmanager
def sealbox_server(workers: int, log_level: str) -> Iterator[Target]:
    scratch = Path(tempfile.mkdtemp(prefix="sealbox-bench-"))
    process = subprocess.Popen(
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
            "--log-level",
            log_level,
            "--data-dir",
            str(scratch / "data"),
            "--root-key",
            str(scratch / "root.key"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        values: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("export "):
                name, _, value = line[7:].strip().partition("=")
                values[name] = value
            if line.startswith("# admin:"):  # the last line serve --dev prints
                break
        port = int(values["AWS_ENDPOINT_URL_KMS"].rsplit(":", 1)[1])
        _wait_port(port)
        time.sleep(1.0)  # let every worker finish starting
        yield Target(
            f"sealbox ({workers} workers)",
            "127.0.0.1",
            port,
            "kms",
            "alias/sealbox-dev",
            values["AWS_ACCESS_KEY_ID"],
            values["AWS_SECRET_ACCESS_KEY"],
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def moto_server() -> Iterator[Target]:
    import boto3

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port)
        client = boto3.client(
            "kms",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        key = client.create_key()["KeyMetadata"]["KeyId"]
        yield Target("moto server", "127.0.0.1", port, "kms", key, "testing", "testing")
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def openbao_server(audit: bool) -> Iterator[Target]:
    bao = shutil.which("bao") or str(Path(sys.executable).with_name("bao"))
    port = _free_port()
    scratch = Path(tempfile.mkdtemp(prefix="bao-bench-"))
    address = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "BAO_ADDR": address, "BAO_TOKEN": "root"}
    command = [
        bao,
        "server",
        "-dev",
        "-dev-root-token-id=root",
        f"-dev-listen-address=127.0.0.1:{port}",
    ]
    if audit:  # OpenBao 2.x declares audit devices in its configuration only
        config = scratch / "audit.hcl"
        config.write_text(
            f'audit "file" "bench" {{\n  options {{\n    file_path = "{scratch / "audit.log"}"\n  }}\n}}\n'
        )
        command.append(f"-config={config}")
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment
    )
    try:
        _wait_port(port)
        time.sleep(0.5)

        def run(*args: str) -> None:
            subprocess.run(
                [bao, *args], env=environment, check=True, capture_output=True, timeout=60
            )

        run("secrets", "enable", "transit")
        run("write", "-f", "transit/keys/k1")
        yield Target(
            f"OpenBao transit{' + file audit' if audit else ''}",
            "127.0.0.1",
            port,
            "bao",
            "k1",
            token="root",
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)


PEERS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "sealbox": lambda a: sealbox_server(a.workers, a.log_level),
    "moto": lambda a: moto_server(),
    "openbao": lambda a: openbao_server(audit=False),
    "openbao-audit": lambda a: openbao_server(audit=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="Sealbox worker processes")
    parser.add_argument("--log-level", default="warning", help="Sealbox log level during the run")
    parser.add_argument("--peers", default="sealbox,moto,openbao,openbao-audit")
    args = parser.parse_args()
    report: dict[str, dict[str, float]] = {}
    for peer in args.peers.split(","):
        with PEERS[peer](args) as target:
            measure(target, seconds=min(2.0, args.seconds), clients=args.clients)  # warm up
            report[target.name] = measure(target, seconds=args.seconds, clients=args.clients)
        result = report[target.name]
        print(
            f"{target.name:32s} {result['requests_per_second']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
            f"p99 {result['p99_ms']:6.2f} ms  errors {result['errors']:.0f}",
            flush=True,
        )
    ours = next((v for k, v in report.items() if k.startswith("sealbox")), None)
    if ours:
        for name, other in report.items():
            if not name.startswith("sealbox"):
                print(
                    f"sealbox / {name}: {ours['requests_per_second'] / other['requests_per_second']:.2f}x"
                )


if __name__ == "__main__":
    main()
