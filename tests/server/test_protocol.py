"""The wire protocol with raw HTTP: errors are AWS-shaped JSON, never HTML, never a 500."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.server.harness import Credentials, InProcessServer, RawClient


@pytest.fixture
def raw(server: InProcessServer) -> RawClient:
    return RawClient(server.endpoint, server.credentials())


def assert_aws_error(reply: tuple[int, dict[str, str], Any], status: int, aws_type: str) -> str:
    code, headers, document = reply
    assert code == status, document
    assert headers["content-type"] == "application/x-amz-json-1.1"  # trap 17
    assert isinstance(document, dict) and set(document) == {"__type", "message"}, document
    assert document["__type"] == aws_type, document
    assert len(headers["x-amzn-requestid"]) == 36
    return str(document["message"])


def test_success_has_json_and_a_request_id(raw: RawClient) -> None:
    status, headers, document = raw.send("TrentService.ListKeys", "{}")
    assert status == 200 and headers["content-type"] == "application/x-amz-json-1.1"
    assert document == {"Keys": [], "Truncated": False}
    assert len(headers["x-amzn-requestid"]) == 36


def test_unknown_operation_is_a_json_400(raw: RawClient) -> None:
    """Trap 5: never HTML, never 500."""
    assert_aws_error(raw.send("TrentService.NoSuchThing"), 400, "UnknownOperationException")
    assert_aws_error(raw.send("Other.ListKeys"), 400, "UnknownOperationException")


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_malformed_bodies(raw: RawClient, body: bytes) -> None:
    assert_aws_error(raw.send("TrentService.ListKeys", body), 400, "SerializationException")


@pytest.mark.parametrize(
    ("body", "aws_type"),
    [
        ('{"KeyId": 5, "Plaintext": "eA=="}', "SerializationException"),
        ('{"KeyId": "k", "Plaintext": "not base64!"}', "SerializationException"),
        ('{"Plaintext": "eA=="}', "ValidationException"),
        ('{"KeyId": "", "Plaintext": "eA=="}', "ValidationException"),
        (
            '{"KeyId": "k", "Plaintext": "eA==", "EncryptionAlgorithm": "ROT13"}',
            "ValidationException",
        ),
    ],
)
def test_field_violations(raw: RawClient, body: str, aws_type: str) -> None:
    assert_aws_error(raw.send("TrentService.Encrypt", body), 400, aws_type)


def test_validation_messages_are_worded_as_aws_words_them(raw: RawClient) -> None:
    message = assert_aws_error(
        raw.send("TrentService.GenerateRandom", '{"NumberOfBytes": 1025}'),
        400,
        "ValidationException",
    )
    assert message == (
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: "
        "Member must have value less than or equal to 1024"
    )
    message = assert_aws_error(raw.send("TrentService.Encrypt", "{}"), 400, "ValidationException")
    assert message.startswith(
        "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint"
    )


def test_request_body_cap(raw: RawClient) -> None:
    huge = json.dumps({"Description": "x" * (1 << 20)})
    status, _, document = raw.send("TrentService.CreateKey", huge)
    assert status == 413 and document["__type"] == "ValidationException"


def test_no_authentication_no_service(raw: RawClient) -> None:
    """Trap 16: unsigned requests are refused, however they look."""
    message = assert_aws_error(
        raw.send("TrentService.ListKeys", sign=False), 400, "MissingAuthenticationTokenException"
    )
    assert message == "Missing Authentication Token"


def test_sigv4_faults_on_the_live_server(raw: RawClient, server: InProcessServer) -> None:
    assert_aws_error(
        raw.send("TrentService.ListKeys", secret="wrong" * 8), 400, "InvalidSignatureException"
    )
    assert_aws_error(
        raw.send("TrentService.ListKeys", tamper_body=b'{"Limit": 1}'),
        400,
        "InvalidSignatureException",
    )
    message = assert_aws_error(
        raw.send("TrentService.ListKeys", when=time.time() - 400), 400, "InvalidSignatureException"
    )
    assert message.startswith("Signature expired:")
    message = assert_aws_error(
        raw.send("TrentService.ListKeys", when=time.time() + 400), 400, "InvalidSignatureException"
    )
    assert message.startswith("Signature not yet current:")
    unsigned_target = raw.send(
        "TrentService.ListKeys", signed_headers=("content-type", "host", "x-amz-date")
    )
    assert "must be signed" in assert_aws_error(unsigned_target, 400, "InvalidSignatureException")
    assert_aws_error(
        raw.send("TrentService.ListKeys", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}),
        400,
        "InvalidSignatureException",
    )
    stranger = RawClient(server.endpoint, Credentials("AKIAUNKNOWNUNKNOWN00", "x" * 40, ""))
    assert_aws_error(stranger.send("TrentService.ListKeys"), 400, "UnrecognizedClientException")


def test_health_readiness_and_metrics(server: InProcessServer) -> None:
    parsed = urlparse(server.endpoint)
    assert parsed.hostname is not None
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    for path, status in (("/healthz", 200), ("/livez", 200), ("/readyz", 200)):
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == status and json.loads(response.read())["status"] in (
            "ok",
            "ready",
        )
    server.client().list_keys()
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    text = response.read().decode()
    assert response.status == 200
    assert 'sealbox_requests_total{operation="ListKeys",outcome="ok"}' in text
    assert "sealbox_request_duration_seconds_bucket" in text
    connection.request("GET", "/somewhere")
    response = connection.getresponse()
    assert (
        response.status == 404
        and json.loads(response.read())["__type"] == "UnknownOperationException"
    )
    connection.close()
