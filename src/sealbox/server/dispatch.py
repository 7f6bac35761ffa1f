"""One KMS request, from HTTP to an answer: authenticate, route, validate, run, encode.

Every failure becomes ``{"__type", "message"}`` with AWS's status; an unexpected
exception is logged and answered as a bare ``KMSInternalException``.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sealbox.server import logs, metrics, model
from sealbox.server.errors import (
    KmsError,
    SerializationException,
    UnknownOperationException,
    UnrecognizedClientException,
)
from sealbox.server.operations import Handler, load_all
from sealbox.server.service import Caller, KmsService
from sealbox.server.sigv4 import Request

TARGET_PREFIX = "TrentService."
CONTENT_TYPE = b"application/x-amz-json-1.1"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str = ""


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


def encode(result: dict[str, Any]) -> bytes:
    """JSON with blobs (bytes, only ever top-level members) as Base64 text."""
    ready = {
        k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in result.items()
    }
    return json.dumps(ready, separators=(",", ":")).encode()


def error_body(error: KmsError) -> bytes:
    return json.dumps({"__type": error.aws_type, "message": error.message}).encode()


class Dispatcher:
    def __init__(self, service: KmsService) -> None:
        self.service = service
        self.operations: dict[str, Handler] = load_all()

    def handle(self, http: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        signed = Request(http.method, http.raw_path, http.raw_query, http.headers, http.body)
        target = signed.header("x-amz-target")
        operation = (
            self._name(target) or "unknown"
        )  # named early, so failures are logged by operation
        principal = ""
        try:
            service = self.service
            service.require_unsealed()
            service.refresh()
            verified = service.verifier.verify(signed)
            found = service.principal(verified.access_key_id)
            if found is None:  # revoked between the signature check and now
                raise UnrecognizedClientException(
                    "The security token included in the request is invalid."
                )
            principal = found.arn
            operation = self._operation(target)
            params = model.operation(operation).validate(self._json(http.body))
            caller = Caller(
                found,
                verified.region,
                request_id,
                http.client_ip,
                signed.header("user-agent") or "",
            )
            result = self.operations[operation](service, caller, params)
            response = HttpResponse(200, encode(result), request_id)
            outcome, error_code = "ok", ""
        except KmsError as error:
            response = HttpResponse(error.status, error_body(error), request_id)
            outcome, error_code = (
                ("client_error" if error.status < 500 else "server_error"),
                error.aws_type,
            )
        except Exception:
            logs.event(
                logs.SERVICE,
                "internal error",
                logging.ERROR,
                request_id=request_id,
                operation=operation,
            )
            logs.SERVICE.exception("internal error while handling %s", operation)
            fault = KmsError(
                "An internal error occurred. Try again; if it persists, see the service log."
            )
            response = HttpResponse(500, error_body(fault), request_id)
            outcome, error_code = "server_error", fault.aws_type
        elapsed = time.perf_counter() - started
        metrics.observe(operation, outcome, elapsed)
        logs.event(
            logs.REQUESTS,
            "request",
            request_id=request_id,
            operation=operation,
            principal=principal,
            status=response.status,
            error_code=error_code,
            duration_s=round(elapsed, 6),
        )
        return response

    def _name(self, target: str | None) -> str | None:
        if target is None or not target.startswith(TARGET_PREFIX):
            return None
        name = target[len(TARGET_PREFIX) :]
        return name if name in self.operations else None

    def _operation(self, target: str | None) -> str:
        name = self._name(target)
        if name is not None:
            return name
        if target is None or not target.startswith(TARGET_PREFIX):
            raise UnknownOperationException(
                f"The X-Amz-Target header must be '{TARGET_PREFIX}<Operation>', got {target!r}."
            )
        raise UnknownOperationException(
            f"Operation {target[len(TARGET_PREFIX) :]!r} is not part of the KMS API."
        )

    @staticmethod
    def _json(body: bytes) -> Any:
        try:
            return json.loads(body) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise SerializationException("The request body is not valid JSON.") from None
