"""SigV4 against the official aws-c-auth signing suite and the AWS fault table."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from sealbox.server import errors
from sealbox.server.access import sigv4
from tests.helpers import VECTORS

SUITE = VECTORS / "sigv4" / "v4"
CASES = sorted(p.name for p in SUITE.iterdir() if p.is_dir())


@dataclass
class Case:
    context: dict[str, object]
    request: sigv4.Request
    signed: sigv4.Request

    @property
    def timestamp(self) -> float:
        stamp = str(self.context["timestamp"])
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def parse_http(text: str) -> sigv4.Request:
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, _, rest = lines[0].partition(" ")
    target = rest.rsplit(" ", 1)[0]  # the path may itself contain spaces
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # a folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    return sigv4.Request(method, path, query, headers, body.encode())


def load(name: str) -> Case:
    folder = SUITE / name
    return Case(
        json.loads((folder / "context.json").read_text()),
        parse_http((folder / "request.txt").read_text()),
        parse_http((folder / "header-signed-request.txt").read_text()),
    )


def test_suite_is_complete() -> None:
    assert len(CASES) == 38


@pytest.mark.parametrize("name", CASES)
def test_canonical_request_string_to_sign_and_signature(name: str) -> None:
    case = load(name)
    folder = SUITE / name
    header = case.signed.header("authorization")
    assert header is not None
    auth = sigv4.parse_authorization(header)
    payload = hashlib.sha256(case.signed.body).hexdigest()
    canonical = sigv4.canonical_request(
        case.signed, auth.signed_headers, payload, normalize=bool(case.context["normalize"])
    )
    assert canonical == (folder / "header-canonical-request.txt").read_text()
    amz_date = case.signed.header("x-amz-date")
    assert amz_date is not None
    to_sign = sigv4.string_to_sign(amz_date, auth.scope, canonical)
    assert to_sign == (folder / "header-string-to-sign.txt").read_text()
    credentials = case.context["credentials"]
    assert isinstance(credentials, dict)
    key = sigv4.signing_key(credentials["secret_access_key"], auth.date, auth.region, auth.service)
    import hmac

    assert (
        hmac.new(key, to_sign.encode(), "sha256").hexdigest()
        == (folder / "header-signature.txt").read_text().strip()
    )
    assert auth.signature == (folder / "header-signature.txt").read_text().strip()


def verifier(
    case: Case, *, now_offset: float = 0, regions: frozenset[str] | None = None
) -> sigv4.Verifier:
    credentials = case.context["credentials"]
    assert isinstance(credentials, dict)
    secrets = {credentials["access_key_id"]: credentials["secret_access_key"]}
    return sigv4.Verifier(
        secret_for=secrets.get,
        now=lambda: case.timestamp + now_offset,
        service=str(case.context["service"]),
        regions=regions,
        required_headers=("host",),
    )


# The verifier always normalizes paths (KMS requests are all POST /); session tokens
# are refused because Sealbox issues no temporary credentials.
TOKENS = [n for n in CASES if "token" in load(n).context["credentials"]]  # type: ignore[operator]
VERIFIABLE = [n for n in CASES if load(n).context["normalize"] and n not in TOKENS]


@pytest.mark.parametrize("name", VERIFIABLE)
def test_verifier_accepts_the_signed_request(name: str) -> None:
    case = load(name)
    verified = verifier(case).verify(case.signed)
    assert verified.access_key_id == "AKIDEXAMPLE" and verified.region == "us-east-1"


def test_token_cases() -> None:
    assert TOKENS == [
        "get-vanilla-with-session-token",
        "post-sts-header-after",
        "post-sts-header-before",
    ]


@pytest.mark.parametrize("name", TOKENS)
def test_session_tokens_are_refused(name: str) -> None:
    case = load(name)
    with pytest.raises(errors.UnrecognizedClientException):
        verifier(case).verify(case.signed)


def _mutated(case: Case, **changes: object) -> sigv4.Request:
    fields: dict[str, Any] = {
        "method": case.signed.method,
        "raw_path": case.signed.raw_path,
        "raw_query": case.signed.raw_query,
        "headers": list(case.signed.headers),
        "body": case.signed.body,
    }
    fields.update(changes)
    return sigv4.Request(**fields)


def _with_header(request: sigv4.Request, name: str, value: str | None) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers if k.lower() != name.lower()]
    return headers + ([(name, value)] if value is not None else [])


def _auth(case: Case) -> str:
    value = case.signed.header("authorization")
    assert value is not None
    return value


Fault = tuple[Callable[[Case], sigv4.Request], type[errors.KmsError], str]
FAULTS: dict[str, Fault] = {
    "no Authorization": (
        lambda c: _mutated(c, headers=_with_header(c.signed, "Authorization", None)),
        errors.MissingAuthenticationTokenException,
        "Missing Authentication Token",
    ),
    "no Signature": (
        lambda c: _mutated(
            c, headers=_with_header(c.signed, "Authorization", _auth(c).split(", Signature")[0])
        ),
        errors.IncompleteSignatureException,
        "'Signature'",
    ),
    "no Credential": (
        lambda c: _mutated(
            c,
            headers=_with_header(
                c.signed, "Authorization", "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00"
            ),
        ),
        errors.IncompleteSignatureException,
        "'Credential'",
    ),
    "unknown access key": (
        lambda c: _mutated(
            c,
            headers=_with_header(
                c.signed, "Authorization", _auth(c).replace("AKIDEXAMPLE", "AKIDOTHER")
            ),
        ),
        errors.UnrecognizedClientException,
        "security token included in the request is invalid",
    ),
    "altered body": (
        lambda c: _mutated(c, body=c.signed.body + b"x"),
        errors.InvalidSignatureException,
        "does not match",
    ),
    "wrong signature": (
        lambda c: _mutated(
            c, headers=_with_header(c.signed, "Authorization", _auth(c)[:-4] + "0000")
        ),
        errors.InvalidSignatureException,
        "does not match",
    ),
    "scope date differs": (
        lambda c: _mutated(
            c,
            headers=_with_header(
                c.signed, "Authorization", _auth(c).replace("/20150830/", "/20150829/")
            ),
        ),
        errors.InvalidSignatureException,
        "Date in Credential scope does not match",
    ),
    "wrong service": (
        lambda c: _mutated(
            c,
            headers=_with_header(c.signed, "Authorization", _auth(c).replace("/service/", "/s3/")),
        ),
        errors.InvalidSignatureException,
        "scoped to correct service",
    ),
    "unsigned payload": (
        lambda c: _mutated(
            c, headers=_with_header(c.signed, "x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        ),
        errors.InvalidSignatureException,
        "UNSIGNED-PAYLOAD",
    ),
    "payload hash lies": (
        lambda c: _mutated(c, headers=_with_header(c.signed, "x-amz-content-sha256", "0" * 64)),
        errors.InvalidSignatureException,
        "x-amz-content-sha256",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_table(fault: str) -> None:
    case = load("post-vanilla")
    mutate, error, text = FAULTS[fault]
    with pytest.raises(error) as caught:
        verifier(case).verify(mutate(case))
    assert text in str(caught.value)


def test_timestamp_window_is_five_minutes_each_way() -> None:
    case = load("post-vanilla")
    verifier(case, now_offset=299).verify(case.signed)
    verifier(case, now_offset=-299).verify(case.signed)
    with pytest.raises(
        errors.InvalidSignatureException,
        match=r"Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
        r"\(20150830T124101Z - 5 min.\)",
    ):
        verifier(case, now_offset=301).verify(case.signed)
    with pytest.raises(
        errors.InvalidSignatureException,
        match=r"Signature not yet current: 20150830T123600Z is still later than",
    ):
        verifier(case, now_offset=-301).verify(case.signed)


def test_unserved_region_and_required_headers() -> None:
    case = load("post-vanilla")
    with pytest.raises(errors.InvalidSignatureException, match="valid region"):
        verifier(case, regions=frozenset({"eu-west-1"})).verify(case.signed)
    strict = sigv4.Verifier(
        secret_for={"AKIDEXAMPLE": "x"}.get,
        now=lambda: case.timestamp,
        service="service",
        required_headers=("host", "x-amz-date", "x-amz-target"),
    )
    with pytest.raises(errors.InvalidSignatureException, match="must be signed"):
        strict.verify(case.signed)


def test_signing_key_matches_the_documented_example() -> None:
    """The derivation example in the AWS SigV4 documentation (iam, us-east-1, 20120215)."""
    key = sigv4.signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"
    )
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
