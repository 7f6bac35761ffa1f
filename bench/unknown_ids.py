"""Unauthenticated state growth: the worker's resident memory under floods of unknown
access key ids.

    python -m bench.unknown_ids                    # this tree
    python -m bench.unknown_ids --old              # the committed code, for comparison

Phase 1 sends ``--count`` signed ListKeys with distinct, well-formed, unknown access
key ids (AKIA + 16 digits); phase 2 sends ``--big`` requests whose id is
``--big-bytes`` long (over AWS's 128 characters, within the header limit). Both
from ``--connections`` keep-alive connections. Prints the worker's RSS before,
during and after each phase.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import threading
import time
from collections.abc import Callable

from bench._serve import Server, Signer, old_tree, rss_mib, sealbox_server


def _flood(server: Server, ids: Callable[[int], str], count: int, connections: int) -> int:
    """Send ``count`` requests, the n-th signed with ``ids(n)``; returns the answers != 400."""
    unexpected = [0]

    def worker(start: int) -> None:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
        for n in range(start, count, connections):
            signer = Signer(server.host, server.port, ids(n), "x" * 40)
            data, headers = signer.request("ListKeys", {})
            connection.request("POST", "/", data, headers)
            response = connection.getresponse()
            response.read()
            if response.status != 400:
                unexpected[0] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return unexpected[0]


def _shifted(ids: Callable[[int], str], offset: int, n: int) -> str:
    return ids(n + offset)


def _phase(
    server: Server, name: str, ids: Callable[[int], str], count: int, args: argparse.Namespace
) -> None:
    steps = 5
    before = rss_mib(server.pid)
    print(f"{name}: RSS before {before:.1f} MiB")
    started = time.monotonic()
    for step in range(steps):
        size = count // steps
        offset = step * size
        bad = _flood(server, functools.partial(_shifted, ids, offset), size, args.connections)
        print(
            f"  after {offset + size:>7} requests: RSS {rss_mib(server.pid):7.1f} MiB"
            + (f" ({bad} answers were not 400)" if bad else "")
        )
    elapsed = time.monotonic() - started
    after = rss_mib(server.pid)
    print(
        f"{name}: RSS after {after:.1f} MiB ({after - before:+.1f} MiB; {count / elapsed:.0f} req/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=4_000)
    parser.add_argument("--big-bytes", type=int, default=12 * 1024)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--old", action="store_true", help="run the committed code (HEAD)")
    parser.add_argument("--tree", help="run the sealbox source at this path (its src)")
    args = parser.parse_args()
    python_path = old_tree() if args.old else args.tree
    with sealbox_server(python_path=python_path) as server:
        _phase(server, "well-formed unknown ids", lambda n: f"AKIA{n:016d}", args.count, args)
        _phase(
            server,
            f"{args.big_bytes}-byte ids",
            lambda n: f"{n:08d}".ljust(args.big_bytes, "A"),
            args.big,
            args,
        )


if __name__ == "__main__":
    main()
