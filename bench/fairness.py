"""Fairness: another account's latency while one account loops GetParametersForImport.

    python -m bench.fairness                  # this tree: 20 s idle, then 20 s under load
    python -m bench.fairness --old            # the committed code, for comparison

Account A loops GetParametersForImport (RSA_4096) from ``--loopers`` concurrent
connections; account B sends ListKeys one after another on one keep-alive
connection. B's throughput and latency are measured first with A idle, then under
A's loop. One worker; client and server share this machine's cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from typing import Any

from bench._serve import Server, Signer, old_tree, sealbox_server

LOOPER, OTHER = "111122223333", "444455556666"


def _keep_alive(signer: Signer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(signer.host, signer.port, timeout=120)


def _call(connection: http.client.HTTPConnection, signer: Signer, op: str, body: Any) -> int:
    data, headers = signer.request(op, body)
    connection.request("POST", "/", data, headers)
    response = connection.getresponse()
    response.read()
    return response.status


def _measure(signer: Signer, seconds: float) -> list[float]:
    connection = _keep_alive(signer)
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        assert _call(connection, signer, "ListKeys", {}) == 200
        latencies.append(time.perf_counter() - started)
    connection.close()
    return latencies


def _loop(signer: Signer, key: str, stop: threading.Event, done: list[int]) -> None:
    connection = _keep_alive(signer)
    body = {"KeyId": key, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_4096"}
    while not stop.is_set():
        status = _call(connection, signer, "GetParametersForImport", body)
        done.append(status)
    connection.close()


def _report(name: str, latencies: list[float], seconds: float) -> float:
    ordered = sorted(latencies)
    median = statistics.median(ordered)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if len(ordered) >= 20 else ordered[-1]
    print(
        f"{name}: {len(ordered) / seconds:8.0f} ListKeys/s  median {median * 1000:7.2f} ms  "
        f"p95 {p95 * 1000:7.2f} ms  max {ordered[-1] * 1000:8.1f} ms"
    )
    return median


def run(server: Server, args: argparse.Namespace) -> None:
    looper = Signer(server.host, server.port, *server.access_key(LOOPER))
    other = Signer(server.host, server.port, *server.access_key(OTHER))
    status, created = looper.call("CreateKey", {"Origin": "EXTERNAL"})
    assert status == 200, created
    key = created["KeyMetadata"]["Arn"]
    _measure(other, 1.0)  # warm up
    idle = _report("idle      ", _measure(other, args.seconds), args.seconds)
    stop, done = threading.Event(), list[int]()
    loopers = [
        threading.Thread(target=_loop, args=(looper, key, stop, done)) for _ in range(args.loopers)
    ]
    for thread in loopers:
        thread.start()
    time.sleep(1.0)
    loaded = _report("under load", _measure(other, args.seconds), args.seconds)
    stop.set()
    for thread in loopers:
        thread.join()
    codes = {code: done.count(code) for code in set(done)}
    print(f"GetParametersForImport answered meanwhile: {len(done)} {json.dumps(codes)}")
    print(f"median latency under load / idle: {loaded / idle:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--loopers", type=int, default=4)
    parser.add_argument("--old", action="store_true", help="run the committed code (HEAD)")
    parser.add_argument("--tree", help="run the sealbox source at this path (its src)")
    parser.add_argument("--extra", default="", help="more sealbox serve flags, space-separated")
    args = parser.parse_args()
    python_path = old_tree() if args.old else args.tree
    with sealbox_server(
        args.extra.split(), accounts=(LOOPER, OTHER), python_path=python_path
    ) as server:
        run(server, args)


if __name__ == "__main__":
    main()
