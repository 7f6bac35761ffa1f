"""Slowloris: do legitimate requests get served while 1,000 slow connections are open?

    python -m bench.slowloris                          # this tree, 1,000 slow connections
    python -m bench.slowloris --old                    # the committed code, for comparison
    python -m bench.slowloris --server-nofile 1024     # the usual soft open-file limit

Each slow connection sends a request line and then one header line every
``--drip`` seconds, never finishing its headers; when the server closes one, it
is opened again at once (as an attacker would). Meanwhile a legitimate client
makes ``--legit`` signed ListKeys requests, each on a new connection with a
10-second timeout, spread over ``--seconds``. Reports legitimate requests served
N/N with their latencies, and how the slow connections fared.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass, field

from bench._serve import Server, Signer, old_tree, raise_fd_limit, sealbox_server

ACCOUNT = "111122223333"


@dataclass
class Attack:
    open_now: int = 0
    opened: int = 0
    closed_by_server: int = 0
    refused: int = 0  # connect() failed
    answers: dict[str, int] = field(default_factory=dict)  # first status line seen
    stop: bool = False


async def _slow_connection(server: Server, attack: Attack, drip: float) -> None:
    while not attack.stop:
        try:
            reader, writer = await asyncio.open_connection(server.host, server.port)
        except OSError:
            attack.refused += 1
            await asyncio.sleep(0.5)
            continue
        attack.opened += 1
        attack.open_now += 1
        try:
            writer.write(f"POST / HTTP/1.1\r\nHost: {server.host}\r\n".encode())
            n = 0
            while not attack.stop:
                try:
                    line = await asyncio.wait_for(reader.readline(), timeout=drip)
                except TimeoutError:
                    writer.write(f"X-Slow-{n}: a\r\n".encode())
                    n += 1
                    continue
                if line:
                    status = line.decode(errors="replace").split(" ")[1:2]
                    key = status[0] if status else "?"
                    attack.answers[key] = attack.answers.get(key, 0) + 1
                attack.closed_by_server += 1
                break
        except (ConnectionError, OSError):
            attack.closed_by_server += 1
        finally:
            attack.open_now -= 1
            writer.close()


def _legit(signer: Signer, count: int, seconds: float) -> list[tuple[int, float]]:
    results = []
    gap = seconds / count
    for _ in range(count):
        started = time.perf_counter()
        try:
            status, _ = signer.call("ListKeys", {}, timeout=10.0)
        except OSError:
            status = 0
        results.append((status, time.perf_counter() - started))
        time.sleep(max(0.0, gap - (time.perf_counter() - started)))
    return results


async def run(server: Server, args: argparse.Namespace) -> None:
    access_key, secret = server.access_key(ACCOUNT)
    signer = Signer(server.host, server.port, access_key, secret)
    baseline = _legit(signer, 5, 0.5)
    attack = Attack()
    tasks = [
        asyncio.create_task(_slow_connection(server, attack, args.drip))
        for _ in range(args.connections)
    ]
    deadline = time.monotonic() + 30
    while attack.open_now < args.connections and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    print(f"slow connections open: {attack.open_now} of {args.connections}")
    samples: list[int] = []

    async def sample() -> None:
        while not attack.stop:
            samples.append(attack.open_now)
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    results = await asyncio.to_thread(_legit, signer, args.legit, args.seconds)
    attack.stop = True
    await sampler
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    served = [latency for status, latency in results if status == 200]
    print(f"idle: ListKeys median {statistics.median(t for _, t in baseline) * 1000:.1f} ms")
    print(
        f"legitimate requests served: {len(served)}/{len(results)} "
        f"(statuses {sorted({s for s, _ in results})})"
    )
    if served:
        print(
            f"  latency median {statistics.median(served) * 1000:.1f} ms, "
            f"max {max(served) * 1000:.1f} ms"
        )
    print(
        f"slow connections: opened {attack.opened}, closed by the server {attack.closed_by_server}"
        f" (answers {attack.answers}), connect failures {attack.refused}; open during the run "
        f"min {min(samples, default=0)} / median {statistics.median(samples or [0]):.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--legit", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--drip", type=float, default=2.0, help="seconds between header lines")
    parser.add_argument("--old", action="store_true", help="run the committed code (HEAD)")
    parser.add_argument("--tree", help="run the sealbox source at this path (its src)")
    parser.add_argument("--server-nofile", type=int, help="the server's soft open-file limit")
    parser.add_argument("--extra", default="", help="more sealbox serve flags, space-separated")
    args = parser.parse_args()
    raise_fd_limit(args.connections * 2 + 256)
    python_path = old_tree() if args.old else args.tree
    with sealbox_server(
        args.extra.split(), python_path=python_path, nofile=args.server_nofile
    ) as server:
        asyncio.run(run(server, args))


if __name__ == "__main__":
    main()
