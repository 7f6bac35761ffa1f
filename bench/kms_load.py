"""KMS throughput and latency: Sealbox vs moto's server vs OpenBao transit.

    python -m bench.kms_load                       # 10 s per operation and peer, 4 clients
    python -m bench.kms_load --seconds 5 --clients 2 --workers 2 --peers sealbox,moto
    python -m bench.kms_load --operations Sign,GenerateMac --peers sealbox,openbao

Operations (each peer gets one key per operation, made before measuring):
GenerateDataKey (AES_256; OpenBao transit/datakey with an aes256-gcm96 key),
Sign (ECC_NIST_P256, ECDSA_SHA_256 over a 32-byte RAW message; OpenBao
transit/sign/<key>/sha2-256 with an ecdsa-p256 key) and GenerateMac (HMAC_256,
HMAC_SHA_256; OpenBao transit/hmac/<key>/sha2-256 with an hmac key).

Each client process holds one keep-alive connection and signs every request
(SigV4 with a cached signing key for KMS peers, about 25 us a request; a token
header for OpenBao), so the client costs nearly the same for every peer. Client
and server share this machine's cores, so the figures are lower bounds for the
servers. Every peer serves for the whole run and they take turns per operation
(--rounds N measures each cell N times and keeps the best). OpenBao runs
in dev mode (in-memory storage), with and without a file audit device.
Sealbox always writes its audit log: every answered request is a durable,
hash-chained record committed (fsync) before the response is sent, while
OpenBao's file audit device does not fsync.
"""

from __future__ import annotations

import argparse
import base64
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
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealbox.server.access import sigv4

REGION = "us-east-1"
MESSAGE = base64.b64encode(b"sealbox bench: 32 bytes to sign.").decode()

# Per operation: CreateKey's arguments and the request body (KeyId is added).
KMS_OPERATIONS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "GenerateDataKey": (
        {},
        {"KeySpec": "AES_256", "EncryptionContext": {"purpose": "bench"}},
    ),
    "Sign": (
        {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
        {"Message": MESSAGE, "MessageType": "RAW", "SigningAlgorithm": "ECDSA_SHA_256"},
    ),
    "GenerateMac": (
        {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
        {"Message": MESSAGE, "MacAlgorithm": "HMAC_SHA_256"},
    ),
}
# Per operation: the transit key's type and the request's path ({key}) and body.
BAO_OPERATIONS: dict[str, tuple[tuple[str, ...], str, dict[str, Any]]] = {
    "GenerateDataKey": (
        ("type=aes256-gcm96",),
        "transit/datakey/plaintext/{key}",
        {"bits": 256, "associated_data": "YmVuY2g="},
    ),
    "Sign": (("type=ecdsa-p256",), "transit/sign/{key}/sha2-256", {"input": MESSAGE}),
    "GenerateMac": (
        ("type=hmac", "key_size=32"),
        "transit/hmac/{key}/sha2-256",
        {"input": MESSAGE},
    ),
}


@dataclass(frozen=True)
class Target:
    """How to build one request for a peer."""

    name: str
    host: str
    port: int
    kind: str  # "kms" | "bao"
    keys: Mapping[str, str]  # operation -> key id (KMS) or transit key name
    access_key: str = ""
    secret: str = ""
    token: str = ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _kms_request(
    target: Target, operation: str, signing: dict[str, bytes]
) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps({"KeyId": target.keys[operation], **KMS_OPERATIONS[operation][1]}).encode()
    amz_date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": f"{target.host}:{target.port}",
        "x-amz-date": amz_date,
        "x-amz-target": f"TrentService.{operation}",
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


def _bao_request(target: Target, operation: str) -> tuple[str, bytes, dict[str, str]]:
    _, path, body = BAO_OPERATIONS[operation]
    return (
        "/v1/" + path.format(key=target.keys[operation]),
        json.dumps(body).encode(),
        {
            "X-Vault-Token": target.token,
            "Content-Type": "application/json",
        },
    )


def _client(target: Target, operation: str, seconds: float, results: Any) -> None:
    connection = http.client.HTTPConnection(target.host, target.port, timeout=30)
    signing: dict[str, bytes] = {}
    latencies: list[float] = []
    errors = 0
    first_error = ""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        path, body, headers = (
            _kms_request(target, operation, signing)
            if target.kind == "kms"
            else _bao_request(target, operation)
        )
        started = time.perf_counter()
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        answer = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            errors += 1
            first_error = first_error or f"{response.status} {answer[:200]!r}"
    connection.close()
    results.put((latencies, errors, first_error))


def measure(target: Target, operation: str, *, seconds: float, clients: int) -> dict[str, Any]:
    """req/s, p50/p99 latency and errors (with the first error's answer) of one operation."""
    results: Any = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=_client, args=(target, operation, seconds, results))
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    gathered = [results.get() for _ in processes]
    for process in processes:
        process.join()
    results.close()
    results.join_thread()
    latencies = sorted(x for lat, _, _ in gathered for x in lat)
    if not latencies:
        raise RuntimeError(f"{target.name}: no {operation} request completed")
    return {
        "requests_per_second": len(latencies) / seconds,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": sum(e for _, e, _ in gathered),
        "first_error": next((f for _, _, f in gathered if f), ""),
    }


def _kms_keys(port: int, access_key: str, secret: str) -> dict[str, str]:
    """One key per operation, made with boto3 (CreateKey's speed is not measured)."""
    import boto3

    client = boto3.client(
        "kms",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
    )
    try:
        return {
            operation: client.create_key(**create)["KeyMetadata"]["KeyId"]
            for operation, (create, _) in KMS_OPERATIONS.items()
        }
    finally:
        client.close()


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
        access_key, secret = values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"]
        yield Target(
            f"sealbox ({workers} workers)",
            "127.0.0.1",
            port,
            "kms",
            _kms_keys(port, access_key, secret),
            access_key,
            secret,
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def moto_server() -> Iterator[Target]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port)
        keys = _kms_keys(port, "testing", "testing")
        yield Target("moto server", "127.0.0.1", port, "kms", keys, "testing", "testing")
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
        keys: dict[str, str] = {}
        for operation, (key_type, _, _) in BAO_OPERATIONS.items():
            keys[operation] = f"bench-{operation.lower()}"
            run("write", f"transit/keys/{keys[operation]}", *key_type)
        yield Target(
            f"OpenBao transit{' + file audit' if audit else ''}",
            "127.0.0.1",
            port,
            "bao",
            keys,
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


def _ratio_table(report: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Sealbox's req/s over each other peer's, one row per operation."""
    ours = next((name for name in report if name.startswith("sealbox")), None)
    others = [name for name in report if name != ours]
    if ours is None or not others:
        return []
    width = max(len(name) for name in others)
    header = f"{'Sealbox / peer':16s} " + " ".join(f"{name:>{width}s}" for name in others)
    lines = [header]
    for operation, mine in report[ours].items():
        cells = []
        for name in others:
            theirs = report[name].get(operation)
            ratio = "n/a"
            if theirs is not None:
                ratio = f"{mine['requests_per_second'] / theirs['requests_per_second']:.2f}x"
            cells.append(f"{ratio:>{width}s}")
        lines.append(f"{operation:16s} " + " ".join(cells))
    return lines


def _row(operation: str, peer: str, result: dict[str, Any]) -> str:
    line = (
        f"{operation:16s} {peer:32s} {result['requests_per_second']:8.0f} "
        f"{result['p50_ms']:8.2f} {result['p99_ms']:8.2f}  {result['errors']}"
    )
    return line + (f"  first: {result['first_error']}" if result["errors"] else "")


HEADER = f"{'operation':16s} {'peer':32s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s}  errors"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="Sealbox worker processes")
    parser.add_argument("--log-level", default="warning", help="Sealbox log level during the run")
    parser.add_argument("--peers", default="sealbox,moto,openbao,openbao-audit")
    parser.add_argument("--operations", default=",".join(KMS_OPERATIONS))
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure every cell this often; keep the best"
    )
    args = parser.parse_args()
    operations = args.operations.split(",")
    unknown = set(operations) - set(KMS_OPERATIONS)
    if unknown:
        parser.error(f"unknown operations {sorted(unknown)}; known: {list(KMS_OPERATIONS)}")
    best: dict[str, dict[str, dict[str, Any]]] = {}
    print(f"{'round':6s} {HEADER}")
    # Every peer serves for the whole run and the peers take turns per operation, so
    # noise from other work on the machine falls on all of them alike.
    with ExitStack() as stack:
        targets = [stack.enter_context(PEERS[peer](args)) for peer in args.peers.split(",")]
        for round_number in range(1, args.rounds + 1):
            for operation in operations:
                for target in targets:
                    if round_number == 1:  # warm up
                        measure(
                            target, operation, seconds=min(2.0, args.seconds), clients=args.clients
                        )
                    result = measure(target, operation, seconds=args.seconds, clients=args.clients)
                    print(f"{round_number:<6d} {_row(operation, target.name, result)}", flush=True)
                    cells = best.setdefault(target.name, {})
                    kept = cells.get(operation)
                    if kept is None or result["requests_per_second"] > kept["requests_per_second"]:
                        cells[operation] = result
    print(f"\nbest of {args.rounds} round(s), {args.seconds:g} s each\n{HEADER}")
    for operation in operations:
        for peer, cells in best.items():
            print(_row(operation, peer, cells[operation]))
    print()
    print("\n".join(_ratio_table(best)))


if __name__ == "__main__":
    main()
