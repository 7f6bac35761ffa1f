"""KMS service throughput and latency under wrk: Sealbox vs OpenBao (+ file audit) vs moto.

    python -m bench.service_wrk                      # 10 s per cell, best of 3 interleaved rounds
    python -m bench.service_wrk --seconds 5 --rounds 1 --peers sealbox,moto
    python -m bench.service_wrk --baseline           # also the committed code (HEAD): before/after
    python -m bench.service_wrk --profile 20         # py-spy on one Sealbox worker under wrk load
    python -m bench.service_wrk --smoke              # 1 s per cell, every peer: runs, reports (CI)
    python -m bench.service_wrk --peers sealbox,sealbox-postgres --no-latency   # SQLite vs PostgreSQL

The client is wrk (Debian/Ubuntu: ``apt-get install -y wrk``), one thread and 16
keep-alive connections, replaying one pre-signed request per operation, so the client
costs almost nothing and the same for every peer. A KMS request is signed once (SigV4,
fixed X-Amz-Date) and replayed for the whole run, as AWS accepts within its five-minute
clock-skew window; before each run the exact request is sent twice on one connection and
must be answered 200 both times (the replay check). OpenBao gets a fixed token header.

Operations: GenerateDataKey (AES_256), Encrypt and Decrypt of 32 bytes, each with an
encryption context; OpenBao transit's datakey/plaintext, encrypt and decrypt with an
aes256-gcm96 key and the same bytes as associated data.

Peers: Sealbox (``sealbox serve --workers 2``, log level info: one access log line per
request; every answered request's audit record is hash-chained and committed with fsync,
SQLite WAL synchronous=FULL, before the answer), OpenBao's dev server (in-memory storage)
with a file audit device declared in its configuration (OpenBao's file device does not
fsync), OpenBao without audit (``--peers`` ``openbao``), and moto's server.
``sealbox-postgres`` is the same Sealbox node with its store on a PostgreSQL server of
its own (initdb in a temporary directory, default
settings: ``synchronous_commit`` on, so an audit batch is durable when its INSERT
returns); PostgreSQL's binaries must be installed (``apt-get install -y postgresql``).
All serve for the whole run; the peers take turns per operation and the best of ``--rounds`` is kept.

Latency at half the peak: wrk has no fixed-rate mode (wrk2 has), so each connection
pauses between requests (wrk's ``delay()``, jittered ±50 %) for a pause calibrated in
two short runs to bring the total rate to half the peak measured above. This is a
closed loop: a slow answer delays that connection's next request instead of queueing it
(wrk2's coordinated-omission correction), so p99 is the service time at that load.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _serve
from bench.kms_load import Target, _kms_keys, moto_server, openbao_server

INSTALL = "apt-get install -y wrk"
OPERATIONS = ("GenerateDataKey", "Encrypt", "Decrypt")
PLAINTEXT = base64.b64encode(b"sealbox bench: 32 bytes of data.").decode()
CONTEXT = {"purpose": "bench"}
AAD = base64.b64encode(b"bench").decode()
TARGETS = {"openbao-audit": 1.25, "moto": 12.0}  # Sealbox's req/s over theirs, at least
POSTGRES_TARGET = 0.8  # Sealbox on PostgreSQL over Sealbox on SQLite, at least
P99_TARGET_MS = 5.0


@dataclass(frozen=True)
class Prepared:
    """One request, exactly as wrk replays it."""

    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Cell:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float | None = None  # the server's CPU time per request (Sealbox's workers)
    store: dict[str, float] | None = None  # Sealbox's store per request (see StoreProbe)


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(f"bench.service_wrk needs wrk, which is not installed: {INSTALL}")
    return found


# -- peers ------------------------------------------------------------------------------


class StoreProbe:
    """What Sealbox's store did during a run, per request, from its Prometheus metrics
    (audit batches: how many, how many records, how long each held the writer) and, on
    PostgreSQL, from the database server (its processes' CPU time, its transactions:
    every statement Sealbox sends on this path runs in autocommit, so a transaction is a
    round trip)."""

    def __init__(self, target: Target, cluster: Any = None, database: str = "") -> None:
        self._target = target
        self._cluster = cluster
        self._database = database
        self._before: dict[str, float] = {}

    def _metrics(self) -> dict[str, float]:
        connection = http.client.HTTPConnection(self._target.host, self._target.port, timeout=30)
        try:
            connection.request("GET", "/metrics")
            text = connection.getresponse().read().decode()
        finally:
            connection.close()
        found = dict.fromkeys(_STORE_METRICS, 0.0)
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            name = name.split("{", 1)[0]  # summed over the store label
            if name in found:
                found[name] += float(value)
        return found

    def _postgres(self) -> dict[str, float]:
        if self._cluster is None:
            return {}
        import psycopg

        time.sleep(1.1)  # PostgreSQL's backends report their counts at most once a second
        with psycopg.connect(self._cluster.admin_url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                (self._database,),
            ).fetchone()
        assert row is not None, f"no database {self._database}"
        postgres_pids = _descendants(self._cluster.process.pid)  # postmaster, backends, ...
        return {"pg_transactions": float(row[0]), "pg_cpu_s": cpu_seconds(postgres_pids)}

    def start(self) -> None:
        self._before = self._metrics() | self._postgres()

    def per_request(self, requests: float, seconds: float) -> dict[str, float]:
        after = self._metrics() | self._postgres()
        delta = {name: after[name] - self._before.get(name, 0.0) for name in after}
        batches = max(delta["sealbox_audit_batch_seconds_count"], 1.0)
        figures = {
            "records_per_batch": delta["sealbox_audit_batch_records_sum"] / batches,
            "audit_batch_ms": 1000 * delta["sealbox_audit_batch_seconds_sum"] / batches,
            # the share of the run's wall time the writer was busy with audit batches and
            # state changes: on SQLite the one writer lock is held that long
            "writer_busy": (
                delta["sealbox_audit_batch_seconds_sum"] + delta["sealbox_store_change_seconds_sum"]
            )
            / seconds,
        }
        if "pg_transactions" in delta:
            figures["pg_round_trips"] = delta["pg_transactions"] / requests
            figures["pg_cpu_us"] = 1e6 * delta["pg_cpu_s"] / requests
        return figures


_STORE_METRICS = (
    "sealbox_audit_batch_seconds_count",
    "sealbox_audit_batch_seconds_sum",
    "sealbox_audit_batch_records_sum",
    "sealbox_store_change_seconds_sum",
)


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (under root, PostgreSQL runs under runuser)."""
    found = [pid]
    with contextlib.suppress(FileNotFoundError):  # it has just exited
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            found += _descendants(int(child))
    return found


@contextlib.contextmanager
def sealbox_peer(
    name: str,
    workers: int,
    log_level: str,
    python_path: str | None = None,
    *,
    postgres: bool = False,
) -> Iterator[tuple[Target, int, StoreProbe]]:
    """``sealbox serve`` (see bench._serve) with one key per operation; also its pid and
    its store's probe. ``postgres``: the store on a PostgreSQL server of its own."""
    extra = ["--workers", str(workers), "--log-level", log_level]
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(_postgres_cluster()) if postgres else None
        database = cluster.new_database() if cluster else None
        server = stack.enter_context(
            _serve.sealbox_server(extra, python_path=python_path, database=database)
        )
        access_key, secret = next(iter(server.keys.values()))
        keys = _kms_keys(server.port, access_key, secret)
        target = Target(name, server.host, server.port, "kms", keys, access_key, secret)
        name_in_cluster = database.rsplit("/", 1)[1] if database else ""
        yield target, server.pid, StoreProbe(target, cluster, name_in_cluster)


@contextlib.contextmanager
def _postgres_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL server (the tests' own, tests/postgres.py)."""
    from tests.postgres import PostgresCluster

    cluster = PostgresCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


def _call(target: Target, request: Prepared, times: int = 1) -> list[tuple[int, bytes]]:
    """Send ``request`` ``times`` times on one keep-alive connection."""
    connection = http.client.HTTPConnection(target.host, target.port, timeout=30)
    answers = []
    try:
        for _ in range(times):
            connection.request("POST", request.path, request.body, request.headers)
            response = connection.getresponse()
            answers.append((response.status, response.read()))
    finally:
        connection.close()
    return answers


def _kms(target: Target, operation: str, body: dict[str, Any]) -> Prepared:
    signer = _serve.Signer(target.host, target.port, target.access_key, target.secret)
    data, headers = signer.request(operation, body)
    return Prepared("/", data, headers)


def _bao(target: Target, path: str, body: dict[str, Any]) -> Prepared:
    headers = {
        "Host": f"{target.host}:{target.port}",
        "X-Vault-Token": target.token,
        "Content-Type": "application/json",
    }
    return Prepared(f"/v1/transit/{path}", json.dumps(body).encode(), headers)


def prepare(target: Target, operation: str) -> Prepared:
    """The request for ``operation``, signed now (a Decrypt's ciphertext is made first)."""
    key = target.keys["GenerateDataKey"]  # the symmetric key serves all three operations
    if target.kind == "kms":
        base = {"KeyId": key, "EncryptionContext": CONTEXT}
        if operation == "GenerateDataKey":
            return _kms(target, operation, {**base, "KeySpec": "AES_256"})
        encrypt = _kms(target, "Encrypt", {**base, "Plaintext": PLAINTEXT})
        if operation == "Encrypt":
            return encrypt
        blob = json.loads(_answer(target, encrypt))["CiphertextBlob"]
        return _kms(target, "Decrypt", {**base, "CiphertextBlob": blob})
    if operation == "GenerateDataKey":
        return _bao(target, f"datakey/plaintext/{key}", {"bits": 256, "associated_data": AAD})
    encrypt = _bao(target, f"encrypt/{key}", {"plaintext": PLAINTEXT, "associated_data": AAD})
    if operation == "Encrypt":
        return encrypt
    ciphertext = json.loads(_answer(target, encrypt))["data"]["ciphertext"]
    return _bao(target, f"decrypt/{key}", {"ciphertext": ciphertext, "associated_data": AAD})


def _answer(target: Target, request: Prepared) -> bytes:
    ((status, body),) = _call(target, request)
    if status != 200:
        raise RuntimeError(f"{target.name}: {status} {body[:300]!r}")
    return body


def check_replay(target: Target, request: Prepared) -> None:
    """The identical signed request, twice: both must be answered 200."""
    for status, body in _call(target, request, times=2):
        if status != 200:
            raise RuntimeError(f"{target.name} refused a replayed request: {status} {body[:300]!r}")


# -- wrk ----------------------------------------------------------------------------------


def _lua_string(text: str) -> str:
    """A Lua string literal: printable ASCII as is, anything else as a three-digit escape
    (a shorter one would swallow a following digit)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


# wrk prints this line when done (summary and latency in microseconds)
_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"status":%d,"socket":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def lua_script(request: Prepared, pause_ms: float | None = None) -> str:
    """wrk's script: the fixed request; with ``pause_ms``, a jittered pause before each."""
    lines = ['wrk.method = "POST"', f"wrk.path = {_lua_string(request.path)}"]
    lines.append(f"wrk.body = {_lua_string(request.body.decode())}")
    for name, value in request.headers.items():
        # wrk adds its own Host unless the table has one under exactly this name
        name = "Host" if name.lower() == "host" else name
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    if pause_ms is not None:
        # wrk takes whole milliseconds (truncated): +0.5 keeps the mean at pause_ms
        lines.append(f"function delay() return {pause_ms:.3f} * (0.5 + math.random()) + 0.5 end")
    return "\n".join(lines) + "\n" + _DONE


def run_wrk(
    target: Target,
    request: Prepared,
    seconds: float,
    *,
    connections: int = 16,
    pause_ms: float | None = None,
) -> Cell:
    with tempfile.TemporaryDirectory(prefix="service-wrk-") as scratch:
        script = Path(scratch) / "request.lua"
        script.write_text(lua_script(request, pause_ms))
        command = [require_wrk(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        command += ["--timeout", "10s", "-s", str(script), f"http://{target.host}:{target.port}"]
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK-RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-800:]}{out.stderr[-800:]}")
    result = json.loads(line.split(" ", 1)[1])
    return Cell(
        result["requests"] / (result["duration_us"] / 1e6),
        result["p50_us"] / 1000,
        result["p99_us"] / 1000,
        result["status"] + result["socket"],
    )


def at_rate(
    target: Target, request: Prepared, rate: float, seconds: float, *, calibrations: int = 2
) -> Cell:
    """Latency with the pause calibrated (``calibrations`` runs of up to 2 s) to bring the
    total rate near ``rate``."""
    connections = 16
    period_ms = 1000 * connections / rate  # each connection's time per request
    pause = period_ms * 0.8
    for _ in range(calibrations):
        probe = run_wrk(target, request, min(2, seconds), connections=connections, pause_ms=pause)
        measured_period = 1000 * connections / max(probe.requests_per_second, 1.0)
        pause = max(0.0, pause + period_ms - measured_period)
    return run_wrk(target, request, seconds, connections=connections, pause_ms=pause)


# -- profile ------------------------------------------------------------------------------


def profile(
    pid: int, target: Target, request: Prepared, seconds: float, top: int, keep: Path | None
) -> str:
    """py-spy on one worker of ``pid`` while wrk loads it: the functions that take the most
    of that worker's on-CPU samples, inclusive and self."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    worker = _serve.worker_pids(pid)[0]
    with tempfile.TemporaryDirectory(prefix="service-spy-") as scratch:
        raw = Path(scratch) / "stacks.txt"
        command = [spy, "record", "--pid", str(worker), "--duration", str(round(seconds))]
        spying = subprocess.Popen(
            [*command, "--format", "raw", "--output", str(raw), "--rate", "250", "--threads"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        cell = run_wrk(target, request, seconds)
        _, errors = spying.communicate(timeout=seconds + 60)
        if spying.returncode != 0:
            raise RuntimeError(f"py-spy failed: {errors.decode()[-800:]}")
        stacks = raw.read_text()
    if keep is not None:
        keep.write_text(stacks)
    return f"{cell.requests_per_second:.0f} req/s while sampled\n" + summarize(stacks, top)


def summarize(stacks: str, top: int) -> str:
    """py-spy's collapsed stacks (``--threads``) as inclusive and self percentages per
    function, of the event loop's thread only (uvicorn's ping thread waits in a read that
    py-spy counts as busy; the work pool is not used by these operations)."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in stacks.splitlines():
        frames, _, count_text = line.rpartition(" ")
        thread, _, frames = frames.partition(";")
        if not frames or not count_text.isdigit() or not thread.endswith("MainThread"):
            continue
        count = int(count_text)
        total += count
        names = [_frame_name(frame) for frame in frames.split(";")]
        for name in set(names):
            inclusive[name] = inclusive.get(name, 0) + count
        own[names[-1]] = own.get(names[-1], 0) + count
    lines = [f"{total} samples of the event loop; inclusive %, self %, function"]
    for name, count in sorted(inclusive.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"{100 * count / total:6.1f} {100 * own.get(name, 0) / total:6.1f}  {name}")
    lines.append("by self time:")
    for name, count in sorted(own.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"{100 * count / total:6.1f}  {name}")
    return "\n".join(lines)


def _frame_name(frame: str) -> str:
    """``handle (sealbox/server/dispatch.py:120)`` -> ``handle (sealbox/server/dispatch.py)``."""
    function, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{function} ({path})"


# -- the run ------------------------------------------------------------------------------

HEADER = (
    f"{'operation':16s} {'peer':34s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s}  errors"
    "  CPU us/request"
)


def _row(operation: str, peer: str, cell: Cell) -> str:
    cpu = "" if cell.cpu_us is None else f"{cell.cpu_us:16.0f}"
    return (
        f"{operation:16s} {peer:34s} {cell.requests_per_second:8.0f} "
        f"{cell.p50_ms:8.2f} {cell.p99_ms:8.2f}  {cell.errors:6d}{cpu}"
    )


def cpu_seconds(pids: list[int]) -> float:
    """User and system time the processes ``pids`` have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # it has just exited (a database backend)
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def measured(
    target: Target,
    request: Prepared,
    seconds: float,
    pids: list[int] | None,
    probe: StoreProbe | None = None,
) -> Cell:
    """One wrk run; with ``pids``, also the server's CPU time per request, and with
    ``probe``, what its store did per request."""
    before = cpu_seconds(pids) if pids else 0.0
    if probe:
        probe.start()
    cell = run_wrk(target, request, seconds)
    duration = max(1, round(seconds))
    requests = max(cell.requests_per_second * duration, 1.0)
    if pids:
        cell.cpu_us = (cpu_seconds(pids) - before) / requests * 1e6
    if probe:
        cell.store = probe.per_request(requests, duration)
    return cell


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def peers(args: argparse.Namespace) -> dict[str, Callable[[], Any]]:
    found: dict[str, Callable[[], Any]] = {
        "sealbox": lambda: sealbox_peer("sealbox", args.workers, args.log_level),
        "sealbox-postgres": lambda: sealbox_peer(
            "sealbox on PostgreSQL", args.workers, args.log_level, postgres=True
        ),
        "sealbox-head": lambda: sealbox_peer(
            "sealbox (HEAD)", args.workers, args.log_level, _serve.old_tree()
        ),
        "openbao-audit": lambda: openbao_server(audit=True),
        "openbao": lambda: openbao_server(audit=False),
        "moto": moto_server,
    }
    return found


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="keep the best of this many")
    parser.add_argument("--peers", default="sealbox,openbao-audit,moto")
    parser.add_argument("--operations", default=",".join(OPERATIONS))
    parser.add_argument("--workers", type=int, default=2, help="Sealbox worker processes")
    parser.add_argument("--log-level", default="info", help="Sealbox's (info: access log on)")
    parser.add_argument("--baseline", action="store_true", help="also run HEAD's code")
    parser.add_argument("--no-latency", action="store_true", help="skip the half-peak run")
    parser.add_argument(
        "--profile", type=float, metavar="SECONDS", help="only profile one Sealbox worker"
    )
    parser.add_argument("--top", type=int, default=30, help="profile lines to print")
    parser.add_argument(
        "--stacks", type=Path, help="keep py-spy's raw stacks as FILE.<operation>.txt"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="1 s per cell, one round, every peer but OpenBao without audit",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    require_wrk()
    if args.smoke:
        args.seconds, args.rounds = 1.0, 1
        args.peers = "sealbox,sealbox-postgres,openbao-audit,moto"
    names = args.peers.split(",") + (["sealbox-head"] if args.baseline else [])
    operations = args.operations.split(",")
    known = peers(args)
    if unknown := (set(names) - set(known)) | (set(operations) - set(OPERATIONS)):
        parser.error(f"unknown {sorted(unknown)}; peers {list(known)}, operations {OPERATIONS}")
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    print(f"{started}, {os.cpu_count()} CPUs, {_load()} at the start", flush=True)
    if args.profile:
        trees = {"sealbox": None} | ({"sealbox (HEAD)": _serve.old_tree()} if args.baseline else {})
        for name, tree in trees.items():
            with sealbox_peer(name, args.workers, args.log_level, tree) as (target, pid, _):
                for operation in operations:
                    request = prepare(target, operation)
                    check_replay(target, request)
                    run_wrk(target, request, 2)  # warm up
                    suffix = f".{'head.' if tree else ''}{operation}.txt"
                    keep = args.stacks and args.stacks.with_suffix(suffix)
                    lines = profile(pid, target, request, args.profile, args.top, keep)
                    print(f"\n{name}, {operation}: {lines}", flush=True)
        return {}
    best: dict[str, dict[str, Cell]] = {}
    with contextlib.ExitStack() as stack:
        targets: list[Target] = []
        workers: dict[str, list[int]] = {}
        probes: dict[str, StoreProbe] = {}
        for name in names:
            entered = stack.enter_context(known[name]())
            if isinstance(entered, tuple):  # Sealbox: also its pid and its store's probe
                entered, pid, probes[entered.name] = entered
                workers[entered.name] = _serve.worker_pids(pid)
            targets.append(entered)
        print(f"{'round':6s} {HEADER}", flush=True)
        for round_number in range(1, args.rounds + 1):
            for operation in operations:
                for target in targets:
                    request = prepare(target, operation)  # signed afresh: within the skew window
                    check_replay(target, request)
                    if round_number == 1 and not args.smoke:
                        run_wrk(target, request, 2)  # warm up
                    cell = measured(
                        target,
                        request,
                        args.seconds,
                        workers.get(target.name),
                        probes.get(target.name),
                    )
                    print(f"{round_number:<6d} {_row(operation, target.name, cell)}", flush=True)
                    kept = best.setdefault(target.name, {}).get(operation)
                    if kept is None or cell.requests_per_second > kept.requests_per_second:
                        best[target.name][operation] = cell
        print(f"\nbest of {args.rounds} round(s), {args.seconds:g} s each; {_load()}\n{HEADER}")
        for operation in operations:
            for target in targets:
                print(_row(operation, target.name, best[target.name][operation]))
        print("\n" + "\n".join(ratio_table(best, operations)))
        print("\n" + "\n".join(store_table(best, operations)))
        latency: dict[str, dict[str, Cell]] = {}
        if not args.no_latency:
            print("\nlatency at half the peak (16 connections, paced); target p99 <= 5 ms")
            print(HEADER)
            for operation in operations:
                for target in targets:
                    rate = best[target.name][operation].requests_per_second / 2
                    request = prepare(target, operation)
                    calibrations = 1 if args.smoke else 2
                    cell = at_rate(target, request, rate, args.seconds, calibrations=calibrations)
                    latency.setdefault(target.name, {})[operation] = cell
                    print(_row(operation, target.name, cell), flush=True)
    print(f"\n{_load()} at the end")
    report = {
        "started": started,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "best": {p: {o: vars(c) for o, c in cells.items()} for p, cells in best.items()},
        "half_peak": {p: {o: vars(c) for o, c in cells.items()} for p, cells in latency.items()},
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    errors = sum(c.errors for cells in best.values() for c in cells.values())
    if errors:
        raise SystemExit(f"{errors} requests failed")
    return report


def ratio_table(best: dict[str, dict[str, Cell]], operations: list[str]) -> list[str]:
    """Sealbox's req/s over each other peer's, with the issue's targets where it has one."""
    ours = next((name for name in best if name == "sealbox"), None)
    others = [name for name in best if name != ours and name != POSTGRES_NAME]
    if ours is None or not others:
        return []
    width = max(24, *(len(name) for name in others))
    lines = [f"{'Sealbox / peer':16s} " + " ".join(f"{name:>{width}s}" for name in others)]
    for operation in operations:
        cells = []
        for name in others:
            ratio = best[ours][operation].requests_per_second / max(
                best[name][operation].requests_per_second, 1e-9
            )
            wanted = next((t for p, t in TARGETS.items() if name.startswith(_PEER_NAMES[p])), None)
            mark = (
                "" if wanted is None else f" ({'met' if ratio >= wanted else 'below'} {wanted:g}x)"
            )
            cells.append(f"{f'{ratio:.2f}x{mark}':>{width}s}")
        lines.append(f"{operation:16s} " + " ".join(cells))
    return lines


POSTGRES_NAME = "sealbox on PostgreSQL"


def store_table(best: dict[str, dict[str, Cell]], operations: list[str]) -> list[str]:
    """Per request, in the best round: each Sealbox's CPU time and what its store did;
    and Sealbox on PostgreSQL over Sealbox on SQLite, with the issue's target."""
    ours = [name for name in best if name.startswith("sealbox")]
    if not ours:
        return []
    lines = [
        f"{'Sealbox store':16s} {'peer':24s} {'CPU us/req':>10s} {'records/batch':>13s} "
        f"{'batch ms':>8s} {'writer busy':>11s} {'PG trips/req':>12s} {'PG CPU us/req':>13s}"
    ]
    for operation in operations:
        for name in ours:
            cell = best[name][operation]
            store = cell.store or {}
            pg = (
                f"{store['pg_round_trips']:12.2f} {store['pg_cpu_us']:13.0f}"
                if "pg_round_trips" in store
                else f"{'':12s} {'':13s}"
            )
            lines.append(
                f"{operation:16s} {name:24s} {cell.cpu_us or 0:10.0f} "
                f"{store.get('records_per_batch', 0):13.1f} {store.get('audit_batch_ms', 0):8.2f} "
                f"{100 * store.get('writer_busy', 0):10.0f}% {pg}"
            )
    if POSTGRES_NAME in best and "sealbox" in best:
        lines.append(f"\n{'PostgreSQL / SQLite':16s} (one node, same workers)")
        for operation in operations:
            ratio = best[POSTGRES_NAME][operation].requests_per_second / max(
                best["sealbox"][operation].requests_per_second, 1e-9
            )
            verdict = "met" if ratio >= POSTGRES_TARGET else "below"
            lines.append(f"{operation:16s} {ratio:.2f}x ({verdict} {POSTGRES_TARGET:g}x)")
    return lines


# how kms_load names the peers the targets are about
_PEER_NAMES = {"openbao-audit": "OpenBao transit + file audit", "moto": "moto"}


if __name__ == "__main__":
    main()
