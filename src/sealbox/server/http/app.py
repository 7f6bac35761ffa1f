"""The ASGI application: ``POST /`` is the KMS API (and Sealbox's own operations); ``GET``
serves health and metrics, and the web console's static files under ``/console``
(:mod:`.console`; on unless ``--no-console``).

No framework on the hot path: the body is read with a size cap and a deadline, handed
to the dispatcher, and answered. ``/healthz`` (alias ``/livez``) checks nothing;
``/readyz`` answers 503 while the service is sealed or its store is unreachable.

Every request other than those health and metrics probes and the console's static files
(public, and the same for everyone) leaves one audit record,
also when it is refused before the dispatcher (body too large or too slow, unknown
path) or by the HTTP layer (headers too large or too slow, malformed HTTP; see
:mod:`sealbox.server.http.limits`). Such records hold only clipped request metadata.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from sealbox.server import logs, metrics
from sealbox.server.access.sigv4 import parse_authorization
from sealbox.server.access.throttle import Throttle
from sealbox.server.audit import REFUSED, AuditFailure
from sealbox.server.audit import records as audit_records
from sealbox.server.config import DEFAULT_ACCOUNT_QUOTA
from sealbox.server.dispatch import (
    MAX_AUDIT_FIELD,
    MAX_AUDIT_MESSAGE,
    Dispatcher,
    HttpRequest,
    HttpResponse,
)
from sealbox.server.errors import KmsError, UnknownOperationException, ValidationException
from sealbox.server.http import limits
from sealbox.server.http.console import Console, is_console
from sealbox.server.service import KmsService
from sealbox.server.workpool import WorkPool

MAX_BODY = 1 << 20  # bytes; the largest valid KMS request (a 131,072-character policy) fits
SWEEP_SECONDS = 60.0
BODY_TIMEOUT = 10.0  # seconds from the end of the headers to the end of the body

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


class KmsApp:
    def __init__(
        self,
        service: KmsService,
        *,
        sweep_seconds: float = SWEEP_SECONDS,
        account_quota: float = DEFAULT_ACCOUNT_QUOTA,
        body_timeout: float = BODY_TIMEOUT,
        pool: WorkPool | None = None,
        console: bool = True,
    ) -> None:
        """``account_quota`` is this worker's share of each account's requests per second;
        ``console``: serve the web console's files under ``/console``."""
        self.service = service
        self.console = Console.from_package() if console else None
        self.dispatcher = Dispatcher(service, Throttle(account_quota, time.monotonic), pool)
        self.sweep_seconds = sweep_seconds
        self.body_timeout = body_timeout
        self._sweeper: asyncio.Task[None] | None = None
        self._refusals: set[asyncio.Task[bool]] = set()  # audits of HTTP-layer refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
                limits.configure(limits.limits(), self.heard_refusal)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._sweeper is not None:
                    self._sweeper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._sweeper
                if self._refusals:
                    await asyncio.wait(self._refusals, timeout=5.0)
                self.dispatcher.pool.close()
                self.service.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _sweep(self) -> None:
        """Make due deletions, rotations and expiries, also while the service is idle."""
        while True:
            try:
                if not self.service.sealed:
                    self.service.sweep()
            except Exception:
                logs.SERVICE.exception("scheduled key deletion failed; will retry")
            await asyncio.sleep(self.sweep_seconds)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        if method == "POST" and path == "/":
            await self._kms(scope, receive, send)
        elif method == "GET" and path in ("/healthz", "/livez"):
            await _reply(send, 200, b"application/json", b'{"status":"ok"}')
        elif method == "GET" and path == "/readyz":
            await self._ready(send)
        elif method == "GET" and path == "/metrics":
            await _reply(
                send, 200, b"text/plain; version=0.0.4; charset=utf-8", metrics.exposition()
            )
        elif self.console is not None and is_console(path):
            await self.console(scope, send)
        else:
            error = UnknownOperationException(
                "Use POST / with X-Amz-Target, or GET /healthz, /readyz, /metrics."
            )
            await self._refuse(scope, send, 404, error)

    async def _ready(self, send: Send) -> None:
        reason = self.service.sealed_reason
        if reason is None:
            try:
                self.service.store.get_meta("schema_version")
            except Exception as error:
                reason = f"store unreachable: {type(error).__name__}"
        if reason is None:
            await _reply(send, 200, b"application/json", b'{"status":"ready"}')
        else:
            body = json.dumps({"status": "not ready", "reason": reason}).encode()
            await _reply(send, 503, b"application/json", body)

    async def _kms(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        try:
            if _body_arrived(receive):  # nothing to wait for: no deadline to arm
                body = await _read_body(receive, headers)
            else:
                async with asyncio.timeout(self.body_timeout):
                    body = await _read_body(receive, headers)
        except BodyTooLarge:
            error = ValidationException(
                f"The request body exceeds the {MAX_BODY}-byte limit of this service."
            )
            await self._refuse(scope, send, 413, error)
            return
        except TimeoutError:
            error = ValidationException(
                f"The request body did not arrive within {self.body_timeout:g} seconds."
            )
            await self._refuse(scope, send, 408, error, close=True)
            return
        client = scope.get("client")
        request = HttpRequest(
            method="POST",
            raw_path=scope.get("raw_path", b"/").decode("latin-1") or "/",
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            client_ip=client[0] if client else "",
            secure=scope.get("scheme") == "https",
        )
        response: HttpResponse = await self.dispatcher.handle(request)
        await send(
            {"type": "http.response.start", "status": response.status, "headers": response.headers}
        )
        await send({"type": "http.response.body", "body": response.body})

    # -- refusals before the dispatcher --------------------------------------------------

    async def _refuse(
        self, scope: Scope, send: Send, status: int, error: KmsError, *, close: bool = False
    ) -> None:
        """Answer a request refused before the dispatcher, once its record is durable."""
        request_id = str(uuid.uuid4())
        client = scope.get("client")
        record = self.refusal_record(
            request_id, client[0] if client else "", scope["headers"], error
        )
        if self.service.audit is not None:
            try:
                await self.service.audit.append(record)
            except AuditFailure:
                status, error = 500, AuditFailure(REFUSED)
        headers = [
            (b"content-type", b"application/x-amz-json-1.1"),
            (b"x-amzn-requestid", request_id.encode()),
        ]
        if close:
            headers.append((b"connection", b"close"))
        body = _error(error)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def heard_refusal(self, refusal: limits.Refusal) -> asyncio.Future[bool]:
        """The HTTP layer refused a request: audit it; the refusal is answered once this
        is done (true: the record is durable)."""
        task = asyncio.get_running_loop().create_task(self._append_refusal(refusal))
        self._refusals.add(task)
        task.add_done_callback(self._refusals.discard)
        return task

    async def _append_refusal(self, refusal: limits.Refusal) -> bool:
        if self.service.audit is None:
            return True
        record = self.refusal_record(
            refusal.request_id, refusal.client_ip, refusal.headers, refusal.error
        )
        try:
            await self.service.audit.append(record)
        except AuditFailure:
            logs.SERVICE.error("the refusal of request %s was not audited", record["requestID"])
            return False
        return True

    def refusal_record(
        self,
        request_id: str,
        client_ip: str,
        raw_headers: Sequence[tuple[bytes, bytes]],
        error: KmsError,
    ) -> dict[str, Any]:
        """An unauthenticated record with every client-chosen field clipped (a refused
        request's headers may be as large as the header limit)."""
        values: dict[bytes, bytes] = {}
        for name, value in raw_headers:
            if name.lower() in (b"x-amz-target", b"user-agent", b"authorization"):
                values.setdefault(name.lower(), value)
        operation = self.dispatcher.route(values.get(b"x-amz-target", b"").decode("latin-1"))
        record = audit_records.build(
            request_id=request_id,
            moment=time.time(),
            operation=operation.name if operation is not None else "unknown",
            region="",
            source_ip=client_ip[:MAX_AUDIT_FIELD],
            user_agent=values.get(b"user-agent", b"").decode("latin-1")[:256],
            principal=None,
            access_key_id=_access_key_id(values.get(b"authorization")),
            params=None,
            result=None,
            error=(error.aws_type, error.message[:MAX_AUDIT_MESSAGE]),
            key_arns=[],
            read_only=True,
        )
        if operation is not None:
            record["eventSource"] = operation.event_source
        return record


def _access_key_id(authorization: bytes | None) -> str | None:
    """The access key id a refused request named, clipped; None if it named none."""
    if not authorization:
        return None
    try:
        # parsing is linear and the header is bounded by the HTTP layer's limit
        return parse_authorization(authorization.decode("latin-1")).access_key_id[:MAX_AUDIT_FIELD]
    except KmsError:
        return None


def _error(error: KmsError) -> bytes:
    return json.dumps({"__type": error.aws_type, "message": error.message}).encode()


def _body_arrived(receive: Receive) -> bool:
    """Whether the server already holds the whole body (uvicorn's cycle does when it came
    with the headers, as most do), so that reading it cannot wait. Unknown: false."""
    cycle = getattr(receive, "__self__", None)
    return getattr(cycle, "more_body", True) is False


async def _read_body(receive: Receive, headers: list[tuple[str, str]]) -> bytes:
    for name, value in headers:
        if name == "content-length" and value.isdigit() and int(value) > MAX_BODY:
            raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _reply(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
