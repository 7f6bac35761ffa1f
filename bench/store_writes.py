"""How long a state change holds the store's writer lock, on SQLite and on PostgreSQL.

    python -m bench.store_writes                 # 300 changes of each kind, both stores
    python -m bench.store_writes --changes 50 --stores postgres

A state change (TagResource, UpdateKeyDescription, CreateKey, ...) runs in one transaction
with its audit record, holding the writer lock: on SQLite the file lock every worker's
audit batches also take, on PostgreSQL a cluster-wide advisory lock that only state
changes take. The time it is held bounds how many changes per second one account-region
can make, whatever the number of nodes (docs/performance.md). Read from the server's own
``sealbox_store_change_seconds`` histogram, one change at a time on one connection.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench import _serve
from bench.service_wrk import _postgres_cluster

CHANGES: dict[str, Callable[[str, int], tuple[str, dict[str, Any]]]] = {
    "TagResource": lambda key, n: (
        "TagResource",
        {"KeyId": key, "Tags": [{"TagKey": "bench", "TagValue": str(n)}]},
    ),
    "UpdateKeyDescription": lambda key, n: (
        "UpdateKeyDescription",
        {"KeyId": key, "Description": f"bench {n}"},
    ),
    "CreateKey": lambda _key, n: ("CreateKey", {"Description": f"bench {n}"}),
}


@contextlib.contextmanager
def _store(kind: str) -> Iterator[_serve.Server]:
    with contextlib.ExitStack() as stack:
        database = None
        if kind == "postgres":
            database = stack.enter_context(_postgres_cluster()).new_database()
        yield stack.enter_context(_serve.sealbox_server(["--workers", "1"], database=database))


def _histogram(server: _serve.Server) -> tuple[float, float]:
    """(count, sum) of sealbox_store_change_seconds."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    found = {"count": 0.0, "sum": 0.0}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        for part in found:
            if name.split("{", 1)[0] == f"sealbox_store_change_seconds_{part}":
                found[part] += float(value)
    return found["count"], found["sum"]


def measure(kind: str, changes: int) -> dict[str, tuple[float, float]]:
    """Per change: (mean ms the writer lock was held, mean ms the whole request took)."""
    results = {}
    with _store(kind) as server:
        signer = _serve.Signer(server.host, server.port, *next(iter(server.keys.values())))
        status, created = signer.call("CreateKey", {})
        assert status == 200, created
        key = created["KeyMetadata"]["KeyId"]
        for name, make in CHANGES.items():
            count, total = _histogram(server)
            started = time.perf_counter()
            for n in range(changes):
                status, answer = signer.call(*make(key, n))
                assert status == 200, answer
            elapsed = time.perf_counter() - started
            count_after, total_after = _histogram(server)
            held = (total_after - total) / max(count_after - count, 1)
            results[name] = (held * 1000, elapsed / changes * 1000)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=300, help="of each kind, per store")
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    print(f"{'store':10s} {'change':22s} {'lock held ms':>12s} {'request ms':>11s}")
    for kind in args.stores.split(","):
        for name, (held, request) in measure(kind, args.changes).items():
            print(f"{kind:10s} {name:22s} {held:12.2f} {request:11.2f}", flush=True)


if __name__ == "__main__":
    main()
