"""The web console's static files at /console: what is served, with which headers, and
that nothing else is (no path out of the static directory, no cross-origin access).

Requests go over a raw socket (http.client sends the path exactly as given) to a real
server on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import uvicorn

from sealbox.cli.parser import build_parser
from sealbox.errors import UsageError
from sealbox.server.config import load_config
from sealbox.server.http.app import KmsApp
from sealbox.server.http.console import CSP, Console, load
from sealbox.server.service import KmsService
from tests.server.harness import InProcessServer, RawClient, SubprocessServer, build_service

STRICT = {
    "content-security-policy": CSP.decode(),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
FILES = {
    "index.html": b"<!doctype html><title>t</title>",
    "app.js": b"export const x = 1;",
    "style.css": b"body { margin: 0 }",
    "logo.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    "logo.png": PNG,
    "assets/deep.js": b"export const deep = 2;",
    ".hidden.js": b"secret",
    "notes.exe": b"MZ",
}
TRAVERSALS = [
    "/console/../pyproject.toml",
    "/console/%2e%2e/pyproject.toml",
    "/console/%2E%2E/%2E%2E/pyproject.toml",
    "/console/..%2f..%2fpyproject.toml",
    "/console//etc/passwd",
    "/console/static/../../x",
    "/console/./index.html",
    "/console/assets/../index.html",
    "/console/assets%2fdeep.js",
    "/console/%69ndex.html",
    "/console/index.html/",
    "/console/index.html%00.js",
    "/console/.hidden.js",
    "/console/notes.exe",
    "/console/linked.txt",
    "/console/C:/Windows/win.ini",
    "/console/\\..\\pyproject.toml",
    "/console/missing.js",
]


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def assert_strict(self) -> None:
        for name, value in STRICT.items():
            assert self.headers.get(name) == value, (name, self.headers)
        assert_no_cors(self.headers)


def assert_no_cors(headers: dict[str, str]) -> None:
    assert not [name for name in headers if name.startswith("access-control-")], headers


def fetch(
    endpoint: str, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> Answer:
    parsed = urlparse(endpoint)
    connection = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """The console as the package ships it."""
    running = InProcessServer(build_service(tmp_path_factory.mktemp("console")))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """A console build of every served type, with files that must not be served beside it."""
    static = tmp_path_factory.mktemp("static")
    for name, body in FILES.items():
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_bytes(body)
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("not for the browser")
    (static / "linked.txt").symlink_to(outside)
    running = InProcessServer(build_service(tmp_path_factory.mktemp("built")))
    running.app.console = Console(load(static))
    try:
        yield running
    finally:
        running.stop()


class AppServer:
    """A KmsApp built with the given console setting, served as InProcessServer serves one."""

    def __init__(self, service: KmsService, *, console: bool) -> None:
        self.app = KmsApp(service, console=console)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            assert time.monotonic() < deadline and self._thread.is_alive()
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


# -- what is served -------------------------------------------------------------------------


def test_the_console_page_is_served(server: InProcessServer) -> None:
    for path in ("/console/", "/console/index.html", "/console/?from=bookmark"):
        answer = fetch(server.endpoint, path)
        assert answer.status == 200, path
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert answer.body.startswith(b"<!doctype html>")
        assert int(answer.headers["content-length"]) == len(answer.body)
        answer.assert_strict()
    head = fetch(server.endpoint, "/console/", "HEAD")
    assert head.status == 200 and head.body == b""
    assert int(head.headers["content-length"]) > 0
    head.assert_strict()


def test_the_bare_prefix_redirects_to_the_directory(server: InProcessServer) -> None:
    answer = fetch(server.endpoint, "/console")
    assert (answer.status, answer.headers["location"]) == (308, "/console/")
    answer.assert_strict()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/console/", "text/html; charset=utf-8"),
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/style.css", "text/css; charset=utf-8"),
        ("/console/logo.svg", "image/svg+xml"),
        ("/console/logo.png", "image/png"),
        ("/console/assets/deep.js", "text/javascript; charset=utf-8"),
    ],
)
def test_each_type_is_served_as_itself(
    built: InProcessServer, path: str, content_type: str
) -> None:
    answer = fetch(built.endpoint, path)
    assert (answer.status, answer.headers["content-type"]) == (200, content_type)
    name = path.removeprefix("/console/") or "index.html"
    assert answer.body == FILES[name]
    answer.assert_strict()


@pytest.mark.parametrize("path", TRAVERSALS)
def test_nothing_else_is_served(built: InProcessServer, path: str) -> None:
    answer = fetch(built.endpoint, path)
    assert answer.status == 404, (path, answer.body)
    assert answer.body == b"Not Found\n"
    assert b"not for the browser" not in answer.body
    answer.assert_strict()


def test_only_get_and_head(built: InProcessServer) -> None:
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        answer = fetch(built.endpoint, "/console/", method)
        assert (answer.status, answer.headers["allow"]) == (405, "GET, HEAD"), method
        answer.assert_strict()


def test_the_package_ships_the_console() -> None:
    from sealbox import console

    files = load(console.static_root())
    assert "index.html" in files
    assert files["index.html"].content_type == b"text/html; charset=utf-8"


# -- no cross-origin access -------------------------------------------------------------------


def test_no_answer_opens_cross_origin_access(server: InProcessServer) -> None:
    origin = {"Origin": "https://evil.example"}
    preflight = {
        **origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,x-amz-target,x-amz-date,content-type",
    }
    kms_preflight = fetch(server.endpoint, "/", "OPTIONS", preflight)
    assert kms_preflight.status == 404  # not an answer a browser's preflight accepts
    assert_no_cors(kms_preflight.headers)
    for path in ("/console/", "/console/missing", "/healthz", "/readyz", "/metrics", "/nowhere"):
        assert_no_cors(fetch(server.endpoint, path, "GET", origin).headers)
    assert_no_cors(fetch(server.endpoint, "/console/", "OPTIONS", preflight).headers)
    raw = RawClient(server.endpoint, server.credentials())
    status, headers, _ = raw.send("TrentService.ListKeys", "{}", headers=origin)
    assert status == 200
    assert_no_cors(headers)
    status, headers, _ = raw.send("TrentService.ListKeys", "{}", sign=False, headers=origin)
    assert status == 400
    assert_no_cors(headers)


# -- turning it off ---------------------------------------------------------------------------


def test_no_console_answers_404(tmp_path: Path) -> None:
    running = AppServer(build_service(tmp_path), console=False)
    try:
        for path in ("/console/", "/console", "/console/index.html"):
            answer = fetch(running.endpoint, path)
            assert answer.status == 404, path
            assert b"<html" not in answer.body.lower()
            assert_no_cors(answer.headers)
        assert fetch(running.endpoint, "/healthz").status == 200
    finally:
        running.stop()


def test_the_setting_in_flags_environment_and_file(tmp_path: Path) -> None:
    assert load_config({}, environ={}).console is True
    assert load_config({"console": False}, environ={}).console is False
    assert load_config({}, environ={"SEALBOX_CONSOLE": "false"}).console is False
    assert load_config({}, environ={"SEALBOX_CONSOLE": "1"}).console is True
    file = tmp_path / "sealbox.toml"
    file.write_text("console = false\n")
    assert load_config({}, environ={}, file=file).console is False
    assert load_config({"console": True}, environ={}, file=file).console is True  # flags win
    with pytest.raises(UsageError, match=r"configuration value console='maybe' is not valid"):
        load_config({}, environ={"SEALBOX_CONSOLE": "maybe"})


def test_serve_serves_it_by_default(tmp_path: Path) -> None:
    running = SubprocessServer(tmp_path / "data", tmp_path / "root.key")
    try:
        answer = fetch(running.endpoint, "/console/")
        assert answer.status == 200
        answer.assert_strict()
    finally:
        running.stop()
    assert f"sealbox: the web console is at {running.endpoint}/console/" in (
        running.log_path.read_text()
    )


def _serve_help() -> str:
    """``sealbox serve --help``, as the parser builds it."""
    for action in build_parser()._actions:  # the sub-commands' action holds their parsers
        choices = getattr(action, "choices", None)
        if isinstance(choices, dict) and "serve" in choices:
            return str(choices["serve"].format_help())
    return ""


def test_serve_no_console(tmp_path: Path) -> None:
    assert "do not serve the web console" in " ".join(_serve_help().split())
    running = SubprocessServer(tmp_path / "data", tmp_path / "root.key", extra=("--no-console",))
    try:
        assert fetch(running.endpoint, "/console/").status == 404
        assert fetch(running.endpoint, "/healthz").status == 200
    finally:
        running.stop()
    assert "web console" not in running.log_path.read_text()
