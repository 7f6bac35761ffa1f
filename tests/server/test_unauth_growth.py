"""No unauthenticated state growth: access key ids outside AWS's format are refused before
any lookup, and every cache that client-supplied values feed is bounded (the principal
cache, the cache of unknown ids, the signing-key cache, the alias cache)."""

from __future__ import annotations

import http.client
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import pytest

from sealbox.server.access import sigv4
from sealbox.server.errors import NotFoundException
from sealbox.server.service import ALIAS_CACHE, UNKNOWN_ID_CACHE, Caller
from tests.server.harness import InProcessServer

INVALID_TOKEN = {
    "__type": "UnrecognizedClientException",
    "message": "The security token included in the request is invalid.",
}


def signed(
    host: str, access_key: str, secret: str, region: str = "us-east-1", body: bytes = b"{}"
) -> tuple[bytes, dict[str, str]]:
    amz_date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-target": "TrentService.ListKeys",
    }
    names = tuple(sorted(headers))
    headers["authorization"] = sigv4.authorization_value(
        sigv4.Request("POST", "/", "", list(headers.items()), body),
        names,
        access_key_id=access_key,
        key=sigv4.signing_key(secret, amz_date[:8], region, "kms"),
        amz_date=amz_date,
        region=region,
    )
    return body, headers


class KeepAlive:
    """Many requests over one connection, as a flood would send them."""

    def __init__(self, endpoint: str) -> None:
        parsed = urlparse(endpoint)
        self.host = f"{parsed.hostname}:{parsed.port}"
        self.connection = http.client.HTTPConnection(self.host, timeout=30)

    def __enter__(self) -> KeepAlive:
        return self

    def __exit__(self, *_: object) -> None:
        self.connection.close()

    def call(self, access_key: str, secret: str = "x" * 40, **options: Any) -> tuple[int, Any]:
        body, headers = signed(self.host, access_key, secret, **options)
        self.connection.request("POST", "/", body, headers)
        response = self.connection.getresponse()
        return response.status, json.loads(response.read())


@pytest.fixture
def lookups(server: InProcessServer, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The access key ids the service looks up in its store, in order."""
    seen: list[str] = []
    identities = server.service.store.identities
    original = identities.get_access_key

    def counting(key_id: str) -> Any:
        seen.append(key_id)
        return original(key_id)

    monkeypatch.setattr(identities, "get_access_key", counting)
    return seen


def unknown_id(n: int) -> str:
    return f"AKIA{n:016d}"  # the AWS format: 20 upper-case letters and digits


def test_a_flood_of_unknown_ids_leaves_the_caches_bounded(server: InProcessServer) -> None:
    known = server.credentials()
    with KeepAlive(server.endpoint) as flood:
        for n in range(UNKNOWN_ID_CACHE + 1000):
            assert flood.call(unknown_id(n)) == (400, INVALID_TOKEN)
        sizes = server.service.cache_sizes()
        assert sizes["unknown_access_key_ids"] == UNKNOWN_ID_CACHE  # full, and no larger
        assert sizes["principals"] == 0
        # the flood evicted nothing a real caller needs
        status, document = flood.call(known.access_key_id, known.secret_access_key)
    assert status == 200 and "Keys" in document


@pytest.mark.parametrize(
    "access_key_id",
    [
        "AKIA" + "B" * 11,  # 15 characters: too short
        "AKIA" + "B" * 125,  # 129: too long
        "akia" + "b" * 16,  # lower case
        "AKIA-BBBB_BBBB.BBBB",  # punctuation
        "AKIA" + "é" * 16,  # not ASCII
        "A" * (12 * 1024),  # the flood's own shape
    ],
)
def test_ids_outside_the_aws_format_are_refused_before_any_lookup(
    server: InProcessServer, access_key_id: str, lookups: list[str]
) -> None:
    with KeepAlive(server.endpoint) as flood:
        for _ in range(3):
            assert flood.call(access_key_id.encode("utf-8").decode("latin-1")) == (
                400,
                INVALID_TOKEN,
            )
    assert lookups == []
    assert server.service.cache_sizes()["unknown_access_key_ids"] == 0


def test_an_unknown_id_is_looked_up_once(server: InProcessServer, lookups: list[str]) -> None:
    with KeepAlive(server.endpoint) as flood:
        for _ in range(5):
            assert flood.call(unknown_id(7)) == (400, INVALID_TOKEN)
    assert lookups == [unknown_id(7)]


def test_the_signing_key_cache_is_bounded_whatever_regions_are_named() -> None:
    """A known caller may sign for any region name; the cache keeps at most its capacity,
    and never a name that cannot be an AWS region."""
    verifier = sigv4.Verifier(secret_for={"AKIAEXAMPLEEXAMPLE00": "secret"}.get, now=time.time)
    for n in range(sigv4.SIGNING_KEY_CACHE + 500):
        _, headers = signed("h", "AKIAEXAMPLEEXAMPLE00", "secret", region=f"region-{n}")
        verifier.verify(sigv4.Request("POST", "/", "", list(headers.items()), b"{}"))
    assert verifier.cache_size() == sigv4.SIGNING_KEY_CACHE
    verifier.clear_cache()
    _, headers = signed("h", "AKIAEXAMPLEEXAMPLE00", "secret", region="r" * 1000)
    verifier.verify(sigv4.Request("POST", "/", "", list(headers.items()), b"{}"))
    assert verifier.cache_size() == 0


def test_a_flood_of_unknown_alias_names_leaves_the_alias_cache_bounded(
    server: InProcessServer,
) -> None:
    """Alias names (and the account in an alias ARN) are the caller's choice: lookups of
    names that do not exist are cached, but never more than ALIAS_CACHE of them."""
    service = server.service
    principal = service.principal(server.credentials().access_key_id)
    assert principal is not None
    caller = Caller(principal, "us-east-1", "alias-flood")
    for n in range(ALIAS_CACHE + 100):
        name = f"alias/flood-{n}" if n % 2 else f"arn:aws:kms:us-east-1:{n:012d}:alias/f"
        with pytest.raises(NotFoundException):
            service.resolve(caller, name)
    assert service.cache_sizes()["aliases"] == ALIAS_CACHE
