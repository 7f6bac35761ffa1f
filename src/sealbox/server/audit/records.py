"""CloudTrail-shaped audit records. Never plaintext, data keys, blobs, tokens or secrets.

Encryption contexts, key ids and policy documents are recorded, as CloudTrail
records them: they are not secret. Every blob-typed member of a request or
response (Plaintext, CiphertextBlob, EncryptedKeyMaterial, ImportToken, ...) is
left out by type, and grant tokens by name, so a new secret field cannot slip in.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from sealbox.server.access.principals import Principal
from sealbox.server.arn import arn_account_and_region
from sealbox.server.clock import iso_second

try:  # a faster codec for the same bytes (see _canonical); without it, the json module
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

EVENT_VERSION = "1.11"
MAX_RECORD = 16 * 1024  # bytes of JSON; larger parameters are summarized
_WITHHELD = frozenset({"GrantTokens", "GrantToken", "Recipient", "ImportToken", "PublicKey"})


_CAMELS: dict[str, str] = {}  # member names seen (the KMS model's: a bounded set)


def _camel(name: str) -> str:
    camel = _CAMELS.get(name)
    if camel is None:
        camel = name[:1].lower() + name[1:]
        if len(_CAMELS) < 4096:
            _CAMELS[name] = camel
    return camel


# Members whose value is a map of the caller's own keys, recorded as given.
_MAPS = frozenset(
    {
        "EncryptionContext",
        "SourceEncryptionContext",
        "DestinationEncryptionContext",
        "EncryptionContextSubset",
        "EncryptionContextEquals",
    }
)


def _camel_tree(value: Any) -> Any:
    """Member names in camelCase at every depth, as CloudTrail writes them."""
    if isinstance(value, dict):
        return {
            _camel(k): _camel_tree(v) if isinstance(v, dict | list) and k not in _MAPS else v
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_camel_tree(item) for item in value]
    return value


def _scrub(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    kept = {k: v for k, v in values.items() if k not in _WITHHELD and not isinstance(v, bytes)}
    scrubbed: dict[str, Any] = _camel_tree(kept)
    return scrubbed


def uuid4_text() -> str:
    """``str(uuid.uuid4())``, without building a UUID object (two of these per request)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def service_event(
    *, moment: float, event_name: str, key_arn: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A change the service made on its own: automatic rotation, deletion after the waiting
    period, expiry of imported key material."""
    account, region = arn_account_and_region(key_arn)
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": {"accountId": account, "invokedBy": "kms.amazonaws.com"},
        "eventTime": iso_second(moment),
        "eventSource": "kms.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "kms.amazonaws.com",
        "userAgent": "kms.amazonaws.com",
        "requestParameters": None,
        "responseElements": None,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "resources": [{"accountId": account, "type": "AWS::KMS::Key", "ARN": key_arn}],
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": account,
        "serviceEventDetails": {"keyId": key_arn.rsplit("/", 1)[1]},
        "eventCategory": "Management",
    }
    if details:
        record["additionalEventData"] = details
    return record


def build(
    *,
    request_id: str,
    moment: float,
    operation: str,
    region: str,
    source_ip: str,
    user_agent: str,
    principal: Principal | None,
    access_key_id: str | None,
    params: dict[str, Any] | None,
    result: dict[str, Any] | None,
    error: tuple[str, str] | None,
    key_arns: list[str],
    read_only: bool,
) -> dict[str, Any]:
    """One record for one request, allowed or refused."""
    if principal is not None:
        identity: dict[str, Any] = {
            "type": "IAMUser",
            "principalId": principal.access_key_id,
            "arn": principal.arn,
            "accountId": principal.account,
            "accessKeyId": principal.access_key_id,
            "userName": principal.user_name,
        }
    else:  # unauthenticated: recorded compactly
        identity = {
            "type": "Unknown",
            **({"accessKeyId": access_key_id[:32]} if access_key_id else {}),
        }
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": iso_second(moment),
        "eventSource": "kms.amazonaws.com",
        "eventName": operation,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent[:256],
        "requestParameters": _scrub(params),
        "responseElements": None if read_only else _scrub(result),
        "requestID": request_id,
        "eventID": uuid4_text(),
        "readOnly": read_only,
        "resources": [
            {"accountId": arn.split(":")[4], "type": "AWS::KMS::Key", "ARN": arn}
            for arn in dict.fromkeys(key_arns)
        ],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": principal.account if principal is not None else "",
        "eventCategory": "Management",
    }
    if result is not None and result.get("KeyMaterialId"):
        record["additionalEventData"] = {"keyMaterialId": result["KeyMaterialId"]}
    if error is not None:
        record["errorCode"], record["errorMessage"] = error
    return record


def encode(record: dict[str, Any]) -> bytes:
    """The record as stored and MACed: canonical JSON of at most MAX_RECORD bytes (larger
    parameters are replaced by a summary of their names)."""
    body = _canonical(record)
    if len(body) <= MAX_RECORD:
        return body
    record = dict(record)
    for field in ("requestParameters", "responseElements"):
        if record.get(field):
            record[field] = {"truncated": True, "keys": sorted(record[field])[:50]}
    if "errorMessage" in record:
        record["errorMessage"] = record["errorMessage"][:1024]
    return _canonical(record)


# What json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=...) builds
# on every call, built once: the same bytes.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_CANONICAL_ASCII = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


_EXACT = frozenset({str, int, bool, type(None)})


def same_in_orjson(value: Any) -> bool:
    """Whether orjson writes ``value`` byte for byte as the json module does (as
    :data:`_CANONICAL` here, and as a compact encoder for ASCII text): dicts,
    lists, str, int, bool and None only (it writes floats' exponents and small floats
    differently, and may write other types the json module refuses). An int beyond 64
    bits or a lone surrogate makes orjson raise instead, which is handled by the caller."""
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
    elif kind is list:
        items = value
    else:
        return kind in _EXACT
    for item in items:  # containers recurse; leaves are checked here
        if type(item) not in _EXACT and not same_in_orjson(item):
            return False
    return True


def _canonical(record: dict[str, Any]) -> bytes:
    if orjson is not None and same_in_orjson(record):
        try:
            return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError: the json module decides below
            pass
    text = _CANONICAL.encode(record)
    try:
        return text.encode()
    except UnicodeEncodeError:
        # text that is not Unicode (a lone surrogate) is kept, escaped, rather than lost
        return _CANONICAL_ASCII.encode(record).encode()


# -- anchors: one chain naming the heads of others --------------------------------------------

ANCHOR_EVENT = "SealboxAuditAnchor"


def anchor_event(*, moment: float, anchors: list[dict[str, Any]]) -> dict[str, Any]:
    """The first record of a chain started while others exist: the head (sequence number and
    MAC) of each, so none of them can later lose records from its end unnoticed."""
    return {
        "eventVersion": EVENT_VERSION,
        "userIdentity": {"type": "AWSService", "invokedBy": "sealbox"},
        "eventTime": iso_second(moment),
        "eventSource": "kms.amazonaws.com",
        "eventName": ANCHOR_EVENT,
        "awsRegion": "",
        "sourceIPAddress": "sealbox",
        "userAgent": "sealbox",
        "requestParameters": None,
        "responseElements": None,
        "eventID": str(uuid.uuid4()),
        "readOnly": True,
        "resources": [],
        "eventType": "SealboxAuditEvent",
        "managementEvent": False,
        "recipientAccountId": "",
        "eventCategory": "Management",
        "additionalEventData": {"anchors": anchors},
    }


# -- administration: `sealbox admin` changing the store directly ----------------------------

ADMIN_SOURCE = "sealbox.admin"
ADMIN_CHAIN = "admin-"  # how the name of an admin run's chain starts
ADMIN_EVENT_TYPE = "SealboxAdminEvent"
RESTORE_EVENT = "RestoreBackup"


def admin_event(
    *,
    moment: float,
    event_name: str,
    os_user: str,
    host: str,
    parameters: dict[str, Any],
    account: str = "",
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A change made with `sealbox admin` (outside the API, so no IAM caller): who ran it
    is the local OS user. ``parameters`` must hold no secret (ids, names, policies only)."""
    from sealbox._version import __version__

    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": {"type": "LocalUser", "userName": os_user, "invokedBy": "sealbox admin"},
        "eventTime": iso_second(moment),
        "eventSource": ADMIN_SOURCE,
        "eventName": event_name,
        "awsRegion": "",
        "sourceIPAddress": host,
        "userAgent": f"sealbox/{__version__} admin",
        "requestParameters": parameters,
        "responseElements": None,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "resources": [],
        "eventType": ADMIN_EVENT_TYPE,
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if details:
        record["additionalEventData"] = details
    return record
