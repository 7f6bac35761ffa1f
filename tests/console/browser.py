"""A real browser for the console's tests: Debian's ``chromium`` driven by Playwright for Python.

Playwright only drives the system Chromium (``executable_path``); nothing here downloads a
browser, and ``playwright install`` is never needed. Without Chromium the tests skip with the
install step, as for other system tools (tests/system_tools.py), or fail under CI's
SEALBOX_REQUIRE_SYSTEM_TOOLS=1, so CI never passes without a browser. Without Playwright (a
dev dependency) they fail.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.system_tools import missing_system_tool

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route, ViewportSize

# Set before Playwright is imported: never fetch a browser, never look for downloaded ones.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
os.environ.setdefault("PLAYWRIGHT_BROWSERS_PATH", "0")

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_PACKAGE = "chromium"  # Debian's package; its binary is /usr/bin/chromium
# --no-sandbox: tests run as root in a container, where Chromium refuses to start its
# sandbox (it needs an unprivileged user and user namespaces). The pages loaded are our own.
# --disable-dev-shm-usage: a container's /dev/shm is often too small for the renderer.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-dev-shm-usage")
DEFAULT_TIMEOUT_MS = 15_000  # a failing wait fails in seconds, not after Playwright's 30 s
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


def chromium_path() -> str:
    """The Chromium to drive: $SEALBOX_CHROMIUM, else ``chromium`` on PATH."""
    chosen = os.environ.get("SEALBOX_CHROMIUM") or shutil.which("chromium")
    if not chosen or not os.access(chosen, os.X_OK):
        missing_system_tool(
            f"no Chromium: install Debian's package (apt-get install -y {CHROMIUM_PACKAGE}) "
            "or point SEALBOX_CHROMIUM at a chromium binary"
        )
    return chosen


def output_dir() -> Path:
    """Where the console tests leave screenshots: $SEALBOX_TEST_OUTPUT/console, by default
    tests-output/console in the repository (created when missing)."""
    base = Path(os.environ.get("SEALBOX_TEST_OUTPUT") or REPO / "tests-output")
    directory = base / "console"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def save_screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """A PNG of ``page`` as ``<output_dir>/<name>.png``; returns its path."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "page"
    path = output_dir() / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def serve_files(
    page: Page | BrowserContext, prefix: str, files: Mapping[str, tuple[str, bytes]]
) -> None:
    """Answer GETs of ``prefix + name`` from ``files`` (name -> (content type, body)) inside
    the browser, so a test page can share a real server's origin without the server
    serving it; any other name under ``prefix`` is a 404."""

    def answer(route: Route) -> None:
        name = route.request.url[len(prefix) :].split("?", 1)[0]
        if route.request.method == "GET" and name in files:
            content_type, body = files[name]
            route.fulfill(status=200, content_type=content_type, body=body)
        else:
            route.fulfill(status=404, content_type="text/plain", body=b"not found")

    page.route(re.compile("^" + re.escape(prefix)), answer)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless system Chromium per test module (tests take their own contexts). Not
    per session: while Playwright's sync API is open, the main thread has a running event
    loop, and later tests' ``asyncio.run`` would fail."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "Playwright for Python is missing: pip install 'playwright' (the dev extra has it; "
            f"the browser is Debian's {CHROMIUM_PACKAGE} package, never `playwright install`)",
            pytrace=False,
        )
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile for one test: its own sessionStorage, cookies and cache."""
    created = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    created.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield created
    finally:
        created.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in the test's own :func:`context` (closed with it)."""
    return context.new_page()


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """``screenshot(page, name)`` saves a PNG under :func:`output_dir` and returns its path."""
    return save_screenshot
