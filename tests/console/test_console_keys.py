"""The console's keys pages (keys.js, key.js) in a real Chromium against a real server.

Every page is the console as ``sealbox serve`` serves it (``GET /console/``), signed in
through its sign-in page; each action is checked with boto3 against the same server, and
each refusal shows the API's own message. One signed-in tab serves the whole module.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from tests.console.browser import DEFAULT_TIMEOUT_MS, VIEWPORT
from tests.server.harness import (
    DEV_ACCOUNT,
    Credentials,
    InProcessServer,
    error_of,
    module_kms,
    module_server,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, ViewportSize

server = module_server("console_keys")
kms = module_kms
NARROW: ViewportSize = {"width": 390, "height": 844}
TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def sign_in(page: Page, server: InProcessServer, credentials: Credentials) -> None:
    page.goto(server.endpoint + "/console/")
    expect(page.get_by_role("heading", name="Sign in to Sealbox")).to_be_visible()
    page.get_by_label("Access key ID").fill(credentials.access_key_id)
    page.get_by_label("Secret access key").fill(credentials.secret_access_key)
    page.get_by_role("button", name="Sign in").click()


def open_tab(browser: Browser) -> tuple[BrowserContext, Page, list[str]]:
    """A context and tab like the ``page`` fixture's, noting every uncaught script error."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    return context, tab, errors


@pytest.fixture(scope="module")
def alice(server: InProcessServer) -> Credentials:
    return server.credentials(DEV_ACCOUNT, "alice")


@pytest.fixture(scope="module")
def session(browser: Browser, server: InProcessServer, alice: Credentials) -> Iterator[Any]:
    context, tab, errors = open_tab(browser)
    try:
        sign_in(tab, server, alice)
        expect(tab.get_by_role("heading", name="Keys", exact=True)).to_be_visible()
        yield tab, errors
    finally:
        context.close()


@pytest.fixture
def console(session: Any) -> Iterator[Page]:
    """The module's signed-in tab; a test fails if a script threw while it ran."""
    tab, errors = session
    tab.set_viewport_size(VIEWPORT)
    yield tab
    assert errors == []


def go(page: Page, hash_: str) -> None:
    page.evaluate("(h) => { location.hash = h; }", hash_)


def open_keys(page: Page) -> Locator:
    go(page, "#/keys-reload")  # an unknown route first, so #/keys renders afresh
    go(page, "#/keys")
    expect(page.get_by_role("heading", name="Keys", exact=True)).to_be_visible()
    table = page.get_by_role("table", name="Keys")
    expect(table.get_by_text("Loading…")).to_have_count(0)
    return table


def open_key(page: Page, key_id: str) -> None:
    go(page, f"#/keys/{key_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(key_id)
    expect(page.get_by_role("table", name="Recent events")).to_be_visible()  # loaded last


def row_cells(table: Locator, key_id: str) -> list[str]:
    row = table.get_by_role("row").filter(
        has=table.page.get_by_role("link", name=key_id, exact=True)
    )
    expect(row).to_have_count(1)
    return [text.strip() for text in row.get_by_role("cell").all_inner_texts()]


def alert_text(scope: Locator) -> str:
    alert = scope.get_by_role("alert")
    expect(alert).to_have_count(1)
    return str(alert.inner_text()).strip()


def section(page: Page, title: str) -> Locator:
    return page.locator("section").filter(has=page.get_by_role("heading", name=title, exact=True))


def event_names(page: Page) -> list[str]:
    table = page.get_by_role("table", name="Recent events")
    return [c.strip() for c in table.locator("tbody tr td:nth-child(2)").all_inner_texts()]


def expect_event(page: Page, name: str, error: str = "") -> None:
    """The key's recent events show ``name`` (with ``error`` in its Error column)."""
    rows = page.get_by_role("table", name="Recent events").locator("tbody tr")
    match = rows.filter(has=page.get_by_role("cell", name=name, exact=True))
    if error:
        match = match.filter(has=page.get_by_role("cell", name=error, exact=True))
    expect(match.first).to_be_visible()


def narrow_fits(page: Page) -> bool:
    width: int = page.evaluate("() => document.documentElement.scrollWidth")
    return width <= NARROW["width"]


# -- the keys table --------------------------------------------------------------------------------


def test_the_table_lists_searches_and_pages(
    console: Page, kms: Any, screenshot: Callable[..., Path]
) -> None:
    marker = uuid.uuid4().hex[:8]
    rotating = kms.create_key(Description=f"rotating {marker}")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=rotating["KeyId"], RotationPeriodInDays=90)
    kms.create_alias(AliasName=f"alias/table-{marker}", TargetKeyId=rotating["KeyId"])
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.disable_key(KeyId=signing["KeyId"])
    markup = kms.create_key(Description=f"<b>bold</b> {marker}")["KeyMetadata"]
    for _ in range(25):
        kms.create_key(Description=f"filler {marker}")
    all_ids = [k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]]
    assert len(all_ids) > 25

    table = open_keys(console)
    ids = table.locator("tbody tr td:nth-child(2)")
    previous = console.get_by_role("button", name="Previous page")
    next_ = console.get_by_role("button", name="Next page")

    # paging: 25 per page, in ListKeys' order; Previous comes back to the first page
    expect(ids).to_have_count(25)
    assert [t.strip() for t in ids.all_inner_texts()] == all_ids[:25]
    expect(previous).to_be_disabled()
    screenshot(console, "keys list 1280")
    next_.click()
    expect(ids.first).to_have_text(all_ids[25])
    assert [t.strip() for t in ids.all_inner_texts()] == all_ids[25:]
    expect(next_).to_be_disabled()
    previous.click()
    expect(ids.first).to_have_text(all_ids[0])
    expect(previous).to_be_disabled()

    def on_page_of(key_id: str) -> None:
        page = all_ids.index(key_id) // 25
        if page == 1 and previous.is_disabled():
            next_.click()
        elif page == 0 and not previous.is_disabled():
            previous.click()
        expect(ids.first).to_have_text(all_ids[page * 25])

    # each column, as DescribeKey, ListAliases and GetKeyRotationStatus say
    on_page_of(rotating["KeyId"])
    cells = row_cells(table, rotating["KeyId"])
    assert cells[:6] == [
        f"alias/table-{marker}",
        rotating["KeyId"],
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        "Enabled",
        "Enabled (every 90 days)",
    ]
    assert TIME.match(cells[6])
    on_page_of(signing["KeyId"])
    assert row_cells(table, signing["KeyId"])[:6] == [
        "",
        signing["KeyId"],
        "ECC_NIST_P256",
        "SIGN_VERIFY",
        "Disabled",
        "Not supported",
    ]

    # search filters the loaded page by alias, id and description
    body_rows = table.locator("tbody tr")
    search = console.get_by_label("Search keys")
    on_page_of(rotating["KeyId"])
    search.fill(f"TABLE-{marker}")
    expect(body_rows).to_have_count(1)
    row_cells(table, rotating["KeyId"])
    search.fill(rotating["KeyId"][:13])
    expect(body_rows).to_have_count(1)
    row_cells(table, rotating["KeyId"])
    search.fill(f"rotating {marker}")
    expect(body_rows).to_have_count(1)
    row_cells(table, rotating["KeyId"])
    search.fill("no such key anywhere")
    expect(table.locator("tbody")).to_have_text("No keys match.")
    search.fill("")
    expect(body_rows).not_to_have_count(1)
    on_page_of(markup["KeyId"])
    search.fill("<b>bold</b>")  # API text stays text, never markup
    expect(body_rows).to_have_count(1)
    row_cells(table, markup["KeyId"])
    assert console.locator("main b").count() == 0
    search.fill("")

    console.set_viewport_size(NARROW)
    assert narrow_fits(console)
    screenshot(console, "keys list 390")


# -- creating keys ---------------------------------------------------------------------------------


def create_form(page: Page) -> Locator:
    open_keys(page)
    page.get_by_role("button", name="Create key").click()
    form = page.get_by_role("form", name="Create key")
    expect(form).to_be_visible()
    return form


def created_key_id(page: Page) -> str:
    page.wait_for_url(re.compile(r"#/keys/[0-9a-f-]{36}$"))
    key_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(key_id)
    return key_id


def test_create_a_symmetric_key_with_tags_by_keyboard_alone(console: Page, kms: Any) -> None:
    """From the page's heading, Tab and Enter reach every control in reading order."""
    open_keys(console)
    keyboard = console.keyboard
    console.get_by_role("heading", name="Keys", exact=True).focus()
    keyboard.press("Tab")
    expect(console.get_by_role("button", name="Create key")).to_be_focused()
    keyboard.press("Enter")
    form = console.get_by_role("form", name="Create key")
    expect(form.get_by_label("Description", exact=True)).to_be_focused()  # the form opened
    keyboard.type("made in the console")
    for label in ("Key spec", "Key usage", "Tags"):
        keyboard.press("Tab")
        expect(form.get_by_label(label, exact=True)).to_be_focused()
    keyboard.type("team=payments\n\nenv = test\n")  # Enter in a textarea: a new line
    keyboard.press("Tab")
    expect(form.get_by_label("Key policy (optional)")).to_be_focused()
    keyboard.press("Tab")
    expect(form.get_by_role("button", name="Create", exact=True)).to_be_focused()
    keyboard.press("Enter")
    key_id = created_key_id(console)

    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (meta["Description"], meta["KeySpec"], meta["KeyUsage"]) == (
        "made in the console",
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
    )
    tags = kms.list_resource_tags(KeyId=key_id)["Tags"]
    assert sorted((t["TagKey"], t["TagValue"]) for t in tags) == [
        ("env", "test"),
        ("team", "payments"),
    ]


def test_create_a_signing_key_with_a_policy(console: Page, kms: Any, alice: Credentials) -> None:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "console",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{DEV_ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        },
        indent=1,
    )
    form = create_form(console)
    form.get_by_label("Key spec").select_option("RSA_2048")
    form.get_by_label("Key usage").select_option("SIGN_VERIFY")
    form.get_by_label("Key policy (optional)").fill(policy)
    form.get_by_role("button", name="Create", exact=True).click()
    key_id = created_key_id(console)

    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (meta["KeySpec"], meta["KeyUsage"]) == ("RSA_2048", "SIGN_VERIFY")
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == (
        json.loads(policy)
    )
    details = section(console, "Details")
    expect(details.get_by_role("button", name="Rotate now")).to_have_count(0)
    expect(section(console, "Rotation history")).to_contain_text(
        "Only symmetric encryption keys rotate."
    )


def test_a_spec_and_usage_mismatch_shows_the_api_error(console: Page, kms: Any) -> None:
    before = len(kms.list_keys(Limit=1000)["Keys"])
    code, message = error_of(kms.create_key, KeySpec="RSA_2048", KeyUsage="GENERATE_VERIFY_MAC")
    assert code == "ValidationException"
    form = create_form(console)
    form.get_by_label("Key spec").select_option("RSA_2048")
    form.get_by_label("Key usage").select_option("GENERATE_VERIFY_MAC")
    form.get_by_role("button", name="Create", exact=True).click()
    assert alert_text(form) == f"{code}: {message}"
    assert console.url.endswith("#/keys")
    assert len(kms.list_keys(Limit=1000)["Keys"]) == before


# -- one key's page --------------------------------------------------------------------------------


def test_lifecycle_rotation_tags_and_aliases(
    console: Page, kms: Any, screenshot: Callable[..., Path]
) -> None:
    key_id = kms.create_key(Description="key page")["KeyMetadata"]["KeyId"]
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    open_key(console, key_id)
    details = section(console, "Details")
    expect(details.locator("dd").first).to_have_text(key_id)
    expect(details).to_contain_text(arn)
    link = console.get_by_role("link", name="All events for this key")
    assert link.get_attribute("href") == "#/audit?key=" + quote(arn, safe="")

    def state() -> str:
        return str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"])

    details.get_by_role("button", name="Disable key").click()
    expect(details.get_by_role("button", name="Enable key")).to_be_visible()
    assert state() == "Disabled"
    expect_event(console, "DisableKey")
    details.get_by_role("button", name="Enable key").click()
    expect(details.get_by_role("button", name="Disable key")).to_be_visible()
    assert state() == "Enabled"
    expect_event(console, "EnableKey")

    # a waiting period the API refuses: its message, exactly; nothing scheduled
    code, message = error_of(kms.schedule_key_deletion, KeyId=key_id, PendingWindowInDays=3)
    waiting = details.get_by_label("Waiting period (days)")
    expect(waiting).to_have_value("30")
    waiting.fill("3")
    details.get_by_role("button", name="Schedule deletion").click()
    assert alert_text(details) == f"{code}: {message}"
    assert state() == "Enabled"

    details.get_by_label("Waiting period (days)").fill("7")
    details.get_by_role("button", name="Schedule deletion").click()
    expect(details.get_by_role("button", name="Cancel deletion")).to_be_visible()
    expect(details.get_by_role("alert")).to_have_count(0)
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (meta["KeyState"], meta["PendingDeletionWindowInDays"]) == ("PendingDeletion", 7)
    expect(details.locator("dt", has_text="Deletion date")).to_have_count(1)
    expect_event(console, "ScheduleKeyDeletion")
    details.get_by_role("button", name="Cancel deletion").click()
    expect(details.get_by_role("button", name="Schedule deletion")).to_be_visible()
    assert state() == "Disabled"  # as in AWS: a cancelled deletion leaves the key disabled
    expect_event(console, "CancelKeyDeletion")
    details.get_by_role("button", name="Enable key").click()
    expect(details.get_by_role("button", name="Disable key")).to_be_visible()

    # rotate on demand, then see it in the history
    history = console.get_by_role("table", name="Rotation history")
    expect(history).to_contain_text("Never rotated.")
    details.get_by_role("button", name="Rotate now").click()
    expect(history.locator("tbody tr")).to_contain_text("ON_DEMAND")
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert len(rotations) == 1
    expect(history.locator("tbody tr")).to_have_count(1)
    expect(history.locator("tbody tr")).to_contain_text(rotations[0]["KeyMaterialId"])
    expect_event(console, "RotateKeyOnDemand")

    # tags
    tags = section(console, "Tags")
    tags.get_by_label("Tag key").fill("owner")
    tags.get_by_label("Tag value").fill("console")
    tags.get_by_role("button", name="Add tag").click()
    expect(tags.get_by_text("owner = console")).to_be_visible()
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [
        {"TagKey": "owner", "TagValue": "console"}
    ]
    expect_event(console, "TagResource")
    tags.get_by_role("button", name="Remove tag owner").click()
    expect(tags.get_by_text("No tags.")).to_be_visible()
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == []
    expect_event(console, "UntagResource")

    # aliases: add (the page's title becomes it), delete, and move one here from another key
    alias = f"alias/console-{uuid.uuid4().hex[:8]}"
    aliases = section(console, "Aliases")
    aliases.get_by_label("New alias name").fill(alias)
    aliases.get_by_role("button", name="Add alias").click()
    expect(console.get_by_role("heading", level=1)).to_have_text(alias)
    assert [a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"]] == [alias]
    expect_event(console, "CreateAlias")
    screenshot(console, "key page 1280")
    console.set_viewport_size(NARROW)
    assert narrow_fits(console)
    screenshot(console, "key page 390")
    console.set_viewport_size(VIEWPORT)

    aliases.get_by_role("button", name=f"Delete alias {alias}").click()
    expect(aliases.get_by_text("No aliases.")).to_be_visible()
    expect(console.get_by_role("heading", level=1)).to_have_text(key_id)
    assert kms.list_aliases(KeyId=key_id)["Aliases"] == []
    expect_event(console, "DeleteAlias")  # its record names the key the alias named

    other = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=other)
    aliases.get_by_label("New alias name").fill(alias)
    aliases.get_by_role("button", name="Add alias").click()  # taken: the API's words
    code, message = error_of(kms.create_alias, AliasName=alias, TargetKeyId=key_id)
    assert alert_text(aliases) == f"{code}: {message}"
    aliases.get_by_role("button", name="Move alias here").click()
    expect(console.get_by_role("heading", level=1)).to_have_text(alias)
    expect(aliases.get_by_role("alert")).to_have_count(0)
    assert [a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"]] == [alias]
    assert kms.list_aliases(KeyId=other)["Aliases"] == []
    expect_event(console, "UpdateAlias")


def test_policy_grants_and_recent_events(console: Page, kms: Any, server: InProcessServer) -> None:
    key_id = kms.create_key(Description="policies and grants")["KeyMetadata"]["KeyId"]
    open_key(console, key_id)
    policy = section(console, "Key policy")
    editor = policy.get_by_label("Key policy", exact=True)
    stored = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    expect(editor).to_have_value(json.dumps(json.loads(stored), indent=2))

    # a valid policy is saved as written
    document = json.loads(stored)
    document["Statement"].append(
        {
            "Sid": "console-test",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{DEV_ACCOUNT}:user/bob"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
        }
    )
    valid = json.dumps(document, indent=2)
    editor.fill(valid)
    policy.get_by_role("button", name="Save policy").click()
    expect(policy.get_by_role("status")).to_have_text("Policy saved")
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == valid
    expect_event(console, "PutKeyPolicy")

    # an invalid one: the API's MalformedPolicyDocumentException, word for word; nothing changes
    invalid = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}
    )
    code, message = error_of(kms.put_key_policy, KeyId=key_id, PolicyName="default", Policy=invalid)
    assert code == "MalformedPolicyDocumentException"
    editor.fill(invalid)
    policy.get_by_role("button", name="Save policy").click()
    assert alert_text(policy) == f"{code}: {message}"
    expect(policy.get_by_text("Policy saved")).to_have_count(0)
    expect(editor).to_have_value(invalid)  # kept for fixing
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == valid
    expect_event(console, "PutKeyPolicy", "MalformedPolicyDocumentException")

    # a grant for another principal, limited to one encryption context; then revoked
    bob = server.credentials(DEV_ACCOUNT, "bob", admin=False)
    grants = section(console, "Grants")
    grants.get_by_label("Grantee principal").fill(bob.arn)
    grants.get_by_label("Encrypt", exact=True).check()
    grants.get_by_label("Decrypt", exact=True).check()
    grants.get_by_label("Encryption context (equals)").fill("purpose=console\nstage=test")
    grants.get_by_label("Grant name").fill("console-grant")
    grants.get_by_role("button", name="Create grant").click()
    expect(grants.get_by_role("status")).to_have_text(re.compile(r"^Grant [0-9a-f]{64} created$"))
    listed = kms.list_grants(KeyId=key_id)["Grants"]
    assert len(listed) == 1
    grant = listed[0]
    assert (grant["GranteePrincipal"], sorted(grant["Operations"]), grant["Name"]) == (
        bob.arn,
        ["Decrypt", "Encrypt"],
        "console-grant",
    )
    assert grant["Constraints"] == {
        "EncryptionContextEquals": {"purpose": "console", "stage": "test"}
    }
    table = console.get_by_role("table", name="Grants")
    row = table.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(grant["GrantId"])
    expect(row).to_contain_text("EncryptionContextEquals: purpose=console, stage=test")
    expect(grants.get_by_label("Encrypt", exact=True)).not_to_be_checked()  # the form is reset
    expect_event(console, "CreateGrant")

    grants.get_by_role("button", name=f"Revoke grant {grant['GrantId']}").click()
    expect(table.locator("tbody")).to_have_text("No grants.")
    assert kms.list_grants(KeyId=key_id)["Grants"] == []
    expect_event(console, "RevokeGrant")

    # the recent events: this key's, newest first, at most ten, the actions above among them
    names = event_names(console)
    assert 0 < len(names) <= 10
    assert names.index("RevokeGrant") < names.index("CreateGrant")


def test_a_user_without_permissions_sees_the_api_refusals(
    browser: Browser, server: InProcessServer, kms: Any
) -> None:
    nobody = server.credentials(DEV_ACCOUNT, "carol", admin=False)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    boto = server.client(nobody)
    listing = error_of(boto.list_keys, Limit=25)
    describing = error_of(boto.describe_key, KeyId=key_id)
    context, tab, errors = open_tab(browser)
    try:
        sign_in(tab, server, nobody)
        expect(tab.get_by_role("heading", name="Keys", exact=True)).to_be_visible()
        assert alert_text(tab.locator("main")) == "{}: {}".format(*listing)
        expect(tab.get_by_role("table", name="Keys").locator("tbody tr")).to_have_count(1)
        go(tab, f"#/keys/{key_id}")
        expect(tab.get_by_role("heading", level=1)).to_have_text(key_id)
        assert alert_text(tab.locator("main")) == "{}: {}".format(*describing)
        assert errors == []
    finally:
        context.close()
