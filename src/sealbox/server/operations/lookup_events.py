"""LookupEvents (``Sealbox_20261128.LookupEvents``): the audit trail, read through the API,
shaped like CloudTrail's LookupEvents.

A caller sees the records of its own account in the request's region only (calls its
account made, and changes the service made to its keys), newest first, whatever the
filters or token say. It needs ``sealbox:LookupEvents`` on ``*`` in an identity policy;
key policies and grants never grant it. The lookup runs in the work pool: the event loop
never waits on it, and one account's lookups queue behind each other, not others' work.
The call itself is audited like any other (a read-only record, eventSource
``sealbox.amazonaws.com``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sealbox.server.access.authorization import decide_identity
from sealbox.server.arn import user_arn
from sealbox.server.audit.chain import load_audit_key
from sealbox.server.audit.lookup import Found, Page, Query, lookup
from sealbox.server.operations import lookup_input, lookup_token
from sealbox.server.operations.table import Params, Result, sealbox_operation
from sealbox.server.service import Caller, KmsService
from sealbox.server.workpool import prepared

ACTION = "sealbox:LookupEvents"
# Per service: (audit key, token key), unwrapped under the root key once.
_KEYS: weakref.WeakKeyDictionary[KmsService, tuple[bytes, bytes]] = weakref.WeakKeyDictionary()


def _keys(service: KmsService) -> tuple[bytes, bytes]:
    keys = _KEYS.get(service)
    if keys is None:
        audit_key = load_audit_key(service.store, service.require_unsealed())
        keys = _KEYS[service] = (audit_key, lookup_token.token_key(audit_key))
    return keys


def _query(caller: Caller, params: Params) -> Query:
    """The caller's account and region, the one attribute, and the time range."""
    values: dict[str, Any] = {}
    for attribute in params.get("LookupAttributes", []):
        key, value = attribute["AttributeKey"], attribute["AttributeValue"]
        if key == "EventName":
            values["event_name"] = value
        elif key == "Username":  # a principal ARN, or a user name of the caller's account
            values["username"] = (
                value if value.startswith("arn:") else user_arn(caller.account, value)
            )
        elif key == "ResourceName":
            values["resource"] = value
        elif key == "EventId":
            values["event_id"] = value
        elif key == "ReadOnly":
            values["read_only"] = value == "true"
    return Query(
        caller.account,
        caller.region,
        since=params.get("StartTime"),
        until=params.get("EndTime"),
        **values,
    )


def _bound(query: Query) -> bytes:
    filters = [
        query.event_name,
        query.username,
        query.resource,
        query.event_id,
        query.read_only,
        query.since,
        query.until,
    ]
    return lookup_token.binding(query.account, query.region, filters)


def _prepare(service: KmsService, caller: Caller, params: Params) -> Callable[[], Result]:
    """On the event loop, before any work: authorize, read the token; then the job."""
    decide_identity(
        principal=caller.principal,
        action=ACTION,
        context=service.condition_keys(caller, None, None),
        identity_policies=service.identity_policies(caller.principal),
    )
    audit_key, token_key = _keys(service)
    query = _query(caller, params)
    bound = _bound(query)
    token = params.get("NextToken")
    after = None if token is None else lookup_token.unseal(token_key, token, bound)
    limit = params.get("MaxResults", lookup_input.MAX_RESULTS)

    def job() -> Result:
        return _result(lookup(service.store, audit_key, query, limit, after), token_key, bound)

    return job


@sealbox_operation("LookupEvents", validate=lookup_input.validate, prepare=_prepare)
def lookup_events(service: KmsService, caller: Caller, params: Params) -> Result:
    result = prepared()
    if isinstance(result, dict):
        return result
    return _prepare(service, caller, params)()  # called directly, not through the dispatcher


def _result(page: Page, token_key: bytes, bound: bytes) -> Result:
    result: Result = {"Events": [_event(found) for found in page.found]}
    if page.resume is not None:
        result["NextToken"] = lookup_token.seal(token_key, page.resume, bound)
    return result


def _event(found: Found) -> dict[str, Any]:
    """One event as CloudTrail's LookupEvents shows it, with Verified."""
    record = found.record
    identity = record.get("userIdentity")
    identity = identity if isinstance(identity, dict) else {}
    resources = record.get("resources")
    event: dict[str, Any] = {
        "EventId": record.get("eventID", ""),
        "EventName": record.get("eventName", ""),
        "ReadOnly": "true" if record.get("readOnly") is True else "false",
        "EventTime": _epoch(record.get("eventTime")),
        "EventSource": record.get("eventSource", ""),
        "Resources": [
            {"ResourceType": r.get("type", ""), "ResourceName": r.get("ARN", "")}
            for r in (resources if isinstance(resources, list) else [])
            if isinstance(r, dict)
        ],
        "CloudTrailEvent": found.text,
        "Verified": found.verified,
    }
    username = identity.get("arn") or identity.get("invokedBy")  # a service event: the service
    if isinstance(username, str) and username:
        event["Username"] = username
    access_key = identity.get("accessKeyId")
    if isinstance(access_key, str) and access_key:
        event["AccessKeyId"] = access_key
    if isinstance(record.get("errorCode"), str):
        event["ErrorCode"] = record["errorCode"]
    return event


def _epoch(text: Any) -> int:
    try:
        return int(datetime.fromisoformat(str(text)).timestamp())
    except ValueError:
        return 0
