"""The console's shell in a real Chromium against a real Sealbox server: sign-in (good key,
wrong secret, unknown key, a user without permissions), where the credentials are kept,
sign-out, keyboard use, the narrow layout, and what the page loads and sends.

The helpers here (sign_in, watch, docs_screenshot, …) are shared by the other console
browser tests.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.console.browser import REPO, serve_files
from tests.server.harness import DEV_ACCOUNT, Credentials, InProcessServer, error_of, module_server

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request, ViewportSize

STATIC = REPO / "src" / "sealbox" / "console" / "static"
STORAGE_KEY = "sealbox.console.credentials"
NARROW: ViewportSize = {"width": 390, "height": 844}
WIDE: ViewportSize = {"width": 1280, "height": 800}
# Set it (e.g. to docs/console) to refresh the documentation's screenshots from a test run.
DOCS_VARIABLE = "SEALBOX_CONSOLE_DOCS_SCREENSHOTS"
# The server's answers to a wrong secret and an unknown key, word for word.
WRONG_SECRET = (
    "InvalidSignatureException: The request signature we calculated does not match the "
    "signature you provided. Check your AWS Secret Access Key and signing method. Consult the "
    "service documentation for details."
)
UNKNOWN_KEY = "UnrecognizedClientException: The security token included in the request is invalid."
_accounts = itertools.count(1)


def fresh_account(prefix: str = "8") -> str:
    """An account of the test's own on a module's server: what it sees is what it made."""
    return f"{prefix}{next(_accounts):011d}"


def console_url(server: InProcessServer, route: str = "") -> str:
    return f"{server.endpoint}/console/{route}"


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def sign_in(page: Page, server: InProcessServer, credentials: Credentials) -> None:
    """The sign-in form, filled in and sent; waits until the console has moved on."""
    page.goto(console_url(server))
    page.get_by_label("Access key ID", exact=True).fill(credentials.access_key_id)
    page.get_by_label("Secret access key", exact=True).fill(credentials.secret_access_key)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"#/keys$"))


def heading(page: Page, name: str) -> Any:
    return page.get_by_role("heading", level=1, name=name, exact=True)


def alert(page: Page) -> Any:
    return page.get_by_role("alert")


def stored(page: Page) -> dict[str, Any]:
    """What the page keeps in its browser storage and cookies."""
    storage: dict[str, Any] = page.evaluate(
        """(key) => ({session: sessionStorage.getItem(key), sessionLength: sessionStorage.length,
                      localLength: localStorage.length, cookie: document.cookie})""",
        STORAGE_KEY,
    )
    storage["cookies"] = page.context.cookies()
    return storage


def body_width(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def docs_screenshot(page: Page, name: str) -> Path | None:
    """With $SEALBOX_CONSOLE_DOCS_SCREENSHOTS set, ``<that directory>/<name>.png`` (the
    viewport); normal runs never write into the repository's docs."""
    target = os.environ.get(DOCS_VARIABLE)
    if not target:
        return None
    directory = Path(target) if Path(target).is_absolute() else REPO / target
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@dataclass
class Watched:
    """What a page did: the requests it sent, and what went wrong in it."""

    requests: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == []


def watch(page: Page) -> Watched:
    """Records the page's requests, uncaught errors and console errors (but Chromium's own
    note of each 4xx answer, which the API's refusals cause)."""
    watched = Watched()
    page.on("request", lambda request: watched.requests.append(request))
    page.on("pageerror", lambda error: watched.errors.append(f"pageerror: {error}"))

    def noted(message: Any) -> None:
        text = message.text
        if message.type in ("error", "warning") and not text.startswith("Failed to load resource"):
            watched.errors.append(f"console {message.type}: {text}")

    page.on("console", noted)
    return watched


@pytest.fixture
def watched(page: Page) -> Iterator[Watched]:
    """The page's record; a test fails if the page threw or logged an error."""
    record = watch(page)
    yield record
    record.assert_clean()


server = module_server("console_shell")


# -- signing in ---------------------------------------------------------------------------------


def test_a_good_key_signs_in_to_the_keys_page_and_sign_out_forgets_it(
    page: Page, server: InProcessServer, watched: Watched, screenshot: Callable[..., Path]
) -> None:
    admin = server.credentials(fresh_account(), "admin")
    key_id = server.client(admin).create_key()["KeyMetadata"]["KeyId"]
    page.goto(console_url(server))
    expect(heading(page, "Sign in to Sealbox")).to_be_visible()
    expect(page.get_by_label("Region", exact=True)).to_have_value("us-east-1")
    screenshot(page, "shell sign-in 1280")

    sign_in(page, server, admin)
    expect(heading(page, "Keys")).to_be_visible()
    expect(page.get_by_role("table", name="Keys").get_by_role("link", name=key_id)).to_be_visible()
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Keys", exact=True)).to_have_attribute("href", "#/keys")
    expect(nav.get_by_role("link", name="Audit", exact=True)).to_have_attribute("href", "#/audit")
    expect(page.get_by_role("banner")).to_contain_text(f"Signed in as {admin.access_key_id}")
    screenshot(page, "shell keys 1280")

    # in this tab's sessionStorage only: no localStorage, no cookie
    kept = stored(page)
    assert json.loads(kept["session"]) == {
        "accessKeyId": admin.access_key_id,
        "secretAccessKey": admin.secret_access_key,
        "region": "us-east-1",
    }
    assert (kept["sessionLength"], kept["localLength"], kept["cookie"], kept["cookies"]) == (
        1,
        0,
        "",
        [],
    )

    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(heading(page, "Sign in to Sealbox")).to_be_visible()
    assert stored(page)["session"] is None and stored(page)["sessionLength"] == 0
    page.goto(console_url(server, "#/keys"))  # a page of the console, signed out: sign in first
    page.wait_for_url(re.compile(r"#/signin$"))
    expect(heading(page, "Sign in to Sealbox")).to_be_visible()


def test_a_wrong_secret_is_refused_with_the_apis_message_and_nothing_is_kept(
    page: Page, server: InProcessServer, watched: Watched
) -> None:
    admin = server.credentials(fresh_account(), "admin")
    wrong = admin.secret_access_key[:-1] + ("A" if admin.secret_access_key[-1] != "A" else "B")
    sign_in_fails(page, server, Credentials(admin.access_key_id, wrong, admin.arn))
    expect(alert(page)).to_have_text(WRONG_SECRET)


def test_an_unknown_access_key_is_refused_with_the_apis_message(
    page: Page, server: InProcessServer, watched: Watched
) -> None:
    admin = server.credentials(fresh_account(), "admin")
    sign_in_fails(page, server, Credentials("AKIA" + "Z" * 16, admin.secret_access_key, admin.arn))
    expect(alert(page)).to_have_text(UNKNOWN_KEY)


def sign_in_fails(page: Page, server: InProcessServer, credentials: Credentials) -> None:
    page.goto(console_url(server))
    page.get_by_label("Access key ID", exact=True).fill(credentials.access_key_id)
    page.get_by_label("Secret access key", exact=True).fill(credentials.secret_access_key)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(alert(page)).to_be_visible()
    assert page.url.endswith("#/signin")
    expect(heading(page, "Sign in to Sealbox")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_enabled()
    kept = stored(page)
    assert (kept["session"], kept["sessionLength"], kept["localLength"], kept["cookies"]) == (
        None,
        0,
        0,
        [],
    )


def test_a_user_without_permissions_sees_the_apis_access_denied_messages(
    page: Page, server: InProcessServer, watched: Watched
) -> None:
    account = fresh_account()
    kms = server.client(server.credentials(account, "admin"))
    key_id = kms.create_key(Description="not for bob")["KeyMetadata"]["KeyId"]
    bob = server.credentials(account, "bob", admin=False)
    listing = error_of(server.client(bob).list_keys)
    assert listing[0] == "AccessDeniedException"

    sign_in(page, server, bob)  # the signature is good: bob is signed in
    expect(heading(page, "Keys")).to_be_visible()
    expect(alert(page)).to_have_text(f"{listing[0]}: {listing[1]}")
    # no data, and nothing that reads as "there are no keys"
    keys = page.get_by_role("table", name="Keys")
    expect(keys.get_by_role("link")).to_have_count(0)
    expect(keys).not_to_contain_text("No keys")
    expect(page.get_by_text(key_id)).to_have_count(0)

    page.get_by_role("navigation").get_by_role("link", name="Audit", exact=True).click()
    expect(heading(page, "Audit")).to_be_visible()
    expect(alert(page)).to_have_text(
        f"AccessDeniedException: User: {bob.arn} is not authorized to perform: "
        "sealbox:LookupEvents on resource: * because no identity-based policy allows the "
        "sealbox:LookupEvents action"
    )
    expect(page.get_by_role("table", name="Audit events")).to_have_count(0)
    expect(page.get_by_role("img", name="Requests and errors per minute")).to_have_count(0)
    expect(page.locator("main [role=status]")).to_have_text("")  # no "verified" line


# -- keyboard, narrow screens -------------------------------------------------------------------


def focused_name(page: Page) -> str:
    name: str = page.evaluate(
        """() => {
            const a = document.activeElement;
            return (a.labels && a.labels[0] ? a.labels[0].textContent : a.textContent).trim();
        }"""
    )
    return name


def test_the_keyboard_alone_signs_in(page: Page, server: InProcessServer, watched: Watched) -> None:
    admin = server.credentials(fresh_account(), "admin")
    page.goto(console_url(server))
    expect(heading(page, "Sign in to Sealbox")).to_be_visible()
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(focused_name(page))
    assert order == ["Access key ID", "Secret access key", "Region", "Sign in"]

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused_name(page) == "Access key ID"
    page.keyboard.type(admin.access_key_id)
    page.keyboard.press("Tab")
    page.keyboard.type(admin.secret_access_key)
    page.keyboard.press("Enter")  # Enter in a field sends the form
    expect(heading(page, "Keys")).to_be_visible()
    # the router moved focus to the new page's heading; Tab goes on into the page
    assert focused_name(page) == "Keys"


def test_the_pages_fit_a_390_pixel_screen(
    page: Page, server: InProcessServer, watched: Watched, screenshot: Callable[..., Path]
) -> None:
    admin = server.credentials(fresh_account(), "admin")
    kms = server.client(admin)
    for number in range(3):
        key = kms.create_key(Description=f"a key with a long description, number {number}")
        kms.create_alias(
            AliasName=f"alias/narrow-{number}", TargetKeyId=key["KeyMetadata"]["KeyId"]
        )
    page.set_viewport_size(NARROW)
    page.goto(console_url(server))
    expect(heading(page, "Sign in to Sealbox")).to_be_visible()
    assert body_width(page) <= NARROW["width"]
    screenshot(page, "shell sign-in 390")
    docs_screenshot(page, "signin-390")

    sign_in(page, server, admin)
    expect(page.get_by_role("table", name="Keys")).to_contain_text("alias/narrow-2")
    assert body_width(page) <= NARROW["width"]
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_in_viewport()
    screenshot(page, "shell keys 390")


# -- what the page loads and sends --------------------------------------------------------------


def test_the_console_loads_only_its_own_files_and_never_sends_the_secret(
    page: Page, server: InProcessServer, watched: Watched
) -> None:
    admin = server.credentials(fresh_account(), "admin")
    response = page.goto(console_url(server))
    assert response is not None and response.status == 200
    headers = response.headers
    assert (headers["x-content-type-options"], headers["referrer-policy"]) == (
        "nosniff",
        "no-referrer",
    )
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]

    sign_in(page, server, admin)
    expect(page.get_by_role("table", name="Keys")).to_be_visible()
    page.get_by_role("navigation").get_by_role("link", name="Audit", exact=True).click()
    expect(page.get_by_role("table", name="Audit events")).to_be_visible()

    assert watched.requests
    for request in watched.requests:
        assert request.url.startswith(server.endpoint + "/"), request.url  # no other origin
        sent = request.url + json.dumps(request.headers) + (request.post_data or "")
        assert admin.secret_access_key not in sent, request.url
        if request.method == "POST":  # every API call is signed with the operator's key
            assert request.url == server.endpoint + "/"
            assert request.headers["authorization"].startswith(
                f"AWS4-HMAC-SHA256 Credential={admin.access_key_id}/"
            )
        else:
            assert request.url.startswith(server.endpoint + "/console/"), request.url


def test_an_unknown_page_says_so(page: Page, server: InProcessServer, watched: Watched) -> None:
    sign_in(page, server, server.credentials(DEV_ACCOUNT, "shell"))
    page.goto(console_url(server, "#/nothing/here"))
    expect(heading(page, "Page not found")).to_be_visible()
    page.get_by_role("link", name="Go to the keys", exact=True).click()
    expect(heading(page, "Keys")).to_be_visible()


def test_outside_a_secure_context_the_sign_in_page_says_why_nothing_can_be_signed(
    page: Page, watched: Watched
) -> None:
    """Over plain http from another host the browser has no WebCrypto: the console's files
    (as shipped) are served by the browser itself on such an origin."""
    types = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
    files = {
        p.name: (types[p.suffix], p.read_bytes()) for p in STATIC.iterdir() if p.suffix in types
    }
    files[""] = files["index.html"]
    serve_files(page, "http://console.test/console/", files)
    page.goto("http://console.test/console/")
    expect(heading(page, "Sign in to Sealbox")).to_be_visible()
    assert page.evaluate("window.isSecureContext") is False
    expect(alert(page)).to_have_text(re.compile(r"^This page is not a secure context"))
    page.get_by_label("Access key ID", exact=True).fill("AKIA" + "A" * 16)
    page.get_by_label("Secret access key", exact=True).fill("secret")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(alert(page)).to_contain_text("https://")
    assert stored(page)["sessionLength"] == 0
    assert [
        r.url for r in watched.requests if not r.url.startswith("http://console.test/console/")
    ] == []
