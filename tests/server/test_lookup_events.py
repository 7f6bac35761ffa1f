"""LookupEvents (``Sealbox_20261128.LookupEvents``): the audit trail through the API.

Against a real server on 127.0.0.1: keys are made and used with boto3, and LookupEvents is
called over HTTP, signed by botocore's own SigV4 signer (boto3 has no Sealbox service).
Each test works in accounts of its own, so what it sees is what it made.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from sqlalchemy import event as sqlalchemy_event

from sealbox.server.audit import lookup as lookup_module
from sealbox.server.store.engine import SQLITE_FILE
from tests.postgres import PostgresCluster
from tests.server.harness import REGION, Credentials, InProcessServer, RawClient, build_service

TARGET = "Sealbox_20261128.LookupEvents"
INVALID_TOKEN = (
    "The NextToken is invalid. Pass the NextToken of a previous LookupEvents answer, with the "
    "same LookupAttributes, StartTime and EndTime, in the same region and account."
)
_accounts = itertools.count(1)


def fresh_account() -> str:
    return f"7{next(_accounts):011d}"


class Lookup:
    """LookupEvents calls signed with botocore's SigV4Auth, as an SDK would sign them."""

    def __init__(self, endpoint: str, credentials: Credentials, region: str = REGION) -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self.region = region

    def raw(self, body: Any, *, target: str = TARGET) -> tuple[int, dict[str, str], Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = AWSRequest(
            method="POST",
            url=self.endpoint + "/",
            data=data,
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
        )
        signer = BotoCredentials(self.credentials.access_key_id, self.credentials.secret_access_key)
        SigV4Auth(signer, "kms", self.region).add_auth(request)
        prepared = request.prepare()
        parsed = urlparse(self.endpoint)
        connection = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=30)
        try:
            connection.request("POST", "/", prepared.body, dict(prepared.headers.items()))
            response = connection.getresponse()
            document = json.loads(response.read())
            headers = {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()
        return response.status, headers, document

    def __call__(self, **params: Any) -> dict[str, Any]:
        status, _, document = self.raw(params)
        assert status == 200, document
        result: dict[str, Any] = document
        return result

    def error(self, body: Any) -> tuple[str, str]:
        status, _, document = self.raw(body)
        assert status == 400, document
        return document["__type"], document["message"]

    def all(self, **params: Any) -> list[dict[str, Any]]:
        """Every page's events, following NextToken."""
        events: list[dict[str, Any]] = []
        while True:
            page = self(**params)
            events += page["Events"]
            if "NextToken" not in page:
                return events
            params["NextToken"] = page["NextToken"]


class Tenant:
    """An account with an admin: a boto3 KMS client and a LookupEvents caller."""

    def __init__(self, server: InProcessServer, account: str, region: str = REGION) -> None:
        self.account = account
        self.credentials = server.credentials(account, "admin")
        self.kms = server.client(self.credentials, region)
        self.lookup = Lookup(server.endpoint, self.credentials, region)

    @property
    def arn(self) -> str:
        return self.credentials.arn

    def close(self) -> None:
        self.kms.close()


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lookup")


@pytest.fixture(scope="module")
def server(directory: Path) -> Iterator[InProcessServer]:
    running = InProcessServer(build_service(directory))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def tenant(server: InProcessServer) -> Iterator[Tenant]:
    made = Tenant(server, fresh_account())
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def other(server: InProcessServer) -> Iterator[Tenant]:
    made = Tenant(server, fresh_account())
    try:
        yield made
    finally:
        made.close()


def request_ids(events: list[dict[str, Any]]) -> list[str]:
    return [json.loads(e["CloudTrailEvent"]).get("requestID", "") for e in events]


def calls(events: list[dict[str, Any]]) -> list[str]:
    """The names of the events, but the lookups' own (each lookup is audited too)."""
    return [e["EventName"] for e in events if e["EventName"] != "LookupEvents"]


def random_calls(tenant: Tenant, count: int) -> list[str]:
    """``count`` GenerateRandom calls; their request ids, oldest first."""
    return [
        tenant.kms.generate_random(NumberOfBytes=8)["ResponseMetadata"]["RequestId"]
        for _ in range(count)
    ]


# -- what an answer holds ---------------------------------------------------------------------


def test_an_admin_sees_its_account_events_newest_first(tenant: Tenant) -> None:
    key = tenant.kms.create_key(Description="audited")["KeyMetadata"]
    encrypted = tenant.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret")
    answer = tenant.lookup()
    names = [e["EventName"] for e in answer["Events"]]
    assert names == ["Encrypt", "CreateKey"]  # nothing but this account's, newest first
    assert "NextToken" not in answer
    event, created = answer["Events"]
    record = json.loads(event["CloudTrailEvent"])
    assert record["requestID"] == encrypted["ResponseMetadata"]["RequestId"]
    assert event == {
        "EventId": record["eventID"],
        "EventName": "Encrypt",
        "ReadOnly": "true",
        "EventTime": event["EventTime"],
        "EventSource": "kms.amazonaws.com",
        "Username": tenant.arn,
        "AccessKeyId": tenant.credentials.access_key_id,
        "Resources": [{"ResourceType": "AWS::KMS::Key", "ResourceName": key["Arn"]}],
        "CloudTrailEvent": event["CloudTrailEvent"],
        "Verified": True,
    }
    assert abs(event["EventTime"] - time.time()) < 60
    assert record["userIdentity"]["accountId"] == tenant.account
    assert b"secret" not in event["CloudTrailEvent"].encode()
    assert created["ReadOnly"] == "false" and created["Verified"] is True


def test_each_filter(server: InProcessServer, tenant: Tenant) -> None:
    first = tenant.kms.create_key()["KeyMetadata"]
    second = tenant.kms.create_key()["KeyMetadata"]
    tenant.kms.encrypt(KeyId=first["KeyId"], Plaintext=b"1")
    tenant.kms.encrypt(KeyId=second["KeyId"], Plaintext=b"2")
    tenant.kms.disable_key(KeyId=second["KeyId"])
    user = server.credentials(tenant.account, "reader", admin=False)
    server.put_user_policy(
        tenant.account,
        "reader",
        "random",
        [{"Effect": "Allow", "Action": "kms:GenerateRandom", "Resource": "*"}],
    )
    reader = server.client(user)
    try:
        reader.generate_random(NumberOfBytes=4)
    finally:
        reader.close()

    def names(key: str, value: str) -> list[str]:
        attributes = [{"AttributeKey": key, "AttributeValue": value}]
        return calls(tenant.lookup(LookupAttributes=attributes)["Events"])

    assert names("EventName", "Encrypt") == ["Encrypt", "Encrypt"]
    assert names("EventName", "Nothing") == []
    assert names("ResourceName", second["Arn"]) == ["DisableKey", "Encrypt", "CreateKey"]
    assert names("ResourceName", second["KeyId"]) == ["DisableKey", "Encrypt", "CreateKey"]
    assert names("Username", user.arn) == ["GenerateRandom"]
    assert names("Username", "reader") == ["GenerateRandom"]  # a user name of the account
    assert names("ReadOnly", "false") == ["DisableKey", "CreateKey", "CreateKey"]
    assert names("ReadOnly", "true") == ["GenerateRandom", "Encrypt", "Encrypt"]
    everything = tenant.lookup()["Events"]
    wanted = next(e for e in everything if e["EventName"] == "Encrypt")
    found = tenant.lookup(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": wanted["EventId"]}]
    )["Events"]
    assert found == [wanted]


def test_time_range(tenant: Tenant) -> None:
    tenant.kms.generate_random(NumberOfBytes=1)
    boundary = int(time.time()) + 1
    time.sleep(boundary - time.time() + 0.05)  # the next whole second: records keep seconds
    tenant.kms.list_keys()
    assert calls(tenant.lookup(StartTime=boundary)["Events"]) == ["ListKeys"]
    assert calls(tenant.lookup(EndTime=boundary - 1)["Events"]) == ["GenerateRandom"]
    both = tenant.lookup(StartTime=boundary - 60, EndTime=boundary + 60)["Events"]
    assert calls(both) == ["ListKeys", "GenerateRandom"]
    assert tenant.lookup(StartTime=boundary + 3600)["Events"] == []
    exact = tenant.lookup(StartTime=boundary, EndTime=boundary)["Events"]  # both inclusive
    assert "ListKeys" in calls(exact)


def test_three_pages_newest_first(tenant: Tenant) -> None:
    made = random_calls(tenant, 7)
    filters = [{"AttributeKey": "EventName", "AttributeValue": "GenerateRandom"}]
    first = tenant.lookup(LookupAttributes=filters, MaxResults=3)
    second = tenant.lookup(LookupAttributes=filters, MaxResults=3, NextToken=first["NextToken"])
    third = tenant.lookup(LookupAttributes=filters, MaxResults=3, NextToken=second["NextToken"])
    assert [len(p["Events"]) for p in (first, second, third)] == [3, 3, 1]
    assert "NextToken" not in third
    shown = first["Events"] + second["Events"] + third["Events"]
    assert request_ids(shown) == made[::-1]
    times = [e["EventTime"] for e in shown]
    assert times == sorted(times, reverse=True)
    # the page size may change between pages; the token is bound to the filters only
    rest = tenant.lookup(LookupAttributes=filters, MaxResults=50, NextToken=first["NextToken"])
    assert request_ids(rest["Events"]) == made[::-1][3:]


def test_max_results_bounds(tenant: Tenant) -> None:
    random_calls(tenant, 2)
    assert len(tenant.lookup(MaxResults=1)["Events"]) == 1
    assert calls(tenant.lookup(MaxResults=50)["Events"]) == ["GenerateRandom", "GenerateRandom"]
    assert tenant.lookup.error({"MaxResults": 0}) == (
        "ValidationException",
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    )
    assert tenant.lookup.error({"MaxResults": 51}) == (
        "ValidationException",
        "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 50",
    )
    assert tenant.lookup.error({"MaxResults": "5"}) == (
        "ValidationException",
        "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: "
        "Member must be an integer",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"Filter": "x"},
            "1 validation error detected: Member 'Filter' is not part of LookupEvents' input "
            "(its members: LookupAttributes, StartTime, EndTime, MaxResults, NextToken)",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "Region", "AttributeValue": "x"}]},
            "1 validation error detected: Value 'Region' at 'lookupAttributes.1.member."
            "attributeKey' failed to satisfy constraint: Member must satisfy enum value set: "
            "[EventId, EventName, ReadOnly, ResourceName, Username]",
        ),
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "Encrypt"},
                    {"AttributeKey": "EventName", "AttributeValue": "Decrypt"},
                ]
            },
            "1 validation error detected: Value at 'lookupAttributes' failed to satisfy "
            "constraint: Member must have length less than or equal to 1",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": ""}]},
            "1 validation error detected: Value '' at 'lookupAttributes.1.member.attributeValue'"
            " failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "yes"}]},
            "1 validation error detected: Value 'yes' at 'lookupAttributes.1.member."
            "attributeValue' failed to satisfy constraint: Member must be 'true' or 'false' for "
            "ReadOnly",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "EventName", "Value": "Encrypt"}]},
            "2 validation errors detected: Member 'Value' is not part of a LookupAttribute (its "
            "members: AttributeKey, AttributeValue); Value at 'lookupAttributes.1.member."
            "attributeValue' failed to satisfy constraint: Member must not be null",
        ),
        (
            {"LookupAttributes": {"AttributeKey": "EventName"}},
            "1 validation error detected: Value at 'lookupAttributes' failed to satisfy "
            "constraint: Member must be a list of LookupAttribute objects",
        ),
        (
            {"StartTime": "yesterday", "EndTime": -1},
            "2 validation errors detected: Value at 'startTime' failed to satisfy constraint: "
            "Member must be a timestamp: a number of seconds since the epoch; Value '-1' at "
            "'endTime' failed to satisfy constraint: Member must be from 0 to 253402300799 "
            "seconds since the epoch",
        ),
        ({"StartTime": 20, "EndTime": 10}, "StartTime must not be later than EndTime."),
        (
            {"NextToken": "x" * 1025},
            "1 validation error detected: Value at 'nextToken' failed to satisfy constraint: "
            "Member must have length from 1 to 1024 characters",
        ),
        ([], "The LookupEvents request body must be a JSON object."),
    ],
)
def test_bad_input_is_refused_with_its_reason(tenant: Tenant, body: Any, message: str) -> None:
    assert tenant.lookup.error(body) == ("ValidationException", message)


def test_unknown_targets(tenant: Tenant) -> None:
    status, _, document = tenant.lookup.raw({}, target="Sealbox_20261128.DeleteEvents")
    assert (status, document["__type"]) == (400, "UnknownOperationException")
    assert document["message"] == (
        "Operation 'DeleteEvents' is not part of the Sealbox API (its operations: LookupEvents)."
    )
    status, _, document = tenant.lookup.raw({}, target="TrentService.LookupEvents")
    assert (status, document["__type"]) == (400, "UnknownOperationException")
    status, _, document = tenant.lookup.raw({}, target="Sealbox_20261128.Encrypt")
    assert (status, document["__type"]) == (400, "UnknownOperationException")


# -- who may call it ---------------------------------------------------------------------------


def test_a_new_user_is_denied_and_an_identity_policy_allows(
    server: InProcessServer, tenant: Tenant
) -> None:
    user = server.credentials(tenant.account, "newcomer", admin=False)
    caller = Lookup(server.endpoint, user)
    assert caller.error({}) == (
        "AccessDeniedException",
        f"User: {user.arn} is not authorized to perform: sealbox:LookupEvents on resource: * "
        "because no identity-based policy allows the sealbox:LookupEvents action",
    )
    # a key policy naming the user for every action grants nothing here
    tenant.kms.create_key(
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{tenant.account}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": user.arn},
                        "Action": "*",
                        "Resource": "*",
                    },
                ],
            }
        )
    )
    assert caller.error({})[0] == "AccessDeniedException"
    server.put_user_policy(
        tenant.account,
        "newcomer",
        "audit",
        [{"Effect": "Allow", "Action": "sealbox:LookupEvents", "Resource": "*"}],
    )
    events = caller()["Events"]
    assert {e["EventName"] for e in events} >= {"LookupEvents", "CreateKey"}
    denied = [e for e in events if e.get("ErrorCode") == "AccessDeniedException"]
    assert [e["Username"] for e in denied] == [user.arn, user.arn]  # both refusals, audited
    # kms:* alone does not reach Sealbox's namespace; an explicit Deny wins
    server.put_user_policy(
        tenant.account,
        "newcomer",
        "audit",
        [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "sealbox:*", "Resource": "*"},
        ],
    )
    assert caller.error({}) == (
        "AccessDeniedException",
        f"User: {user.arn} is not authorized to perform: sealbox:LookupEvents on resource: * "
        "with an explicit deny in an identity-based policy",
    )


def test_unsigned_and_badly_signed_calls_are_refused(
    server: InProcessServer, tenant: Tenant
) -> None:
    raw = RawClient(server.endpoint, tenant.credentials)
    status, _, document = raw.send(TARGET, "{}", sign=False)
    assert (status, document["__type"]) == (400, "MissingAuthenticationTokenException")
    status, _, document = raw.send(TARGET, "{}", secret="wrong" * 8)
    assert (status, document["__type"]) == (400, "InvalidSignatureException")
    status, _, document = raw.send(TARGET, "{}")  # the harness's own signer
    assert status == 200 and isinstance(document["Events"], list)


# -- tenancy ------------------------------------------------------------------------------------


def test_another_account_is_invisible(tenant: Tenant, other: Tenant) -> None:
    mine = tenant.kms.create_key()["KeyMetadata"]
    theirs = other.kms.create_key()["KeyMetadata"]
    other.kms.encrypt(KeyId=theirs["KeyId"], Plaintext=b"x")
    tenant.kms.encrypt(KeyId=mine["KeyId"], Plaintext=b"x")
    everything = tenant.lookup.all(MaxResults=50)
    assert everything, "the tenant's own events are shown"
    for event in everything:
        record = json.loads(event["CloudTrailEvent"])
        assert record["recipientAccountId"] == tenant.account
        assert other.account not in event["CloudTrailEvent"]

    def found(attribute: str, value: str) -> list[dict[str, Any]]:
        attributes = [{"AttributeKey": attribute, "AttributeValue": value}]
        return tenant.lookup.all(LookupAttributes=attributes)

    assert found("Username", other.arn) == []
    assert found("ResourceName", theirs["Arn"]) == []
    assert found("ResourceName", theirs["KeyId"]) == []
    their_event = other.lookup()["Events"][0]
    assert found("EventId", their_event["EventId"]) == []
    # and the other way round
    assert all(
        json.loads(e["CloudTrailEvent"])["recipientAccountId"] == other.account
        for e in other.lookup.all()
    )


def test_events_of_another_region_are_not_shown(server: InProcessServer, tenant: Tenant) -> None:
    west = server.client(tenant.credentials, "us-west-2")
    try:
        west.list_keys()
    finally:
        west.close()
    tenant.kms.list_aliases()
    assert [e["EventName"] for e in tenant.lookup()["Events"]] == ["ListAliases"]
    in_west = Lookup(server.endpoint, tenant.credentials, "us-west-2")
    assert [e["EventName"] for e in in_west()["Events"]] == ["ListKeys"]


def test_forged_and_foreign_tokens_are_refused(tenant: Tenant, other: Tenant) -> None:
    random_calls(tenant, 3)
    random_calls(other, 3)
    token = tenant.lookup(MaxResults=1)["NextToken"]
    theirs = other.lookup(MaxResults=1)["NextToken"]
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[20] ^= 1
    flipped = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    for forged in (
        theirs,  # another account's
        flipped,  # altered
        base64.urlsafe_b64encode(b"\x00" * 64).decode(),  # made up
        "not base64!",
        "é",
    ):
        assert tenant.lookup.error({"NextToken": forged}) == (
            "ValidationException",
            INVALID_TOKEN,
        ), forged
    other_filters = [{"AttributeKey": "EventName", "AttributeValue": "GenerateRandom"}]
    assert tenant.lookup.error({"NextToken": token, "LookupAttributes": other_filters}) == (
        "ValidationException",
        INVALID_TOKEN,
    )
    west = Lookup(tenant.lookup.endpoint, tenant.credentials, "us-west-2")
    assert west.error({"NextToken": token}) == ("ValidationException", INVALID_TOKEN)
    assert len(tenant.lookup(MaxResults=1, NextToken=token)["Events"]) == 1


# -- it is audited itself, and checks what it shows ---------------------------------------------


def test_the_call_itself_is_audited(tenant: Tenant) -> None:
    by_name = [{"AttributeKey": "EventName", "AttributeValue": "LookupEvents"}]
    first = tenant.lookup(LookupAttributes=by_name, MaxResults=5)
    assert first["Events"] == []  # its own record is written once it has answered
    second = tenant.lookup(LookupAttributes=by_name)["Events"]
    assert len(second) == 1
    event = second[0]
    assert (event["EventName"], event["EventSource"], event["ReadOnly"]) == (
        "LookupEvents",
        "sealbox.amazonaws.com",
        "true",
    )
    assert event["Verified"] is True and event["Username"] == tenant.arn
    record = json.loads(event["CloudTrailEvent"])
    assert record["requestParameters"] == {"lookupAttributes": by_name_camel(), "maxResults": 5}
    assert record["responseElements"] is None and record["eventType"] == "AwsApiCall"


def by_name_camel() -> list[dict[str, str]]:
    return [{"attributeKey": "EventName", "attributeValue": "LookupEvents"}]


def test_metrics_count_it(server: InProcessServer, tenant: Tenant) -> None:
    tenant.lookup()
    parsed = urlparse(server.endpoint)
    connection = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=30)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    assert 'operation="LookupEvents"' in text


def test_an_altered_record_is_shown_unverified(directory: Path, tenant: Tenant) -> None:
    random_calls(tenant, 3)
    events = tenant.lookup()["Events"]
    assert [e["Verified"] for e in events] == [True, True, True]
    target = events[1]
    database = sqlite3.connect(directory / "data" / SQLITE_FILE)
    try:
        with database:
            changed = database.execute(
                'UPDATE audit_log SET record = replace(record, \'"userAgent":"\', '
                '\'"userAgent":"edited \') WHERE record LIKE ?',
                (f'%"eventID":"{target["EventId"]}"%',),
            ).rowcount
    finally:
        database.close()
    assert changed == 1
    after = tenant.lookup(MaxResults=4)["Events"][1:]  # newest: the previous lookup
    assert [e["EventId"] for e in after] == [e["EventId"] for e in events]
    assert [e["Verified"] for e in after] == [True, False, True]
    assert '"userAgent":"edited ' in after[1]["CloudTrailEvent"]


# -- bounded work ---------------------------------------------------------------------------------


def test_work_per_request_is_bounded_and_paging_goes_on(
    tenant: Tenant, other: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quiet account behind a busy one: each request walks a bounded window, answers a
    short (here empty) page with a NextToken, and the next one goes on from there."""
    since = int(time.time()) - 1
    made = random_calls(tenant, 1)
    random_calls(other, 30)
    monkeypatch.setattr(lookup_module, "WINDOW_ROWS", 8)
    monkeypatch.setattr(lookup_module, "BATCH_ROWS", 3)
    filters = [{"AttributeKey": "EventName", "AttributeValue": "GenerateRandom"}]
    pages = []
    params: dict[str, Any] = {"LookupAttributes": filters, "StartTime": since}
    while True:
        page = tenant.lookup(**params)
        pages.append(page["Events"])
        if "NextToken" not in page:
            break
        params["NextToken"] = page["NextToken"]
    assert pages[0] == [] and len(pages) >= 4  # 30 of the other's rows before the tenant's
    assert request_ids([e for p in pages for e in p]) == made


def test_records_loaded_per_request_are_bounded(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = random_calls(tenant, 5)
    monkeypatch.setattr(lookup_module, "RECORDS_PER_PAGE", 2)
    monkeypatch.setattr(lookup_module, "RECORDS_PER_QUERY", 2)
    by_read_only = [{"AttributeKey": "ReadOnly", "AttributeValue": "true"}]
    first = tenant.lookup(LookupAttributes=by_read_only)
    assert len(first["Events"]) == 2 and "NextToken" in first
    shown = tenant.lookup.all(LookupAttributes=by_read_only)
    assert request_ids([e for e in shown if e["EventName"] == "GenerateRandom"]) == made[::-1]


def test_the_window_query_walks_the_event_time_index(server: InProcessServer) -> None:
    """SQLite's plan for the window: a search of the event-time index (sorting only rows of
    one second by chain and seq), never a scan of the table."""
    store = server.service.store
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        captured.append((statement, parameters))

    sqlalchemy_event.listen(store.engine, "before_cursor_execute", capture)
    try:
        store.audit.window(after=(1e9, "c", 3), since=1.0, until=2e9, limit=10)
    finally:
        sqlalchemy_event.remove(store.engine, "before_cursor_execute", capture)
    statement, parameters = next((s, p) for s, p in captured if "audit_log" in s)
    with store.read() as connection:
        plan = [
            str(row[-1])
            for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        ]
    assert any("SEARCH audit_log USING INDEX audit_by_time" in step for step in plan), plan
    assert not any(step.startswith("SCAN audit_log") for step in plan), plan


# -- PostgreSQL ---------------------------------------------------------------------------------


def test_on_postgresql(tmp_path: Path, postgres: PostgresCluster) -> None:
    running = InProcessServer(build_service(tmp_path, database=postgres.new_database()))
    first, second = Tenant(running, fresh_account()), Tenant(running, fresh_account())
    try:
        made = random_calls(first, 5)
        random_calls(second, 4)
        filters = [{"AttributeKey": "EventName", "AttributeValue": "GenerateRandom"}]
        pages = []
        params: dict[str, Any] = {"LookupAttributes": filters, "MaxResults": 2}
        while True:
            page = first.lookup(**params)
            pages.append(page["Events"])
            if "NextToken" not in page:
                break
            params["NextToken"] = page["NextToken"]
        assert [len(p) for p in pages] == [2, 2, 1]
        shown = [e for p in pages for e in p]
        assert request_ids(shown) == made[::-1]
        assert all(e["Verified"] for e in shown)
        assert all(second.account not in e["CloudTrailEvent"] for e in first.lookup.all())
        assert [e["EventName"] for e in first.lookup(MaxResults=1)["Events"]] == ["LookupEvents"]
    finally:
        first.close()
        second.close()
        running.stop()
