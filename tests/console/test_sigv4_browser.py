"""The console's SigV4 module (``sealbox/console/static/sigv4.js``) in a real Chromium:
against every case of the official aws-c-auth signing suite, then against a real server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import sealbox
from tests.console.browser import DEFAULT_TIMEOUT_MS, VIEWPORT, serve_files
from tests.helpers import VECTORS
from tests.server.harness import DEV_ACCOUNT, Credentials, InProcessServer, error_of, module_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

SIGV4_JS = Path(sealbox.__file__).parent / "console" / "static" / "sigv4.js"
SUITE = VECTORS / "sigv4" / "v4"  # the repository's copy of shared/vectors/sigv4 (same files)
CASES = sorted(p.name for p in SUITE.iterdir() if p.is_dir())

# Cases not run, with why. None: every case of the suite runs (the unnormalized ones with
# normalizePath: false, as S3 signs; post-sts-header-after by signing without the token and
# adding it after, as the case describes).
EXCLUDED_CASES: dict[str, str] = {}
CHECKED_FILES = frozenset(
    {
        "context.json",
        "request.txt",
        "header-canonical-request.txt",
        "header-string-to-sign.txt",
        "header-signature.txt",
        "header-signed-request.txt",
    }
)
# Each case's presigned-URL variant is not checked: the console signs with the
# Authorization header only, and sigv4.js has no presigning.
EXCLUDED_FILES = {
    "query-canonical-request.txt": "presigned-URL form: not implemented (header signing only)",
    "query-string-to-sign.txt": "presigned-URL form: not implemented (header signing only)",
    "query-signature.txt": "presigned-URL form: not implemented (header signing only)",
    "query-signed-request.txt": "presigned-URL form: not implemented (header signing only)",
}

# The server's answers to a bad key or secret, word for word (AWS's wording).
UNKNOWN_KEY = (
    "UnrecognizedClientException",
    "The security token included in the request is invalid.",
)
WRONG_SECRET = (
    "InvalidSignatureException",
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation "
    "for details.",
)

VECTOR_ORIGIN = (
    "https://sigv4.test"  # answered by the browser itself; https: WebCrypto needs a secure context
)
TEST_PREFIX = (
    "/__sigv4_test__/"  # on the real server's origin, answered by the browser (never sent)
)
PAGE = b"<!doctype html><title>sigv4 test</title><p>sigv4 test page</p>"


def _files() -> dict[str, tuple[str, bytes]]:
    return {
        "index.html": ("text/html", PAGE),
        "sigv4.js": ("text/javascript", SIGV4_JS.read_bytes()),
    }


def _load_module(page: Page, base: str) -> None:
    page.goto(base + "index.html")
    page.evaluate("async (url) => { window.sigv4 = await import(url); }", base + "sigv4.js")


# -- the official suite -------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpMessage:
    request_line: str
    headers: tuple[tuple[str, str], ...]  # (name, value) as written; folded lines joined by "\n"
    body: str

    @property
    def method(self) -> str:
        return self.request_line.split(" ", 1)[0]

    @property
    def target(self) -> str:
        # the path may hold spaces: the target runs to the last " HTTP/1.1"
        return self.request_line.split(" ", 1)[1].rsplit(" ", 1)[0]

    def lowered(self) -> list[tuple[str, str]]:
        return sorted((name.lower(), value) for name, value in self.headers)


def parse_http(text: str) -> HttpMessage:
    head, _, body = text.partition("\n\n")
    lines = head.removesuffix("\n").split("\n")  # request.txt ends its head with one newline
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # an obsolete folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line)
            continue
        name, sep, value = line.partition(":")
        assert sep, f"not a header line: {line!r}"
        headers.append((name, value))
    return HttpMessage(lines[0], tuple(headers), body)


def read(case: str, name: str) -> str:
    return (SUITE / case / name).read_text(encoding="utf-8")


def test_the_suite_is_all_here_and_every_file_kind_is_accounted_for() -> None:
    manifest = json.loads((SUITE.parent / "MANIFEST.json").read_text(encoding="utf-8"))
    assert len(CASES) == manifest["cases"] == 38
    assert len(EXCLUDED_CASES) == 0
    assert len(EXCLUDED_FILES) == 4
    for case in CASES:
        names = {p.name for p in (SUITE / case).iterdir()}
        assert names == CHECKED_FILES | EXCLUDED_FILES.keys(), case


@pytest.fixture(scope="module")
def signer(browser: Browser) -> Iterator[Page]:
    """One tab with sigv4.js loaded as ``window.sigv4``, on a secure origin of its own."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        tab = context.new_page()
        serve_files(tab, VECTOR_ORIGIN + "/", _files())
        _load_module(tab, VECTOR_ORIGIN + "/")
        yield tab
    finally:
        context.close()


@pytest.mark.parametrize("case", [c for c in CASES if c not in EXCLUDED_CASES])
def test_official_case(signer: Page, case: str) -> None:
    context = json.loads(read(case, "context.json"))
    request = parse_http(read(case, "request.txt"))
    credentials = context["credentials"]
    token = credentials.get("token")
    signed_token = token if token and not context.get("omit_session_token") else None
    parts = signer.evaluate(
        "async (a) => await window.sigv4.signatureParts({...a, date: new Date(a.date)})",
        {
            "method": request.method,
            "url": request.target,
            "headers": [list(pair) for pair in request.headers],
            "body": request.body,
            "accessKeyId": credentials["access_key_id"],
            "secretAccessKey": credentials["secret_access_key"],
            "sessionToken": signed_token,
            "region": context["region"],
            "service": context["service"],
            "date": context["timestamp"],
            "signBody": context["sign_body"],
            "normalizePath": context["normalize"],
        },
    )
    assert parts["canonicalRequest"] == read(case, "header-canonical-request.txt")
    assert parts["stringToSign"] == read(case, "header-string-to-sign.txt")
    assert parts["signature"] == read(case, "header-signature.txt")

    # The request as sent: the original plus the headers signRequest returns (and, for
    # post-sts-header-after, the token added after signing), exactly the suite's.
    expected = parse_http(read(case, "header-signed-request.txt"))
    sent = list(request.headers) + list(parts["headers"].items())
    if token and signed_token is None:
        sent.append(("X-Amz-Security-Token", token))
    assert dict(expected.lowered())["authorization"] == parts["authorization"]
    assert sorted((n.lower(), v) for n, v in sent) == expected.lowered()
    assert (request.request_line, request.body) == (expected.request_line, expected.body)


def test_signing_keys_stay_in_the_module(signer: Page) -> None:
    """The cached signing key is one non-extractable CryptoKey, forgotten on sign-out."""
    result = signer.evaluate(
        """async () => {
            const m = window.sigv4;
            const a = await m.signingKey("secret", "20150830", "us-east-1", "kms");
            const b = await m.signingKey("secret", "20150830", "us-east-1", "kms");
            const other = await m.signingKey("secret", "20150831", "us-east-1", "kms");
            let exported = "exported";
            try { await crypto.subtle.exportKey("raw", a); } catch (e) { exported = e.name; }
            m.clearSigningKeys();
            const c = await m.signingKey("secret", "20150830", "us-east-1", "kms");
            return {same: a === b, distinct: a !== other, extractable: a.extractable,
                    exported, fresh: a !== c};
        }"""
    )
    assert result == {
        "same": True,
        "distinct": True,
        "extractable": False,
        "exported": "InvalidAccessError",
        "fresh": True,
    }


def test_headers_the_signer_sets_are_refused_from_the_caller(signer: Page) -> None:
    message = signer.evaluate(
        """async () => {
            try {
                await window.sigv4.signRequest({method: "POST", url: "https://h/",
                    headers: {"X-Amz-Date": "20150830T123600Z"}, accessKeyId: "A",
                    secretAccessKey: "S", region: "us-east-1", service: "kms"});
                return "signed";
            } catch (e) { return e.message; }
        }"""
    )
    assert message == "the signer sets X-Amz-Date itself"


# -- against a real server ------------------------------------------------------------------------

server = module_server("console_sigv4")


@pytest.fixture
def console_page(page: Page, server: InProcessServer) -> Iterator[Page]:
    """A tab on the server's own origin with sigv4.js loaded; the page and module are
    answered by the browser, every API call goes to the real server. Fails if a script
    writes to the browser's console (sigv4.js logs nothing, least of all a secret)."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    base = server.endpoint + TEST_PREFIX
    serve_files(page, base, _files())
    _load_module(page, base)
    yield page
    # Chromium itself notes each 4xx answer ("Failed to load resource: ... 400"); nothing else
    assert [m for m in messages if not m.startswith("Failed to load resource:")] == []


def browser_call(
    page: Page, target: str, payload: dict[str, Any], credentials: Mapping[str, str | None]
) -> dict[str, Any]:
    """``kmsCall`` in the page: {"ok": answer} or {"error": {name, type, message, status}}."""
    result: dict[str, Any] = page.evaluate(
        """async ([target, payload, creds]) => {
            try {
                return {ok: await window.sigv4.kmsCall(target, payload, creds)};
            } catch (e) {
                return {error: {name: e.name, type: e.type, message: e.message, status: e.status}};
            }
        }""",
        [target, payload, credentials],
    )
    return result


def creds(credentials: Credentials, **changes: str) -> dict[str, str | None]:
    values: dict[str, str | None] = {
        "accessKeyId": credentials.access_key_id,
        "secretAccessKey": credentials.secret_access_key,
    }
    values.update(changes)
    return values


def test_a_call_signed_in_the_browser_is_accepted(
    console_page: Page, server: InProcessServer
) -> None:
    alice = server.credentials(DEV_ACCOUNT, "alice")
    created = browser_call(
        console_page, "TrentService.CreateKey", {"Description": "made in the browser"}, creds(alice)
    )
    key_id = created["ok"]["KeyMetadata"]["KeyId"]
    assert created["ok"]["KeyMetadata"]["AWSAccountId"] == DEV_ACCOUNT

    # the key is the server's own: boto3 sees it, and so does a short-named call
    described = server.client(alice).describe_key(KeyId=key_id)["KeyMetadata"]
    assert described["Description"] == "made in the browser"
    listed = browser_call(console_page, "ListKeys", {"Limit": 1000}, creds(alice))
    assert key_id in [k["KeyId"] for k in listed["ok"]["Keys"]]


def test_api_errors_reach_the_page_verbatim(console_page: Page, server: InProcessServer) -> None:
    alice = server.credentials(DEV_ACCOUNT, "alice")
    missing = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000"
    code, message = error_of(server.client(alice).describe_key, KeyId=missing)
    answer = browser_call(console_page, "DescribeKey", {"KeyId": missing}, creds(alice))
    assert answer["error"] == {
        "name": "ApiError",
        "type": code,
        "message": message,
        "status": 400,
    }
    assert code == "NotFoundException"


def test_a_wrong_secret_is_refused_with_the_servers_answer(
    console_page: Page, server: InProcessServer
) -> None:
    alice = server.credentials(DEV_ACCOUNT, "alice")
    wrong = alice.secret_access_key[:-1] + ("A" if alice.secret_access_key[-1] != "A" else "B")
    answer = browser_call(console_page, "ListKeys", {}, creds(alice, secretAccessKey=wrong))
    assert (answer["error"]["type"], answer["error"]["message"]) == WRONG_SECRET
    assert answer["error"]["status"] == 400
    # boto3 with the same wrong secret gets the same answer
    boto = server.client(Credentials(alice.access_key_id, wrong, alice.arn))
    assert error_of(boto.list_keys) == WRONG_SECRET


def test_an_unknown_access_key_is_refused_with_the_servers_answer(
    console_page: Page, server: InProcessServer
) -> None:
    alice = server.credentials(DEV_ACCOUNT, "alice")
    unknown = "AKIA" + "Z" * 16
    answer = browser_call(console_page, "ListKeys", {}, creds(alice, accessKeyId=unknown))
    assert (answer["error"]["type"], answer["error"]["message"]) == UNKNOWN_KEY
    assert answer["error"]["status"] == 400


def test_a_session_token_is_sent_and_refused(console_page: Page, server: InProcessServer) -> None:
    """Sealbox issues no temporary credentials: a signed X-Amz-Security-Token is refused."""
    alice = server.credentials(DEV_ACCOUNT, "alice")
    answer = browser_call(console_page, "ListKeys", {}, creds(alice, sessionToken="token"))
    assert (answer["error"]["type"], answer["error"]["message"]) == UNKNOWN_KEY


def test_error_answers_from_aws_or_a_proxy_are_shown_as_sent(page: Page) -> None:
    """Shapes the Sealbox server never sends but a console behind AWS-style front ends meets:
    a namespaced ``__type`` (shortened after '#'), ``Message`` in capitals, a non-JSON page."""
    answers = {
        "namespaced": (400, '{"__type":"com.amazonaws.kms#NotFoundException","message":"Key x"}'),
        "capital": (400, '{"__type":"ValidationException","Message":"1 validation error"}'),
        "proxy": (502, "<html>Bad Gateway</html>"),
    }

    def answer(route: Route) -> None:
        status, body = answers[route.request.headers["x-amz-target"].split(".")[1]]
        route.fulfill(status=status, content_type="application/x-amz-json-1.1", body=body)

    serve_files(page, VECTOR_ORIGIN + TEST_PREFIX, _files())
    page.route(VECTOR_ORIGIN + "/", answer)
    _load_module(page, VECTOR_ORIGIN + TEST_PREFIX)
    fake = {"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "secret"}
    errors = {name: browser_call(page, f"X.{name}", {}, fake)["error"] for name in answers}
    assert errors == {
        "namespaced": {
            "name": "ApiError",
            "type": "NotFoundException",
            "message": "Key x",
            "status": 400,
        },
        "capital": {
            "name": "ApiError",
            "type": "ValidationException",
            "message": "1 validation error",
            "status": 400,
        },
        "proxy": {
            "name": "ApiError",
            "type": "HTTP 502",
            "message": "<html>Bad Gateway</html>",
            "status": 502,
        },
    }


def test_screenshots_go_to_the_run_output(
    signer: Page, screenshot: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEALBOX_TEST_OUTPUT", str(tmp_path))
    saved = screenshot(signer, "sigv4 test page")
    assert saved == tmp_path / "console" / "sigv4-test-page.png"
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_module_as_the_console_serves_it(page: Page, server: InProcessServer) -> None:
    """sigv4.js from ``GET /console/sigv4.js``, run in a page under the console's own CSP
    (script-src and connect-src 'self'), signs a call the server accepts."""
    alice = server.credentials(DEV_ACCOUNT, "alice")
    response = page.goto(server.endpoint + "/console/")
    assert response is not None and response.status == 200
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    refused = page.evaluate(
        """async () => {
            try { await import('data:text/javascript,export {}'); return 'loaded'; }
            catch (e) { return e.name; }
        }"""
    )
    assert refused == "TypeError"  # the CSP is in force: only the origin's own scripts load
    page.evaluate("async () => { window.sigv4 = await import('/console/sigv4.js'); }")
    answer = browser_call(page, "ListKeys", {}, creds(alice))
    assert "Keys" in answer["ok"]
