"""The web console's static files, at ``GET /console/`` (index.html) and ``/console/<file>``.

The files are read once, when the app starts, from the package's ``sealbox/console/static``
directory, and a request is answered from that table by its raw path: no client-supplied
text ever reaches the file system, so ``..``, encoded slashes or dots, doubled slashes and
absolute paths can only miss (404). Only files of a known type are served, each with its
Content-Type, and every answer under ``/console`` — 404s, redirects and refused methods
included — carries the strict security headers below. No answer opens cross-origin access.

These are public static files: they are not audited (the API calls the console makes are).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from sealbox import console

PREFIX = "/console"
CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    # no other origin may open the console in a window it keeps a handle on, or embed its files
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
CONTENT_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".mjs": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".png": b"image/png",
    ".webp": b"image/webp",
    ".ico": b"image/x-icon",
    ".json": b"application/json",
    ".map": b"application/json",
    ".txt": b"text/plain; charset=utf-8",
    ".woff2": b"font/woff2",
}
# A served file's path segments: what a build writes, never hidden files or dot segments.
SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")
MAX_DEPTH = 8  # directories below static/

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    content_type: bytes


def load(root: Traversable) -> dict[str, StaticFile]:
    """Every servable file under ``root`` by its path relative to it ("index.html",
    "assets/app.js"); symbolic links are not followed, so nothing outside is served."""
    found: dict[str, StaticFile] = {}
    if root.is_dir():
        _walk(root, "", 0, found)
    return found


def _walk(directory: Traversable, prefix: str, depth: int, found: dict[str, StaticFile]) -> None:
    for entry in sorted(directory.iterdir(), key=lambda e: e.name):
        if not SEGMENT.fullmatch(entry.name) or (isinstance(entry, Path) and entry.is_symlink()):
            continue
        name = prefix + entry.name
        if entry.is_dir():
            if depth < MAX_DEPTH:
                _walk(entry, name + "/", depth + 1, found)
        elif entry.is_file():
            content_type = CONTENT_TYPES.get(Path(entry.name).suffix.lower())
            if content_type is not None:
                found[name] = StaticFile(entry.read_bytes(), content_type)


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class Console:
    """Answers every request whose path is under ``/console``."""

    def __init__(self, files: dict[str, StaticFile]) -> None:
        self.files = files

    @classmethod
    def from_package(cls) -> Console:
        return cls(load(console.static_root()))

    async def __call__(self, scope: MutableMapping[str, Any], send: Send) -> None:
        method = scope["method"]
        # the raw path, as sent: percent-escapes are never decoded into a name
        raw = bytes(scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if method not in ("GET", "HEAD"):
            await _answer(send, 405, b"Method Not Allowed\n", [(b"allow", b"GET, HEAD")], method)
            return
        if raw == PREFIX:  # relative links in index.html need the slash
            await _answer(send, 308, b"", [(b"location", PREFIX.encode() + b"/")], method)
            return
        name = raw[len(PREFIX) + 1 :] if raw.startswith(PREFIX + "/") else None
        found = self.files.get(name or "index.html") if name is not None else None
        if found is None:
            await _answer(send, 404, b"Not Found\n", [], method)
        else:
            await _answer(send, 200, found.body, [(b"content-type", found.content_type)], method)


async def _answer(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]], method: str
) -> None:
    if not any(name == b"content-type" for name, _ in headers):
        headers = [*headers, (b"content-type", b"text/plain; charset=utf-8")]
    start = [*headers, (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
