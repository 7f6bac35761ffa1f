"""One KMS request, from HTTP to an answer: authenticate, throttle, route, validate, run,
audit, encode.

The X-Amz-Target routes to one of two tables: ``TrentService.<Operation>`` is the KMS
API, validated against botocore's model; ``Sealbox_20261128.<Operation>`` is Sealbox's
own (LookupEvents), each operation with its own validator. Both take the same path
otherwise: signature, principal, throttle, authorization, audit, log and metrics.

Every request gets exactly one audit record, whatever its outcome. A request that
changes state runs in one transaction with its record; any other request's record
is group-committed before the answer leaves. If the record cannot be written, the
answer is a 500 and no result is released. Every failure becomes
``{"__type", "message"}`` with AWS's status; an unexpected exception is logged and
answered as a bare ``KMSInternalException``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

try:  # a faster codec for the answers (see encode); without it, the json module
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

from sealbox.server import logs, metrics, model, workpool
from sealbox.server.access.principals import Principal
from sealbox.server.access.sigv4 import Request, parse_authorization
from sealbox.server.access.throttle import Throttle
from sealbox.server.audit import REFUSED, AuditFailure, AuditLog
from sealbox.server.audit import records as audit_records
from sealbox.server.errors import (
    UNEXPECTED,
    KmsError,
    KMSInternalException,
    UnknownOperationException,
    UnrecognizedClientException,
)
from sealbox.server.jsonbody import strict_loads
from sealbox.server.operations import load_all, load_sealbox
from sealbox.server.operations.table import KMS_EVENT_SOURCE, Handler, Operation
from sealbox.server.service import Caller, KmsService

TARGET_PREFIX = "TrentService."
SEALBOX_TARGET_PREFIX = "Sealbox_20261128."
CONTENT_TYPE = b"application/x-amz-json-1.1"
IN_PROCESS_AGENT = "sealbox (in-process)"
# Client-chosen text in an audit record is clipped, so a record stays small whatever a
# request carries (error messages may quote a header or a member).
MAX_AUDIT_FIELD = 64
MAX_AUDIT_MESSAGE = 512


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str = ""
    secure: bool = False  # arrived over TLS


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes
    request_id: str

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"content-type", CONTENT_TYPE),
            (b"content-length", str(len(self.body)).encode()),
            (b"x-amzn-requestid", self.request_id.encode()),
        ]


_COMPACT = json.JSONEncoder(separators=(",", ":"))  # json.dumps builds one per call


def encode(result: dict[str, Any]) -> bytes:
    """JSON with blobs (bytes, only ever top-level members) as Base64 text. orjson, where
    installed, writes the same bytes as the json module where it is used: no floats, and
    printable ASCII only (other text is left to the json module's escapes)."""
    ready = {
        k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in result.items()
    }
    if orjson is not None and audit_records.same_in_orjson(ready):
        try:
            fast = orjson.dumps(ready)
        except TypeError:  # orjson.JSONEncodeError (an int beyond 64 bits, ...)
            pass
        else:
            if fast.isascii() and b"\x7f" not in fast:  # what ensure_ascii escapes
                return fast
    return _COMPACT.encode(ready).encode()


def error_body(error: KmsError) -> bytes:
    return json.dumps({"__type": error.aws_type, "message": error.message}).encode()


@dataclass
class _Exchange:
    """What one request gathered on its way, for its answer, audit record and log line."""

    http: HttpRequest
    request: Request
    request_id: str
    started: float
    operation: str
    principal: Principal | None = None
    region: str = ""
    caller: Caller | None = None
    params: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: KmsError | None = None
    read_only: bool = True  # the operation named does not change state (or none is named)
    event_source: str = KMS_EVENT_SOURCE


class Dispatcher:
    def __init__(
        self,
        service: KmsService,
        throttle: Throttle | None = None,
        pool: workpool.WorkPool | None = None,
    ) -> None:
        self.service = service
        self.throttle = throttle
        self.operations: dict[str, Operation] = load_all()
        self.sealbox_operations: dict[str, Operation] = load_sealbox()
        self.pool = pool or workpool.WorkPool()

    @property
    def audit(self) -> AuditLog | None:
        return self.service.audit

    async def handle(self, http: HttpRequest) -> HttpResponse:
        """One request from a client: authenticated by its SigV4 signature."""
        exchange = self._exchange(http)
        return await self._complete(exchange, lambda: self._authenticate(exchange))

    async def handle_as(
        self,
        principal: Principal,
        region: str,
        operation: str,
        params: dict[str, Any],
        *,
        prefix: str = TARGET_PREFIX,
    ) -> HttpResponse:
        """A request the process makes itself on behalf of ``principal`` (``serve --dev``
        seeds its key so): no signature to check, and otherwise the path every request
        takes: throttling, validation, authorization, the audit record, the transaction.
        ``prefix``: the namespace of ``operation`` (:data:`SEALBOX_TARGET_PREFIX` for
        Sealbox's own)."""
        headers = [("x-amz-target", prefix + operation), ("user-agent", IN_PROCESS_AGENT)]
        http = HttpRequest("POST", "/", "", headers, json.dumps(params).encode(), "127.0.0.1")
        exchange = self._exchange(http)

        def identified() -> None:
            exchange.principal, exchange.region = principal, region

        return await self._complete(exchange, identified)

    def _exchange(self, http: HttpRequest) -> _Exchange:
        request = Request(http.method, http.raw_path, http.raw_query, http.headers, http.body)
        operation = self.route(request.header("x-amz-target"))
        if operation is None:
            return _Exchange(
                http, request, audit_records.uuid4_text(), time.perf_counter(), "unknown"
            )
        return _Exchange(
            http,
            request,
            audit_records.uuid4_text(),
            time.perf_counter(),
            operation.name,
            read_only=not operation.mutating,
            event_source=operation.event_source,
        )

    async def _complete(self, exchange: _Exchange, identify: Callable[[], None]) -> HttpResponse:
        try:
            operation = self._prepare(exchange, identify)
            # most operations offload nothing: no coroutine to make and await for them
            offloaded = (
                None if operation.prepare is None else await self._offload(exchange, operation)
            )
            with workpool.providing(offloaded):
                if operation.mutating:
                    self._mutate(exchange, operation.handler)
                    return self._answer(exchange)
                assert exchange.caller is not None and exchange.params is not None
                exchange.result = operation.handler(self.service, exchange.caller, exchange.params)
        except KmsError as error:
            exchange.error = error
        except Exception:
            logs.SERVICE.exception("internal error while handling %s", exchange.operation)
            exchange.error = KMSInternalException(UNEXPECTED)
        if self.audit is not None:
            try:
                await self.audit.append(self._record(exchange))
            except AuditFailure as failure:
                exchange.result, exchange.error = None, failure
        return self._answer(exchange)

    def _authenticate(self, exchange: _Exchange) -> None:
        verified = self.service.verifier.verify(exchange.request)
        exchange.region = verified.region
        principal = self.service.principal(verified.access_key_id)
        if principal is None:  # revoked between the signature check and now
            raise UnrecognizedClientException(
                "The security token included in the request is invalid."
            )
        exchange.principal = principal

    def _prepare(self, exchange: _Exchange, identify: Callable[[], None]) -> Operation:
        """Identify the caller, throttle, route and validate; fill in the exchange as it goes."""
        service = self.service
        service.require_unsealed()
        service.refresh()
        identify()
        principal = exchange.principal
        assert principal is not None
        if self.throttle is not None:
            self.throttle.take(principal.account)
        operation = self._operation(exchange.request.header("x-amz-target"))
        exchange.operation = operation.name
        validate = operation.validate or model.operation(operation.name).validate
        exchange.params = validate(self._json(exchange.http.body))
        exchange.caller = Caller(
            principal,
            exchange.region,
            exchange.request_id,
            exchange.http.client_ip,
            exchange.request.header("user-agent") or "",
            secure_transport=exchange.http.secure,
        )
        return operation

    async def _offload(self, exchange: _Exchange, operation: Operation) -> Any:
        """Run the operation's blocking or CPU-heavy part (if it has one) in the work pool,
        before its handler and outside any transaction; the handler finds the result."""
        if operation.prepare is None:
            return None
        assert exchange.caller is not None and exchange.params is not None
        job = operation.prepare(self.service, exchange.caller, exchange.params)
        if job is None:
            return None
        return await self.pool.run(exchange.caller.account, job)

    def _mutate(self, exchange: _Exchange, handler: Handler) -> None:
        """Run a state-changing request and write its record in one transaction; if it
        fails, the change is rolled back and the refusal is recorded on its own."""
        assert exchange.caller is not None and exchange.params is not None
        try:
            with self.service.changes.transaction() as connection:
                exchange.result = handler(self.service, exchange.caller, exchange.params)
                self._record_in(connection, exchange)
            return
        except KmsError as error:
            exchange.result, exchange.error = None, error
        except Exception:
            logs.SERVICE.exception("internal error while handling %s", exchange.operation)
            exchange.result, exchange.error = None, KMSInternalException(UNEXPECTED)
        self.service.forget()  # caches may hold what was rolled back
        try:
            with self.service.changes.transaction() as connection:
                self._record_in(connection, exchange)
        except Exception:
            logs.SERVICE.exception("audit write failed for request %s", exchange.request_id)
            exchange.error = AuditFailure(REFUSED)

    def _record_in(self, connection: Connection, exchange: _Exchange) -> None:
        if self.audit is not None:
            self.audit.record(connection, self._record(exchange))

    def _record(self, exchange: _Exchange) -> dict[str, Any]:
        caller = exchange.caller
        error = exchange.error
        access_key = None
        if exchange.principal is None:
            header = exchange.request.header("authorization")
            try:
                access_key = parse_authorization(header).access_key_id if header else None
            except KmsError:
                access_key = None
        record = audit_records.build(
            request_id=exchange.request_id,
            moment=time.time(),
            operation=exchange.operation,
            region=exchange.region[:MAX_AUDIT_FIELD],
            source_ip=exchange.http.client_ip[:MAX_AUDIT_FIELD],
            user_agent=exchange.request.header("user-agent") or "",
            principal=exchange.principal,
            access_key_id=access_key,
            params=exchange.params,
            result=exchange.result,
            error=None if error is None else (error.aws_type, error.message[:MAX_AUDIT_MESSAGE]),
            key_arns=caller.keys if caller is not None else [],
            read_only=exchange.read_only,
        )
        if exchange.event_source != KMS_EVENT_SOURCE:
            record["eventSource"] = exchange.event_source
        return record

    def _answer(self, exchange: _Exchange) -> HttpResponse:
        error = exchange.error
        if error is None:
            assert exchange.result is not None
            response = HttpResponse(200, encode(exchange.result), exchange.request_id)
            outcome, code = "ok", ""
        else:
            response = HttpResponse(error.status, error_body(error), exchange.request_id)
            outcome, code = (
                ("client_error" if error.status < 500 else "server_error"),
                error.aws_type,
            )
        elapsed = time.perf_counter() - exchange.started
        metrics.observe(exchange.operation, outcome, elapsed)
        logs.request(
            request_id=exchange.request_id,
            operation=exchange.operation,
            principal=exchange.principal.arn if exchange.principal else "",
            key_arn=exchange.caller.keys[0] if exchange.caller and exchange.caller.keys else "",
            status=response.status,
            error_code=code,
            duration_s=round(elapsed, 6),
        )
        return response

    def route(self, target: str | None) -> Operation | None:
        """The operation an X-Amz-Target names, in either namespace; None if it names none."""
        if target is None:
            return None
        if target.startswith(TARGET_PREFIX):  # the KMS API first: nearly every request
            return self.operations.get(target[len(TARGET_PREFIX) :])
        if target.startswith(SEALBOX_TARGET_PREFIX):
            return self.sealbox_operations.get(target[len(SEALBOX_TARGET_PREFIX) :])
        return None

    def _operation(self, target: str | None) -> Operation:
        operation = self.route(target)
        if operation is not None:
            return operation
        if target is not None and target.startswith(TARGET_PREFIX):
            raise UnknownOperationException(
                f"Operation {target[len(TARGET_PREFIX) :]!r} is not part of the KMS API."
            )
        if target is not None and target.startswith(SEALBOX_TARGET_PREFIX):
            known = ", ".join(sorted(self.sealbox_operations))
            raise UnknownOperationException(
                f"Operation {target[len(SEALBOX_TARGET_PREFIX) :]!r} is not part of the Sealbox "
                f"API (its operations: {known})."
            )
        raise UnknownOperationException(
            f"The X-Amz-Target header must be '{TARGET_PREFIX}<Operation>' (the KMS API) or "
            f"'{SEALBOX_TARGET_PREFIX}<Operation>' (Sealbox's own), got {target!r}."
        )

    @staticmethod
    def _json(body: bytes) -> Any:
        # strict: no lone surrogates, NaN, duplicate names or deep nesting reach a later stage
        return strict_loads(body) if body.strip() else {}
