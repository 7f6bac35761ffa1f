"""HTTP/1.1 limits uvicorn's httptools protocol does not enforce by itself.

* the request line and headers together: at most ``max_header_bytes`` (431);
* they must arrive within ``header_timeout`` seconds of the connection opening or the
  previous answer (408, or a silent close if nothing at all arrived);
* at most ``max_connections`` open connections per worker: one more is answered 503
  (``Connection: close``) at once, without reading its request.

Without these a client could hold memory with unfinished headers and hold connections
(file descriptors) forever with a byte now and then. Idle keep-alive connections are
closed by uvicorn's ``timeout_keep_alive``; a slow body is the application's
``body_timeout``. Refusals of a request that had begun are reported to the application
(see :func:`configure`), which audits them.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from sealbox.server import logs
from sealbox.server.audit.log import REFUSED
from sealbox.server.errors import (
    DependencyTimeoutException,
    KmsError,
    KMSInternalException,
    ValidationException,
)

TURNED_AWAY_LINGER = 1.0  # seconds a refused connection may take to read its 503
FD_MARGIN = 256  # descriptors a worker needs besides its connections (store, logs, pipes)


@dataclass(frozen=True)
class Limits:
    max_header_bytes: int = 16 * 1024
    header_timeout: float = 10.0
    max_connections: int = 4096


@dataclass(frozen=True)
class Refusal:
    """A request refused before the application saw it."""

    status: int
    error: KmsError
    request_id: str
    client_ip: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)  # those that arrived


_limits = Limits()
# Hears of each refusal and returns its audit: a future true once the record is durable.
_on_refusal: Callable[[Refusal], asyncio.Future[bool]] | None = None
_last_warning = 0.0


def configure(
    limits: Limits, on_refusal: Callable[[Refusal], asyncio.Future[bool]] | None = None
) -> None:
    """Set this worker's limits and who hears of refusals (the application, to audit them)."""
    global _limits, _on_refusal
    _limits, _on_refusal = limits, on_refusal


def limits() -> Limits:
    return _limits


def usable_connections(wanted: int) -> int:
    """``wanted``, or fewer if this process may not open that many descriptors: the limit
    must refuse a connection before accept() fails for lack of descriptors (which would
    turn everyone away silently)."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - FD_MARGIN))


class LimitedHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._awaiting_headers = True
        self._header_bytes = 0  # received since the current request's headers began
        self._refused = False
        self._message_open = False  # a request's body is still arriving
        self._answered_early = False  # its answer left before the body finished (a 413)

    # -- connections -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= _limits.max_connections:
            self._turn_away(transport)
            return
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _turn_away(self, transport: asyncio.Transport) -> None:
        """Over the connection limit: answer 503 now, stop sending, and close once the
        client has read it (or after a moment): closing with its request unread would
        reset the connection and lose the answer."""
        self.transport = transport
        self._refused = True
        error = DependencyTimeoutException(
            "The service is at its connection limit; retry the request later."
        )
        transport.write(_response(503, error, str(uuid.uuid4())))
        if transport.can_write_eof():
            transport.write_eof()
            self.loop.call_later(TURNED_AWAY_LINGER, transport.close)
        else:
            transport.close()
        _warn_turned_away()

    # -- the header deadline -----------------------------------------------------------

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(_limits.header_timeout, self._deadline_passed)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._answered_early:  # the rest of an answered request's body never ended
            self.transport.close()
            return
        if not self._awaiting_headers:
            return
        if self._header_bytes == 0:  # nothing arrived: not a request, just an idle socket
            self.transport.close()
            return
        self._refuse(
            408,
            ValidationException(
                f"The request headers did not arrive within {_limits.header_timeout:g} seconds."
            ),
        )

    # -- reading -----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # a refused connection's remaining bytes are dropped unread
        if self._awaiting_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._awaiting_headers and not self._refused and self._over_header_limit():
            self._refuse_too_large()

    def _over_header_limit(self) -> bool:
        return self._header_bytes > _limits.max_header_bytes

    def on_message_begin(self) -> None:
        if self._refused:
            return
        super().on_message_begin()
        self._awaiting_headers = True
        self._message_open, self._answered_early = True, False

    def on_headers_complete(self) -> None:
        if self._refused:  # a request pipelined behind a refused one is ignored
            return
        self._awaiting_headers = False
        self._disarm()
        size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
        if size > _limits.max_header_bytes:
            self._refuse_too_large()  # the rest of what was fed is ignored, below
            return
        self._header_bytes = 0
        previous = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not previous:
            self.cycle.transport = _OneWrite(self.transport, self.cycle)  # type: ignore[assignment]

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._message_open = False
        if self._answered_early:  # the answer went first: the next request starts now
            self._answered_early = False
            self._await_next_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._message_open:
            # answered before its body ended (e.g. 413): the rest of the body is still this
            # request's, not the next one's headers; it is read and dropped, but only until
            # the header deadline (a lingering close, so the client still reads the answer)
            self._answered_early = True
            self._arm()
        else:
            self._await_next_request()

    def _await_next_request(self) -> None:
        if not self.transport.is_closing() and not self.pipeline and self.cycle.keep_alive:
            # the next request's headers get the same deadline, counted from this answer
            self._awaiting_headers, self._header_bytes = True, 0
            self._arm()

    # -- refusals ----------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """Malformed HTTP: an AWS-shaped 400, audited like every other refusal."""
        if self._refused:
            return
        self._refuse(400, ValidationException("The request is not valid HTTP/1.1."))

    def _refuse_too_large(self) -> None:
        self._refuse(
            431,
            ValidationException(
                f"The request line and headers exceed the {_limits.max_header_bytes}-byte limit "
                "of this service."
            ),
        )

    def _refuse(self, status: int, error: KmsError) -> None:
        """Refuse the request: nothing more is read, and the answer leaves once the
        refusal's audit record is durable (as every answer does), then the connection
        closes."""
        self._refused = True
        self._disarm()
        self._unset_keepalive_if_required()
        client = self.client[0] if self.client else ""
        refusal = Refusal(status, error, str(uuid.uuid4()), client, list(self.headers or []))
        if _on_refusal is None:
            self._answer(refusal, audited=True)
            return
        audit = _on_refusal(refusal)
        audit.add_done_callback(
            lambda done: self._answer(
                refusal, audited=not done.cancelled() and done.exception() is None and done.result()
            )
        )

    def _answer(self, refusal: Refusal, *, audited: bool) -> None:
        if self.transport.is_closing():
            return  # the client has gone; the record (if any) stands
        status, error = refusal.status, refusal.error
        if not audited:
            status, error = 500, KMSInternalException(REFUSED)
        self.transport.write(_response(status, error, refusal.request_id))
        self.transport.close()


class _OneWrite:
    """The transport as one request's response cycle sees it: the status line and headers
    wait for the body's first write and leave with it, so an answer takes one send() (and
    one segment) instead of two. Anything else the cycle asks of the transport (close,
    is_closing, ...) first sends what waits. A ``100 Continue`` (written before the
    response starts) is not held."""

    __slots__ = ("_cycle", "_held", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: Any) -> None:
        self._transport = transport
        self._cycle: Any = cycle  # until its headers are held
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(b"".join((held, data)))
        elif self._cycle is not None and self._cycle.response_started:
            self._cycle = None  # only the headers wait, and only once
            self._held = data
        else:
            self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        held, self._held = self._held, None
        if held is not None:
            self._transport.write(held)
        return getattr(self._transport, name)


def _response(status: int, error: KmsError, request_id: str) -> bytes:
    body = json.dumps({"__type": error.aws_type, "message": error.message}).encode()
    return b"".join(
        [
            STATUS_LINE[status],
            b"content-type: application/x-amz-json-1.1\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"x-amzn-requestid: " + request_id.encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


def _warn_turned_away() -> None:
    """At most one log line a minute, however many connections are turned away."""
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= 60.0:
        _last_warning = now
        logs.SERVICE.warning(
            "connection limit (%d per worker) reached: new connections are answered 503",
            _limits.max_connections,
        )
