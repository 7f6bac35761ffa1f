"""The console's audit page in a real Chromium against a real Sealbox server: calls made with
boto3 are found there newest first, each filter narrows the table, an event's full record
opens, the chain's verify status of the events shown is stated (an altered record is marked),
pages follow NextToken, and the per-minute chart is drawn.

Each test works in an account of its own, so what it sees is what it made (plus the
console's own calls: signing in, the keys page, the lookups).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sealbox.server.store.engine import SQLITE_FILE
from tests.console.test_console_shell import (
    NARROW,
    body_width,
    console_url,
    docs_screenshot,
    expect,
    fresh_account,
    heading,
    sign_in,
    watched,  # noqa: F401 - fixture
)
from tests.server.harness import Credentials, InProcessServer, build_service

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

# every test fails if its page threw or logged an error (the shell tests' fixture)
pytestmark = pytest.mark.usefixtures("watched")
CHART = "Requests and errors per minute"
ALL_VERIFIED = re.compile(r"^Chain verified for (\d+) of \1 events shown$")
COLUMNS = ["Time", "Event", "Principal", "Key", "Error", "Verified", "Record"]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console_audit")


@pytest.fixture(scope="module")
def server(directory: Path) -> Iterator[InProcessServer]:
    running = InProcessServer(build_service(directory))
    try:
        yield running
    finally:
        running.stop()


class Tenant:
    """An account of the test's own with an admin (credentials and a boto3 client)."""

    def __init__(self, server: InProcessServer) -> None:
        self.account = fresh_account("9")
        self.admin = server.credentials(self.account, "admin")
        self.kms = server.client(self.admin)


@pytest.fixture
def tenant(server: InProcessServer) -> Iterator[Tenant]:
    made = Tenant(server)
    try:
        yield made
    finally:
        made.kms.close()


def open_audit(
    page: Page, server: InProcessServer, credentials: Credentials, query: str = ""
) -> None:
    sign_in(page, server, credentials)
    if query:
        page.goto(console_url(server, f"#/audit?{query}"))
    else:
        page.get_by_role("navigation").get_by_role("link", name="Audit", exact=True).click()
    expect(heading(page, "Audit")).to_be_visible()
    wait_loaded(page)


def wait_loaded(page: Page) -> None:
    expect(page.locator("main [role=status]")).to_have_text(re.compile(r"^Chain verified for"))


def apply(page: Page, **filters: str) -> None:
    """Fill in the filters (the others emptied) and apply them."""
    labels = {
        "name": "Event name",
        "key": "Key",
        "principal": "Principal",
        "start": "From",
        "end": "To",
    }
    for name, label in labels.items():
        page.get_by_label(label, exact=True).fill(filters.get(name, ""))
    status = page.locator("main [role=status]")
    page.get_by_role("button", name="Apply filters", exact=True).click()
    expect(status).not_to_have_text("Loading events…")
    wait_loaded(page)


def rows(page: Page) -> list[dict[str, str]]:
    """The audit table's rows as {column: text}, top to bottom ([] when there is no table)."""
    table = page.get_by_role("table", name="Audit events")
    if not table.count():
        return []
    texts: list[list[str]] = table.locator("tbody tr:not(.detail)").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return [dict(zip(COLUMNS, cells, strict=True)) for cells in texts]


def names(page: Page) -> list[str]:
    return [row["Event"] for row in rows(page)]


def position(found: list[dict[str, str]], event: str, **where: str) -> int:
    for index, row in enumerate(found):
        if row["Event"] == event and all(row[k] == v for k, v in where.items()):
            return index
    raise AssertionError(f"no {event} row with {where} in {found}")


def chart(page: Page) -> Locator:
    return page.get_by_role("img", name=CHART, exact=True)


def test_calls_made_with_boto3_are_shown_newest_first(
    page: Page,
    server: InProcessServer,
    tenant: Tenant,
    screenshot: Callable[..., Path],
) -> None:
    key = tenant.kms.create_key(Description="audited")["KeyMetadata"]
    tenant.kms.create_alias(AliasName="alias/audited", TargetKeyId=key["KeyId"])
    tenant.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret")
    with pytest.raises(tenant.kms.exceptions.InvalidCiphertextException):
        tenant.kms.decrypt(CiphertextBlob=b"x" * 40)
    open_audit(page, server, tenant.admin)

    found = rows(page)
    failed = position(found, "Decrypt", Error="InvalidCiphertextException")
    encrypted = position(found, "Encrypt", Key=key["KeyId"], Error="—")
    created = position(found, "CreateKey", Key=key["KeyId"])
    assert failed < encrypted < created  # newest first
    times = [row["Time"] for row in found]
    assert times == sorted(times, reverse=True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", times[0])
    assert {row["Principal"] for row in found} == {"user/admin"}  # the ARN without its prefix
    principal = page.get_by_role("table", name="Audit events").locator("td[title]").first
    expect(principal).to_have_attribute("title", tenant.admin.arn)
    assert {row["Verified"] for row in found} == {"Verified"}
    assert (
        page.get_by_role("table", name="Audit events")
        .get_by_role("link", name=key["KeyId"])
        .first.get_attribute("href")
        == f"#/keys/{key['KeyId']}"
    )
    status = page.locator("main [role=status]").inner_text()
    assert status == f"Chain verified for {len(found)} of {len(found)} events shown"

    # the chart: one bar of requests per minute with events, the errors drawn over them
    expect(chart(page)).to_be_visible()
    assert chart(page).locator("rect.bar-requests").count() >= 1
    assert chart(page).locator("rect.bar-errors").count() >= 1
    assert chart(page).evaluate("node => node.namespaceURI") == "http://www.w3.org/2000/svg"
    expect(page.get_by_role("figure")).to_contain_text(f"{len(found)} requests and 1 error in")
    screenshot(page, "audit 1280")
    docs_screenshot(page, "audit")

    page.set_viewport_size(NARROW)
    page.reload()
    wait_loaded(page)
    assert body_width(page) <= NARROW["width"]
    expect(chart(page)).to_be_visible()
    screenshot(page, "audit 390")


def test_each_filter_narrows_the_table(page: Page, server: InProcessServer, tenant: Tenant) -> None:
    first = tenant.kms.create_key()["KeyMetadata"]
    second = tenant.kms.create_key()["KeyMetadata"]
    tenant.kms.encrypt(KeyId=first["KeyId"], Plaintext=b"1")
    tenant.kms.encrypt(KeyId=second["KeyId"], Plaintext=b"2")
    reader = server.credentials(tenant.account, "reader", admin=False)
    server.put_user_policy(
        tenant.account,
        "reader",
        "random",
        [{"Effect": "Allow", "Action": "kms:GenerateRandom", "Resource": "*"}],
    )
    server.client(reader).generate_random(NumberOfBytes=4)
    open_audit(page, server, tenant.admin)
    everything = rows(page)
    assert {"CreateKey", "Encrypt", "GenerateRandom", "ListKeys"} <= set(names(page))

    apply(page, name="Encrypt")
    assert [(r["Event"], r["Key"]) for r in rows(page)] == [
        ("Encrypt", second["KeyId"]),
        ("Encrypt", first["KeyId"]),
    ]
    assert page.url.endswith("#/audit?name=Encrypt")  # the filters are in the address

    apply(page, key=second["Arn"])
    keyed = rows(page)
    assert {"CreateKey", "Encrypt"} <= {r["Event"] for r in keyed}
    assert all(r["Key"] == second["KeyId"] for r in keyed), keyed
    apply(page, key=first["KeyId"])  # a key id works as well as an ARN
    assert rows(page) and all(r["Key"] == first["KeyId"] for r in rows(page))

    apply(page, principal="reader")  # a user name of the account, or an ARN
    assert [(r["Event"], r["Principal"]) for r in rows(page)] == [("GenerateRandom", "user/reader")]
    apply(page, principal=reader.arn)
    assert names(page) == ["GenerateRandom"]

    # one attribute at a time: the first filled in is sent, and the page says so
    apply(page, name="Encrypt", principal="reader")
    expect(page.get_by_text("this search uses Event name")).to_be_visible()
    assert set(names(page)) == {"Encrypt"}

    # From and To are UTC minutes; To covers its whole minute
    now = datetime.now(UTC)
    later = datetime.fromtimestamp(now.timestamp() + 120, UTC).strftime("%Y-%m-%dT%H:%M")
    earlier = datetime.fromtimestamp(now.timestamp() - 3600, UTC).strftime("%Y-%m-%dT%H:%M")
    apply(page, start=later)
    assert rows(page) == []
    expect(page.get_by_text("No events match these filters.")).to_be_visible()
    expect(page.locator("main [role=status]")).to_have_text(
        "Chain verified for 0 of 0 events shown"
    )
    apply(page, end=earlier)
    assert rows(page) == []
    apply(page, name="GenerateRandom", start=earlier, end=now.strftime("%Y-%m-%dT%H:%M"))
    assert names(page) == ["GenerateRandom"]

    page.get_by_role("button", name="Clear filters", exact=True).click()
    wait_loaded(page)
    expect(page.get_by_label("Event name", exact=True)).to_have_value("")
    assert len(rows(page)) > len(everything)  # everything again, and the lookups since


HOSTILE = '<img src=x onerror="window.__injected = 1"><script>window.__injected = 2</script>'


def test_an_event_opens_its_full_record(
    page: Page, server: InProcessServer, tenant: Tenant
) -> None:
    key = tenant.kms.create_key(Description=HOSTILE)["KeyMetadata"]
    encrypted = tenant.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"never shown")
    open_audit(page, server, tenant.admin, "name=Encrypt")
    expect(page.get_by_label("Event name", exact=True)).to_have_value("Encrypt")
    assert names(page) == ["Encrypt"]

    button = page.get_by_role("table", name="Audit events").get_by_role("button")
    # the button reads "Show event"; its accessible name adds the event id (visually hidden)
    event_id = (button.locator(".visually-hidden").text_content() or "").strip()
    shown = page.get_by_role("button", name=f"Show event {event_id}", exact=True)
    expect(shown).to_have_attribute("aria-expanded", "false")
    shown.click()
    expect(shown).to_have_attribute("aria-expanded", "true")
    region = page.get_by_role("region", name=f"Event {event_id}", exact=True)
    expect(region).to_be_visible()
    record = json.loads(region.locator("pre").inner_text())
    assert record["eventID"] == event_id
    assert record["eventName"] == "Encrypt"
    assert record["requestID"] == encrypted["ResponseMetadata"]["RequestId"]
    assert record["userIdentity"]["arn"] == tenant.admin.arn
    assert record["resources"][0]["ARN"] == key["Arn"]
    assert "never shown" not in region.inner_text()
    expect(region).to_contain_text("Verified: the record's MAC checks out in its chain.")
    shown.click()
    expect(region).to_have_count(0)

    # API text is only ever text: a description written as markup is shown, never run
    apply(page, name="CreateKey")
    page.get_by_role("table", name="Audit events").get_by_role("button").click()
    created = json.loads(page.locator(".event-detail pre").inner_text())
    assert created["requestParameters"]["description"] == HOSTILE
    assert page.evaluate("window.__injected") is None
    expect(page.locator("main img, main script")).to_have_count(0)


def test_the_chart_counts_requests_and_errors_per_minute(
    page: Page, server: InProcessServer
) -> None:
    """The chart module itself, as the console serves it, on made-up events spread over
    minutes (the server stamps records with the real time, so a test cannot spread them)."""
    page.goto(console_url(server))
    minute = 29_000_000  # 2025-02-20 ...
    drawn = page.evaluate(
        """async (m) => {
            const audit = await import("/console/audit.js");
            const at = (minute, second, error) =>
                ({EventTime: minute * 60 + second, ...(error ? {ErrorCode: "AccessDeniedException"} : {})});
            const events = [at(m + 5, 1, true), at(m + 5, 9, true), at(m + 2, 30), at(m, 59, true),
                            at(m, 3), at(m, 0)];
            const svg = audit.chart(events, 600);
            document.body.append(svg);
            const bars = (cls) => Array.from(svg.querySelectorAll("rect." + cls), (r) =>
                [Math.round(Number(r.getAttribute("x"))), Math.round(Number(r.getAttribute("height")))]);
            return {buckets: audit.perMinute(events), requests: bars("bar-requests"),
                    errors: bars("bar-errors"), role: svg.getAttribute("role"),
                    name: svg.getAttribute("aria-label"),
                    labels: Array.from(svg.querySelectorAll("text"), (t) => t.textContent),
                    empty: audit.chart([], 600).textContent};
        }""",
        minute,
    )
    assert drawn["buckets"] == [
        {"minute": minute, "requests": 3, "errors": 1},
        {"minute": minute + 2, "requests": 1, "errors": 0},
        {"minute": minute + 5, "requests": 2, "errors": 2},
    ]
    (x0, h0), (x2, h2), (x5, h5) = drawn["requests"]
    assert x0 < x2 < x5 and h0 == 3 * h2 and h5 == 2 * h2  # one bar per minute, to scale
    assert drawn["errors"] == [[x0, h2], [x5, h5]]  # errors over their minute's bar
    assert (drawn["role"], drawn["name"]) == ("img", CHART)
    last = time.strftime("%H:%M", time.gmtime((minute + 5) * 60))
    assert f"{last} UTC" in drawn["labels"] and "3" in drawn["labels"]
    assert drawn["empty"] == "No events"


def test_an_altered_record_is_marked_not_verified(
    page: Page, server: InProcessServer, directory: Path, tenant: Tenant
) -> None:
    made = [
        tenant.kms.generate_random(NumberOfBytes=8)["ResponseMetadata"]["RequestId"]
        for _ in range(3)
    ]
    database = sqlite3.connect(directory / "data" / SQLITE_FILE)
    try:
        with database:
            changed = database.execute(
                'UPDATE audit_log SET record = replace(record, \'"userAgent":"\', '
                '\'"userAgent":"edited \') WHERE record LIKE ?',
                (f'%"requestID":"{made[1]}"%',),
            ).rowcount
    finally:
        database.close()
    assert changed == 1
    open_audit(page, server, tenant.admin, "name=GenerateRandom")
    assert [r["Verified"] for r in rows(page)] == ["Verified", "Not verified", "Verified"]
    expect(page.locator("main [role=status]")).to_have_text(
        "Chain verified for 2 of 3 events shown. 1 not verified: marked “Not verified” in the table."
    )
    page.get_by_role("table", name="Audit events").get_by_role("button").nth(1).click()
    expect(page.locator(".event-detail")).to_contain_text(
        "Not verified: this record does not match"
    )


def test_more_than_fifty_events_are_paged(
    page: Page, server: InProcessServer, tenant: Tenant
) -> None:
    made = [
        tenant.kms.generate_random(NumberOfBytes=1)["ResponseMetadata"]["RequestId"]
        for _ in range(57)
    ]
    assert len(made) == 57
    open_audit(page, server, tenant.admin, "name=GenerateRandom")
    first = rows(page)
    assert len(first) == 50
    expect(page.get_by_role("button", name="Previous page", exact=True)).to_be_disabled()
    following = page.get_by_role("button", name="Next page", exact=True)
    following.click()
    expect(page.get_by_text("Page 2", exact=True)).to_be_visible()
    wait_loaded(page)
    second = rows(page)
    assert len(second) == 7
    assert second[0]["Time"] <= first[-1]["Time"]
    expect(following).to_be_disabled()
    expect(page.locator("main [role=status]")).to_have_text(
        "Chain verified for 7 of 7 events shown"
    )
    page.get_by_role("button", name="Previous page", exact=True).click()
    expect(page.get_by_text("Page 1", exact=True)).to_be_visible()
    wait_loaded(page)
    assert rows(page) == first


def test_bad_filters_show_the_apis_message(
    page: Page, server: InProcessServer, tenant: Tenant
) -> None:
    open_audit(page, server, tenant.admin)
    start = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 3600))
    end = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 3600))
    page.get_by_label("From", exact=True).fill(start)
    page.get_by_label("To", exact=True).fill(end)
    page.get_by_role("button", name="Apply filters", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(
        "ValidationException: StartTime must not be later than EndTime."
    )
    expect(page.get_by_role("table", name="Audit events")).to_have_count(0)
    expect(chart(page)).to_have_count(0)
