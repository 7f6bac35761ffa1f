"""The ASGI application: ``POST /`` is the KMS API; ``GET`` serves health and metrics.

No framework on the hot path: the body is read with a size cap, handed to the
dispatcher, and answered. ``/healthz`` (alias ``/livez``) checks nothing;
``/readyz`` answers 503 while the service is sealed or its store is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sealbox.server import lifecycle, logs, metrics
from sealbox.server.config import DEFAULT_ACCOUNT_QUOTA
from sealbox.server.dispatch import Dispatcher, HttpRequest, HttpResponse
from sealbox.server.errors import KmsError, ValidationException
from sealbox.server.rootkey import close_root_key
from sealbox.server.service import KmsService
from sealbox.server.throttle import Throttle

MAX_BODY = 1 << 20  # bytes; the largest valid KMS request (a 131,072-character policy) fits
SWEEP_SECONDS = 60.0

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
    ) -> None:
        """``account_quota`` is this worker's share of each account's requests per second."""
        self.service = service
        self.dispatcher = Dispatcher(service, Throttle(account_quota, time.monotonic))
        self.sweep_seconds = sweep_seconds
        self._sweeper: asyncio.Task[None] | None = None

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
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._sweeper is not None:
                    self._sweeper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._sweeper
                if self.service.audit is not None:
                    self.service.audit.close()
                self.service.store.close()
                close_root_key(self.service.root_key)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _sweep(self) -> None:
        """Make due deletions, rotations and expiries, also while the service is idle."""
        while True:
            try:
                if not self.service.sealed:
                    lifecycle.sweep(self.service)
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
        else:
            body = json.dumps(
                {
                    "__type": "UnknownOperationException",
                    "message": "Use POST / with X-Amz-Target, or GET /healthz, /readyz, /metrics.",
                }
            )
            await _reply(send, 404, b"application/x-amz-json-1.1", body.encode())

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
            body = await _read_body(receive, headers)
        except BodyTooLarge:
            error = ValidationException(
                f"The request body exceeds the {MAX_BODY}-byte limit of this service."
            )
            await _reply(send, 413, b"application/x-amz-json-1.1", _error(error))
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


def _error(error: KmsError) -> bytes:
    return json.dumps({"__type": error.aws_type, "message": error.message}).encode()


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
