"""Reading the audit log a page at a time, for LookupEvents: one account's records of one
region, newest first, each with whether its MAC checks out in its chain.

The work of one request is bounded whatever the filters and whoever calls: it walks at
most :data:`WINDOW_ROWS` rows' indexed columns down the event-time index, and loads at
most :data:`RECORDS_PER_PAGE` records. Where that runs out before the page is full, the
page is short (even empty) and names the position to go on from.

The indexed columns only pick which records to load; whether a record is shown is decided
on the record itself (its account above all), so an edited column can at worst hide a
record, never show one to another account. A shown record whose MAC or columns do not
check out is marked unverified.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from sealbox.server.audit.chain import genesis, record_mac
from sealbox.server.store.audit_rows import INDEXED, indexed
from sealbox.server.store.repository import Store

WINDOW_ROWS = 1_000  # rows' indexed columns walked per request, at most
BATCH_ROWS = 200  # ... read this many at a time, so a full first page reads few
RECORDS_PER_PAGE = 256  # records loaded per request, at most
RECORDS_PER_QUERY = 64  # ... in queries of this many
# What a caller may see: calls made by its account, and changes the service made to its keys;
# never `sealbox admin`'s records (the operator's user and host) or the chains' anchors.
SHOWN_TYPES = frozenset({"AwsApiCall", "AwsServiceEvent"})


@dataclass(frozen=True, slots=True)
class Position:
    """A row's place in the newest-first order: event time, then chain and seq."""

    event_time: float
    chain: str
    seq: int


@dataclass(frozen=True)
class Query:
    """Which records: always one account's and one region's; at most one attribute."""

    account: str
    region: str
    event_name: str | None = None
    username: str | None = None  # a principal ARN
    resource: str | None = None  # a key ARN, or a key id
    event_id: str | None = None
    read_only: bool | None = None
    since: float | None = None
    until: float | None = None

    def may_match(self, row: Any) -> bool:
        """From the indexed columns alone: whether the record is worth loading."""
        owner = row.principal or row.key_arn  # a service event has no principal
        if owner.split(":", 5)[4:5] != [self.account]:
            return False
        if self.event_name is not None and row.event_name != self.event_name:
            return False
        if self.username is not None and row.principal != self.username:
            return False
        return self.resource is None or bool(row.key_arn)

    def matches(self, record: dict[str, Any]) -> bool:
        """From the MACed record: whether it is shown."""
        if (
            record.get("recipientAccountId") != self.account
            or record.get("eventType") not in SHOWN_TYPES
            or record.get("awsRegion") != self.region
        ):
            return False
        if self.event_name is not None and record.get("eventName") != self.event_name:
            return False
        identity = record.get("userIdentity")
        if self.username is not None and (
            not isinstance(identity, dict) or identity.get("arn") != self.username
        ):
            return False
        if self.event_id is not None and record.get("eventID") != self.event_id:
            return False
        if self.read_only is not None and record.get("readOnly") is not self.read_only:
            return False
        return self.resource is None or self._names_resource(record)

    def _names_resource(self, record: dict[str, Any]) -> bool:
        resources = record.get("resources")
        for resource in resources if isinstance(resources, list) else []:
            arn = resource.get("ARN") if isinstance(resource, dict) else None
            if not isinstance(arn, str):
                continue
            if arn == self.resource or arn.rpartition("/")[2] == self.resource:
                return True
        return False


@dataclass(frozen=True)
class Found:
    row: Any  # the window's row: position and indexed columns
    text: str  # the record as stored (and MACed)
    mac: bytes
    record: dict[str, Any]
    verified: bool = False


@dataclass(frozen=True)
class Page:
    found: list[Found]
    resume: Position | None  # where the next page starts (after it); None: no more


class _Scan:
    """One request's walk down the log."""

    def __init__(self, store: Store, connection: Connection, query: Query, limit: int) -> None:
        self.store, self.connection, self.query, self.limit = store, connection, query, limit
        self.found: list[Found] = []
        self.loaded: dict[tuple[str, int], tuple[str, bytes]] = {}
        self.records_left = RECORDS_PER_PAGE
        self.last: Position | None = None  # the last row wholly examined

    def run(self, after: Position | None) -> Page:
        walked = 0
        while walked < WINDOW_ROWS:
            rows = self.store.audit.window(
                after=None if after is None else (after.event_time, after.chain, after.seq),
                since=self.query.since,
                until=self.query.until,
                limit=min(BATCH_ROWS, WINDOW_ROWS - walked),
                connection=self.connection,
            )
            if self._stopped_in(rows):
                return Page(self.found, self.last)
            if len(rows) < min(BATCH_ROWS, WINDOW_ROWS - walked):
                return Page(self.found, None)  # the end of the log (or of the time range)
            walked += len(rows)
            after = self.last
        return Page(self.found, self.last)  # the window is spent: go on from here

    def _stopped_in(self, rows: list[Any]) -> bool:
        """Examine ``rows`` in order; true if the page is full with more to come, or the
        records' budget is spent, before their end."""
        wanted = [self.query.may_match(row) for row in rows]
        for index, row in enumerate(rows):
            if wanted[index]:
                key = (row.chain, row.seq)
                if key not in self.loaded:
                    if self.records_left <= 0:
                        return True
                    self._load([r for r, w in zip(rows[index:], wanted[index:], strict=True) if w])
                stored = self.loaded.get(key)
                record = _parsed(stored[0]) if stored is not None else None
                if stored is not None and record is not None and self.query.matches(record):
                    if len(self.found) == self.limit:
                        return True  # one more than the page holds: there is a next page
                    self.found.append(Found(row, stored[0], stored[1], record))
            self.last = Position(row.event_time, row.chain, row.seq)
        return False

    def _load(self, upcoming: list[Any]) -> None:
        count = min(RECORDS_PER_QUERY, self.records_left)
        keys = [(row.chain, row.seq) for row in upcoming[:count]]
        self.loaded.update(self.store.audit.at(keys, connection=self.connection))
        self.records_left -= len(keys)


def lookup(
    store: Store, audit_key: bytes, query: Query, limit: int, after: Position | None
) -> Page:
    """The page of at most ``limit`` records after ``after`` (None: from the newest)."""
    with store.read() as connection:
        page = _Scan(store, connection, query, limit).run(after)
        previous = _previous_macs(store, connection, audit_key, page.found)
    checked = [
        dataclasses.replace(f, verified=_verified(audit_key, f, previous.get(_key(f))))
        for f in page.found
    ]
    return Page(checked, page.resume)


def _key(found: Found) -> tuple[str, int]:
    return found.row.chain, found.row.seq


def _previous_macs(
    store: Store, connection: Connection, audit_key: bytes, found: list[Found]
) -> dict[tuple[str, int], bytes]:
    """For each found row, the MAC its own MAC chains from: its predecessor's, or the
    chain's genesis value for the first record."""
    keys = [(f.row.chain, f.row.seq - 1) for f in found if f.row.seq > 1]
    stored = store.audit.macs_at(keys, connection=connection)
    previous: dict[tuple[str, int], bytes] = {}
    for f in found:
        chain, seq = f.row.chain, f.row.seq
        mac = genesis(audit_key, chain) if seq == 1 else stored.get((chain, seq - 1))
        if mac is not None:
            previous[(chain, seq)] = mac
    return previous


def _verified(audit_key: bytes, found: Found, previous: bytes | None) -> bool:
    """The record's MAC checks out against its predecessor's (in constant time), and the
    indexed columns are what the record gives (as `sealbox audit verify` checks)."""
    if previous is None:  # its predecessor is gone: the chain is broken here
        return False
    row = found.row
    expected = record_mac(audit_key, previous, row.chain, row.seq, found.text.encode())
    if not hmac.compare_digest(expected, found.mac):
        return False
    try:
        columns = indexed(found.record)
    except (KeyError, ValueError, TypeError, AttributeError):
        return False
    return all(getattr(row, column) == columns[column] for column in INDEXED)


def _parsed(text: str) -> dict[str, Any] | None:
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
