"""HTTP limits: a cap on request headers, deadlines for headers and body, idle keep-alive
connections closed, a per-worker connection limit; every refusal answered AWS-shaped and
audited with bounded fields; and slow connections beyond the usual descriptor limit deny
nobody. Every wait here is bounded by a socket timeout; nothing asserts a duration."""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import uvicorn
from botocore.config import Config

from sealbox.errors import UsageError
from sealbox.server.access.principals import create_access_key
from sealbox.server.config import ServerConfig, load_config
from sealbox.server.http import limits
from sealbox.server.http.app import MAX_BODY, KmsApp
from sealbox.server.service import KmsService
from tests.server.harness import (
    DEV_ACCOUNT,
    REGION,
    Credentials,
    RawClient,
    SubprocessServer,
    admin,
    build_service,
)

WAIT = 30.0  # seconds any single socket read may take before the test fails
MAX_RECORD_BYTES = 2048  # an audit record of a refused request stays this small


class LimitedServer:
    """The application behind the protocol ``sealbox serve`` uses, in this process (so the
    test can read the store), with the given limits."""

    def __init__(
        self, service: KmsService, chosen: limits.Limits, *, body_timeout: float = 10.0
    ) -> None:
        self.service = service
        limits.configure(chosen)
        self.app = KmsApp(service, sweep_seconds=3600.0, body_timeout=body_timeout)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            http=limits.LimitedHttpProtocol,
            timeout_keep_alive=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + WAIT
        while not self._server.started:
            assert time.monotonic() < deadline and self._thread.is_alive()
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=WAIT)
        limits.configure(limits.Limits())

    def credentials(self) -> Credentials:
        created = create_access_key(
            self.service.store,
            self.service.require_unsealed(),
            account=DEV_ACCOUNT,
            user_name="alice",
            admin=True,
            now=time.time(),
        )
        return Credentials(created.access_key_id, created.secret_access_key, created.arn)

    def records(self) -> list[tuple[int, dict[str, Any]]]:
        """(encoded size, record) of every audit record so far."""
        rows = list(self.service.store.audit.rows())
        return [(len(row.record), json.loads(row.record)) for row in rows]

    def record_of(self, request_id: str) -> tuple[int, dict[str, Any]]:
        """The one record of ``request_id``, read as soon as its answer arrived: refusals,
        like every other answer, leave only once their record is durable."""
        found = [(n, r) for n, r in self.records() if r.get("requestID") == request_id]
        assert len(found) == 1, found
        return found[0]


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[LimitedServer]:
    server = LimitedServer(
        build_service(tmp_path),
        limits.Limits(max_header_bytes=4096, header_timeout=1.0, max_connections=8),
        body_timeout=1.0,
    )
    try:
        yield server
    finally:
        server.stop()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by WAIT)."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def parse(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, json.loads(body)


def assert_bounded(size: int, record: dict[str, Any]) -> None:
    assert size <= MAX_RECORD_BYTES, size
    assert record["userIdentity"]["type"] == "Unknown"
    assert len(record["userIdentity"].get("accessKeyId", "")) <= 64
    assert len(record["userAgent"]) <= 256 and len(record["sourceIPAddress"]) <= 64
    assert len(record["errorMessage"]) <= 512


# -- header size ----------------------------------------------------------------------------

LONG = "x" * 8000
HEADER_SHAPES = {
    # complete headers, each small, together over the limit
    "many headers": "".join(f"x-filler-{n}: {'y' * 100}\r\n" for n in range(60)) + "\r\n",
    # one header value that never ends
    "an unfinished header": "x-endless: " + "z" * 65536,
    # a request line that never ends
    "a long request line": None,
}


@pytest.mark.parametrize("shape", sorted(HEADER_SHAPES))
def test_headers_beyond_the_limit_are_answered_431_and_audited(
    limited: LimitedServer, shape: str
) -> None:
    tail = HEADER_SHAPES[shape]
    if tail is None:
        request = b"POST /" + b"p" * 65536
    else:
        request = (
            b"POST / HTTP/1.1\r\nHost: a\r\nUser-Agent: " + LONG.encode() + b"\r\n"
            if shape == "many headers"
            else b"POST / HTTP/1.1\r\nHost: a\r\n"
        ) + tail.encode()
    with connect(limited.port) as sock:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            sock.sendall(request)
        status, headers, body = parse(read_until_closed(sock))
    assert status == 431 and headers["connection"] == "close"
    assert body == {
        "__type": "ValidationException",
        "message": "The request line and headers exceed the 4096-byte limit of this service.",
    }
    size, record = limited.record_of(headers["x-amzn-requestid"])
    assert record["errorCode"] == "ValidationException" and record["eventName"] == "unknown"
    assert_bounded(size, record)


def test_headers_within_the_limit_are_served(limited: LimitedServer) -> None:
    client = RawClient(limited.endpoint, limited.credentials())
    status, _, document = client.send(
        "TrentService.ListKeys", "{}", headers={"x-filler": "y" * 3000}
    )
    assert status == 200 and document["Keys"] == []


# -- deadlines --------------------------------------------------------------------------------


def test_headers_that_do_not_arrive_in_time_are_answered_408_and_audited(
    limited: LimitedServer,
) -> None:
    with connect(limited.port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nUser-Agent: slow\r\nX-Amz-Target: Trent")
        status, headers, body = parse(read_until_closed(sock))
    assert status == 408 and headers["connection"] == "close"
    assert body == {
        "__type": "ValidationException",
        "message": "The request headers did not arrive within 1 seconds.",
    }
    size, record = limited.record_of(headers["x-amzn-requestid"])
    assert record["userAgent"] == "slow"
    assert_bounded(size, record)


def test_a_connection_that_sends_nothing_is_closed_unanswered(limited: LimitedServer) -> None:
    before = len(limited.records())
    with connect(limited.port) as sock:
        assert read_until_closed(sock) == b""
    assert len(limited.records()) == before  # no request, no record


def test_a_body_that_does_not_arrive_in_time_is_answered_408_and_audited(
    limited: LimitedServer,
) -> None:
    with connect(limited.port) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n"
            b"X-Amz-Target: TrentService.ListKeys\r\n\r\n{"
        )
        status, headers, body = parse(read_until_closed(sock))
    assert status == 408 and headers["connection"] == "close"
    assert body["message"] == "The request body did not arrive within 1 seconds."
    size, record = limited.record_of(headers["x-amzn-requestid"])
    assert record["eventName"] == "ListKeys" and record["errorCode"] == "ValidationException"
    assert_bounded(size, record)


def test_an_idle_keep_alive_connection_is_closed(limited: LimitedServer) -> None:
    with connect(limited.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        raw = read_until_closed(sock)  # the answer, then the close when idle
    assert raw.startswith(b"HTTP/1.1 200 ") and raw.endswith(b'{"status":"ok"}')


# -- connection limit ----------------------------------------------------------------------------


def test_connections_beyond_the_limit_are_answered_503(tmp_path: Path) -> None:
    # deadlines far away: the held connections must stay open for the whole test
    limited = LimitedServer(
        build_service(tmp_path),
        limits.Limits(max_header_bytes=4096, header_timeout=WAIT, max_connections=8),
    )
    held = [connect(limited.port) for _ in range(8)]
    try:
        for sock in held:  # each is accepted and counted before the next one
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        with connect(limited.port) as extra:
            status, headers, body = parse(read_until_closed(extra))
        assert status == 503 and headers["connection"] == "close"
        assert body == {
            "__type": "DependencyTimeoutException",
            "message": "The service is at its connection limit; retry the request later.",
        }
    finally:
        for sock in held:
            sock.close()
    try:
        deadline = time.monotonic() + WAIT
        while True:  # once they are gone, connections are accepted again
            with connect(limited.port) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                if read_until_closed(sock).startswith(b"HTTP/1.1 200 "):
                    break
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        limited.stop()


# -- refusals before authentication are audited, with bounded fields ---------------------------


def test_a_body_too_large_is_answered_413_and_audited(limited: LimitedServer) -> None:
    client = RawClient(limited.endpoint, limited.credentials())
    status, headers, document = client.send(
        "TrentService.Encrypt", b"{" + b" " * MAX_BODY + b"}", headers={"user-agent": "u" * 3000}
    )
    assert status == 413 and document["__type"] == "ValidationException"
    size, record = limited.record_of(headers["x-amzn-requestid"])
    assert record["eventName"] == "Encrypt" and record["errorCode"] == "ValidationException"
    assert record["userIdentity"]["accessKeyId"] == client.credentials.access_key_id
    assert_bounded(size, record)


def test_the_body_after_an_early_413_is_not_read_as_a_new_request(
    limited: LimitedServer,
) -> None:
    """The 413 leaves before the body has arrived; the rest of that body belongs to the
    refused request (no second refusal, no second record), and the connection goes on."""
    before = len(limited.records())
    body = b"{" + b" " * MAX_BODY + b"}"
    head = (
        b"POST / HTTP/1.1\r\nHost: a\r\nX-Amz-Target: TrentService.ListKeys\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with connect(limited.port) as sock:
        sock.sendall(head)
        status, headers, _ = parse(read_until_closed_or_answer(sock))
        assert status == 413
        sock.sendall(body)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        status, _, document = parse(read_until_closed_or_answer(sock))
    assert status == 200 and document == {"status": "ok"}
    limited.record_of(headers["x-amzn-requestid"])
    assert len(limited.records()) == before + 1


def test_a_body_that_never_ends_after_an_early_413_is_closed(limited: LimitedServer) -> None:
    with connect(limited.port) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: a\r\nX-Amz-Target: TrentService.ListKeys\r\n"
            b"Content-Length: 99999999999\r\n\r\n{"
        )
        status, _, _ = parse(read_until_closed_or_answer(sock))
        assert status == 413
        sock.sendall(b" " * 1000)  # and then nothing more: the header deadline closes it
        assert read_until_closed(sock) == b""


def test_a_request_without_authorization_is_audited(limited: LimitedServer) -> None:
    client = RawClient(limited.endpoint, limited.credentials())
    status, headers, document = client.send("TrentService.ListKeys", "{}", sign=False)
    assert status == 400 and document["__type"] == "MissingAuthenticationTokenException"
    size, record = limited.record_of(headers["x-amzn-requestid"])
    assert record["errorCode"] == "MissingAuthenticationTokenException"
    assert_bounded(size, record)


@pytest.mark.parametrize("id_bytes", [3 * 1024, 64 * 1024])
def test_a_garbage_authorization_is_refused_and_audited_compactly(
    limited: LimitedServer, id_bytes: int
) -> None:
    """Within the header limit the dispatcher refuses it; beyond, the HTTP layer does."""
    limited.service.forget()
    huge = "A" * id_bytes
    with connect(limited.port) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nX-Amz-Target: TrentService.ListKeys"
            b"\r\nX-Amz-Date: 20260101T000000Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential="
            + huge.encode()
            + b"/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00\r\n\r\n{}"
        )
        status, headers, body = parse(read_until_closed_or_answer(sock))
    if id_bytes < 4096:
        assert status == 400 and body == {
            "__type": "UnrecognizedClientException",
            "message": "The security token included in the request is invalid.",
        }
        assert limited.service.cache_sizes()["unknown_access_key_ids"] == 0
    else:
        assert status == 431
    size, record = limited.record_of(headers["x-amzn-requestid"])
    assert_bounded(size, record)


def read_until_closed_or_answer(sock: socket.socket) -> bytes:
    """One whole answer (Content-Length framed), whether or not the server closes."""
    raw = b""
    while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < _length(raw):
        chunk = sock.recv(65536)
        if not chunk:
            break
        raw += chunk
    return raw


def _length(raw: bytes) -> int:
    for line in raw.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_malformed_http_and_unknown_paths_are_answered_and_audited(
    limited: LimitedServer,
) -> None:
    with connect(limited.port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n")
        status, headers, body = parse(read_until_closed(sock))
    assert status == 400
    assert body == {
        "__type": "ValidationException",
        "message": "The request is not valid HTTP/1.1.",
    }
    assert_bounded(*limited.record_of(headers["x-amzn-requestid"]))
    client = RawClient(limited.endpoint, limited.credentials())
    status, headers, document = client.send("TrentService.ListKeys", "{}", path="/elsewhere")
    assert status == 404 and document["__type"] == "UnknownOperationException"
    assert_bounded(*limited.record_of(headers["x-amzn-requestid"]))


# -- sealbox serve: the flags, and a slowloris crowd ------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Path, Credentials]:
    data_dir, root_key = tmp_path / "data", tmp_path / "root.key"
    created = admin(
        "create-access-key",
        "--account",
        DEV_ACCOUNT,
        "--user",
        "alice",
        "--admin",
        data_dir=data_dir,
        root_key=root_key,
    )
    return data_dir, root_key, Credentials(created["AccessKeyId"], created["SecretAccessKey"], "")


def test_serve_flags_set_each_limit(store: tuple[Path, Path, Credentials]) -> None:
    data_dir, root_key, _ = store
    flags = ["--max-header-bytes", "2048", "--header-timeout", "1", "--max-connections", "2"]
    flags += ["--body-timeout", "5"]
    server = SubprocessServer(data_dir, root_key, extra=tuple(flags))
    port = int(server.endpoint.rsplit(":", 1)[1])
    try:
        with connect(port) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 3000 + b"\r\n\r\n")
            assert parse(read_until_closed(sock))[0] == 431
        with connect(port) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            assert parse(read_until_closed(sock))[0] == 408
        with connect(port) as first, connect(port) as second:
            for sock in (first, second):  # held open: the body they announce never comes
                sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n")
            with connect(port) as third:
                assert parse(read_until_closed(third))[0] == 503
            assert parse(read_until_closed(first))[0] == 408  # after --body-timeout
    finally:
        server.stop()


SLOW = 1024  # slow connections: as many as the usual soft limit on open files


@contextlib.contextmanager
def soft_open_files(limit: int) -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(limit, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_legitimate_requests_are_served_while_slow_connections_are_open(
    store: tuple[Path, Path, Credentials],
) -> None:
    """The server starts with the usual soft limit of 1,024 open files; it used to run out
    of descriptors under 1,001 slow connections and then accept nobody."""
    data_dir, root_key, credentials = store
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2 * SLOW + 256:
        pytest.skip(f"the hard limit on open files ({hard}) is too low for this test")
    with soft_open_files(1024):
        server = SubprocessServer(data_dir, root_key)
    port = int(server.endpoint.rsplit(":", 1)[1])
    slow: list[socket.socket] = []
    try:
        with soft_open_files(2 * SLOW + 256):
            for _ in range(SLOW):
                sock = connect(port)
                sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nX-Slow: ")  # and never more
                slow.append(sock)
            kms = boto3.client(
                "kms",
                endpoint_url=server.endpoint,
                region_name=REGION,
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                config=Config(
                    retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=10
                ),
            )
            key = kms.create_key(Description="served despite the crowd")["KeyMetadata"]["Arn"]
            for n in range(10):
                blob = kms.encrypt(KeyId=key, Plaintext=b"p%d" % n)["CiphertextBlob"]
                assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"p%d" % n
            assert len(kms.list_keys()["Keys"]) == 1
            for sock in slow[:20]:  # and the slow ones are dropped once their time is up
                assert parse(read_until_closed(sock))[0] == 408
    finally:
        for sock in slow:
            sock.close()
        server.stop()


def test_limits_come_from_flags_environment_and_file(tmp_path: Path) -> None:
    file = tmp_path / "sealbox.toml"
    file.write_text("max_connections = 100\nheader_timeout = 4.5\nwork_threads = 3\n")
    config = load_config(
        {"body_timeout": 2.0},
        environ={"SEALBOX_MAX_HEADER_BYTES": "8192", "SEALBOX_HEADER_TIMEOUT": "6"},
        file=file,
    )
    assert (config.max_header_bytes, config.header_timeout, config.body_timeout) == (
        8192,
        6.0,
        2.0,
    )
    assert (config.max_connections, config.keepalive_timeout, config.work_threads) == (
        100,
        5.0,
        3,
    )
    assert ServerConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"header_timeout": 0}, "--header-timeout must be more than 0 and at most 3600"),
        ({"keepalive_timeout": -1}, "--keepalive-timeout must be more than 0 and at most 3600"),
        ({"max_header_bytes": 100}, "--max-header-bytes must be at least 1024"),
        ({"max_connections": 0}, "--max-connections must be at least 1"),
        (
            {"work_threads": 2, "work_per_account": 3},
            "--work-threads must be at least 1, --work-per-account 1..work-threads",
        ),
    ],
)
def test_limits_cannot_be_switched_off(flags: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as refused:
        load_config(flags, environ={})
    assert str(refused.value) == message
