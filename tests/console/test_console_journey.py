"""The issue's end-to-end journey in a real Chromium against a real Sealbox server: an operator
signs in with an access key, creates a key and an alias, edits the key policy (an invalid one
shows the API's error text exactly), creates and revokes a grant, disables the key, and finds
each of those actions in the audit view filtered by that key. boto3 checks the server's side
of every step; a screenshot of each page goes to the run's output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.console.test_console_shell import (
    NARROW,
    WIDE,
    body_width,
    docs_screenshot,
    expect,
    fresh_account,
    heading,
    sign_in,
    watched,  # noqa: F401 - fixture
)
from tests.server.harness import InProcessServer, error_of, module_server

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

# every test fails if its page threw or logged an error (the shell tests' fixture)
pytestmark = pytest.mark.usefixtures("watched")
COLUMNS = ["Time", "Event", "Principal", "Key", "Error", "Verified", "Record"]
# Keys already in the account, so the list looks like a real one's.
NEIGHBOURS = [
    ("payments: card data", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "alias/payments"),
    ("release signing", "ECC_NIST_P256", "SIGN_VERIFY", "alias/release-signing"),
    ("webhook MACs", "HMAC_256", "GENERATE_VERIFY_MAC", "alias/webhooks"),
]

server = module_server("console_journey")


def section(page: Page, title: str) -> Locator:
    """The key page's <section> headed ``title``."""
    return page.locator("section").filter(
        has=page.get_by_role("heading", level=2, name=title, exact=True)
    )


def audit_rows(page: Page) -> list[dict[str, str]]:
    """Every page of the audit table, following "Next page", as {column: text}."""
    found: list[dict[str, str]] = []
    while True:
        expect(page.locator("main [role=status]")).to_have_text(re.compile(r"^Chain verified"))
        table = page.get_by_role("table", name="Audit events")
        cells: list[list[str]] = table.locator("tbody tr:not(.detail)").evaluate_all(
            "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
        )
        found += [dict(zip(COLUMNS, row, strict=True)) for row in cells]
        following = page.get_by_role("button", name="Next page", exact=True)
        if following.is_disabled():
            return found
        following.click()


def test_an_operator_manages_a_key_and_finds_it_all_in_the_audit_view(
    page: Page, server: InProcessServer, screenshot: Callable[..., Path]
) -> None:
    account = fresh_account("6")
    operator = server.credentials(account, "operator")
    grantee = server.credentials(account, "backup-job", admin=False)
    kms = server.client(operator)
    for description, spec, usage, alias in NEIGHBOURS:
        made = kms.create_key(Description=description, KeySpec=spec, KeyUsage=usage)
        kms.create_alias(AliasName=alias, TargetKeyId=made["KeyMetadata"]["KeyId"])

    # sign in with the access key: the keys page
    sign_in(page, server, operator)
    expect(heading(page, "Keys")).to_be_visible()
    keys = page.get_by_role("table", name="Keys")
    for *_, alias in NEIGHBOURS:
        expect(keys).to_contain_text(alias)
    screenshot(page, "journey 1 keys")
    docs_screenshot(page, "keys")

    # create a key
    page.get_by_role("button", name="Create key", exact=True).click()
    create = page.get_by_role("form", name="Create key")
    create.get_by_label("Description", exact=True).fill("journey: customer exports")
    create.get_by_label("Tags", exact=True).fill("team=exports")
    screenshot(page, "journey 2 create key")
    create.get_by_role("button", name="Create", exact=True).click()
    page.wait_for_url(re.compile(r"#/keys/[0-9a-f-]{36}$"))
    key_id = page.url.rsplit("/", 1)[1]
    key = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (key["Description"], key["KeyState"]) == ("journey: customer exports", "Enabled")
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [
        {"TagKey": "team", "TagValue": "exports"}
    ]
    expect(heading(page, key_id)).to_be_visible()

    # an alias
    page.get_by_label("New alias name", exact=True).fill("alias/customer-exports")
    page.get_by_role("button", name="Add alias", exact=True).click()
    expect(
        page.get_by_role("button", name="Delete alias alias/customer-exports", exact=True)
    ).to_be_visible()
    expect(heading(page, "alias/customer-exports")).to_be_visible()
    aliases = kms.list_aliases(KeyId=key_id)["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/customer-exports"]

    # the key policy: an invalid one is refused with the API's own words, a valid one saved
    editor = page.get_by_label("Key policy", exact=True)
    expect(editor).to_have_value(re.compile(r'"Statement"'))
    policy = json.loads(editor.input_value())
    assert policy == json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    invalid = json.dumps({"Version": "2012-10-17"})
    code, message = error_of(kms.put_key_policy, KeyId=key_id, PolicyName="default", Policy=invalid)
    assert code == "MalformedPolicyDocumentException"
    editor.fill(invalid)
    page.get_by_role("button", name="Save policy", exact=True).click()
    refused = section(page, "Key policy").get_by_role("alert")
    expect(refused).to_have_text(f"{code}: {message}")
    expect(editor).to_have_value(invalid)  # kept, to be fixed
    screenshot(page, "journey 3 policy refused")
    policy["Statement"].append(
        {
            "Sid": "BackupJobDescribes",
            "Effect": "Allow",
            "Principal": {"AWS": grantee.arn},
            "Action": "kms:DescribeKey",
            "Resource": "*",
        }
    )
    editor.fill(json.dumps(policy, indent=2))
    page.get_by_role("button", name="Save policy", exact=True).click()
    expect(section(page, "Key policy").get_by_role("status")).to_have_text("Policy saved")
    expect(refused).to_have_count(0)
    saved = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert saved == policy

    # a grant, created and revoked
    grant = page.get_by_role("form", name="Create grant")
    grant.get_by_label("Grantee principal", exact=True).fill(grantee.arn)
    grant.get_by_label("Encrypt", exact=True).check()
    grant.get_by_label("Decrypt", exact=True).check()
    grant.get_by_label("Encryption context (equals)", exact=True).fill("purpose=backup")
    grant.get_by_label("Grant name", exact=True).fill("nightly-backup")
    grant.get_by_role("button", name="Create grant", exact=True).click()
    expect(page.get_by_role("table", name="Grants")).to_contain_text("nightly-backup")
    (made_grant,) = kms.list_grants(KeyId=key_id)["Grants"]
    assert (made_grant["GranteePrincipal"], sorted(made_grant["Operations"])) == (
        grantee.arn,
        ["Decrypt", "Encrypt"],
    )
    assert made_grant["Constraints"] == {"EncryptionContextEquals": {"purpose": "backup"}}
    revoke = page.get_by_role("button", name=f"Revoke grant {made_grant['GrantId']}", exact=True)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "journey 4 key page")
    docs_screenshot(page, "key")
    revoke.click()
    expect(revoke).to_have_count(0)
    assert kms.list_grants(KeyId=key_id)["Grants"] == []

    # disable the key
    page.get_by_role("button", name="Disable key", exact=True).click()
    expect(page.get_by_role("button", name="Enable key", exact=True)).to_be_visible()
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"

    # the key page fits a phone too
    page.set_viewport_size(NARROW)
    assert body_width(page) <= NARROW["width"]
    screenshot(page, "journey 5 key page 390")
    page.set_viewport_size(WIDE)

    # every one of those actions, in the audit view filtered by the key
    page.get_by_role("link", name="All events for this key", exact=True).click()
    page.wait_for_url(re.compile(r"#/audit\?key="))
    expect(heading(page, "Audit")).to_be_visible()
    expect(page.get_by_label("Key", exact=True)).to_have_value(key["Arn"])
    found = audit_rows(page)
    assert all(row["Key"] == key_id for row in found), found
    assert {row["Principal"] for row in found} == {"user/operator"}
    changes = [
        (row["Event"], row["Error"])
        for row in found
        if row["Event"]
        in {"CreateKey", "CreateAlias", "PutKeyPolicy", "CreateGrant", "RevokeGrant", "DisableKey"}
    ]
    assert changes == [  # newest first: boto3's refused PutKeyPolicy, then the browser's
        ("DisableKey", "—"),
        ("RevokeGrant", "—"),
        ("CreateGrant", "—"),
        ("PutKeyPolicy", "—"),
        ("PutKeyPolicy", "MalformedPolicyDocumentException"),
        ("PutKeyPolicy", "MalformedPolicyDocumentException"),
        ("CreateAlias", "—"),
        ("CreateKey", "—"),
    ]
    screenshot(page, "journey 6 audit for the key")


# docs/console.md's read-only operator policy
READ_ONLY: list[dict[str, Any]] = [
    {"Effect": "Allow", "Action": ["kms:List*", "kms:Describe*", "kms:Get*"], "Resource": "*"},
    {"Effect": "Allow", "Action": "sealbox:LookupEvents", "Resource": "*"},
]


def test_a_read_only_operator_sees_keys_and_events_and_changes_nothing(
    page: Page, server: InProcessServer
) -> None:
    account = fresh_account("5")
    kms = server.client(server.credentials(account, "admin"))
    key_id = kms.create_key(Description="watched")["KeyMetadata"]["KeyId"]
    auditor = server.credentials(account, "auditor", admin=False)
    server.put_user_policy(account, "auditor", "ConsoleReadOnly", READ_ONLY)
    refused = error_of(server.client(auditor).disable_key, KeyId=key_id)

    sign_in(page, server, auditor)
    page.get_by_role("table", name="Keys").get_by_role("link", name=key_id, exact=True).click()
    expect(heading(page, key_id)).to_be_visible()
    expect(page.get_by_label("Key policy", exact=True)).to_have_value(re.compile(r'"Statement"'))
    page.get_by_role("button", name="Disable key", exact=True).click()
    expect(section(page, "Details").get_by_role("alert")).to_have_text(
        f"{refused[0]}: {refused[1]}"
    )
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"

    page.get_by_role("navigation").get_by_role("link", name="Audit", exact=True).click()
    expect(page.locator("main [role=status]")).to_have_text(re.compile(r"^Chain verified"))
    events = page.get_by_role("table", name="Audit events")
    expect(events.get_by_role("row").filter(has_text="DisableKey")).to_have_count(2)
    expect(events).to_contain_text("AccessDeniedException")
