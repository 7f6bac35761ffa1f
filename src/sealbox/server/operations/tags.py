"""TagResource, UntagResource, ListResourceTags."""

from __future__ import annotations

from typing import Any

from sealbox.server.errors import KMSInvalidStateException, TagException
from sealbox.server.operations.paging import page_request, page_result
from sealbox.server.operations.table import Params, Result, operation
from sealbox.server.service import Caller, KeyEntry, KmsService

MAX_TAGS = 50
TOO_MANY_TAGS = "Too many tags"  # AWS's answer to a 51st tag


def check_tags(tags: list[dict[str, Any]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for tag in tags:
        key, value = tag.get("TagKey"), tag.get("TagValue")
        if key is None or value is None:
            raise TagException("Each tag needs a TagKey and a TagValue.")
        if key.lower().startswith("aws:"):  # reserved in any case, as AWS checks it
            raise TagException("Tags beginning with aws: are reserved")  # AWS's words
        if key in result and result[key] != value:
            raise TagException("Duplicate tag keys")  # AWS's words
        result[key] = value
    if len(result) > MAX_TAGS:
        raise TagException(TOO_MANY_TAGS)
    return result


def _taggable(service: KmsService, caller: Caller, key_param: str, action: str) -> KeyEntry:
    entry = service.resolve(caller, key_param, aliases=False)
    service.authorize(caller, action, entry)
    if entry.record.key_state in ("PendingDeletion", "PendingReplicaDeletion"):
        raise KMSInvalidStateException(f"{entry.record.arn} is pending deletion.")
    return entry


@operation("TagResource", mutating=True)
def tag_resource(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = _taggable(service, caller, params["KeyId"], "TagResource")
    tags = check_tags(params["Tags"])
    with service.store.write() as connection:
        existing = service.store.keys.tags(entry.record.key_id, connection)
        if len({**existing, **tags}) > MAX_TAGS:
            raise TagException(TOO_MANY_TAGS)
        service.store.keys.put_tags(entry.record.key_id, tags, connection)
    return {}


@operation("UntagResource", mutating=True)
def untag_resource(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = _taggable(service, caller, params["KeyId"], "UntagResource")
    with service.store.write() as connection:
        service.store.keys.remove_tags(entry.record.key_id, list(params["TagKeys"]), connection)
    return {}


@operation("ListResourceTags")
def list_resource_tags(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = service.resolve(caller, params["KeyId"], aliases=False)
    service.authorize(caller, "ListResourceTags", entry)
    limit, after = page_request(params, 50)
    items = sorted(service.store.keys.tags(entry.record.key_id).items())
    if after is not None:
        items = [item for item in items if item[0] > after]
    shown, more = page_result(items, limit, lambda item: item[0])
    return {"Tags": [{"TagKey": k, "TagValue": v} for k, v in shown], **more}
