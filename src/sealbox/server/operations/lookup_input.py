"""LookupEvents' input, checked strictly: it is not in botocore's KMS model, so it has a
validator of its own. Unknown members are refused (the KMS model ignores them, but a
misspelt filter silently widening an audit query is worse than an error); every type,
length and range is checked, and each violation is worded as AWS words them
("1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: …").
A ``null`` member counts as absent, as in the KMS API.
"""

from __future__ import annotations

import math
from typing import Any

from sealbox.server.errors import ValidationException

MEMBERS = ("LookupAttributes", "StartTime", "EndTime", "MaxResults", "NextToken")
ATTRIBUTE_MEMBERS = ("AttributeKey", "AttributeValue")
ATTRIBUTE_KEYS = ("EventId", "EventName", "ReadOnly", "ResourceName", "Username")
MAX_ATTRIBUTES = 1  # as CloudTrail: one attribute per request
MAX_ATTRIBUTE_VALUE = 2000  # characters, as CloudTrail
MAX_RESULTS = 50
MAX_NEXT_TOKEN = 1024  # characters; ours are about 200
LATEST_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z, in seconds since the epoch
SHOWN = 64  # characters of a refused name or value an error message repeats


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    clipped = text[:SHOWN] + ("…" if len(text) > SHOWN else "")
    return f"'{clipped}'"


def _violation(path: str, constraint: str, value: Any = None) -> str:
    shown = "" if value is None else f"{_shown(value)} "
    return f"Value {shown}at '{path}' failed to satisfy constraint: Member must {constraint}"


def _unknown(members: dict[str, Any], known: tuple[str, ...], where: str) -> list[str]:
    return [
        f"Member {_shown(name)} is not part of {where} (its members: {', '.join(known)})"
        for name in members
        if name not in known
    ]


def validate(body: Any) -> dict[str, Any]:
    """The request's parameters, normalized; ValidationException naming every violation."""
    if not isinstance(body, dict):
        raise ValidationException("The LookupEvents request body must be a JSON object.")
    errors = _unknown(body, MEMBERS, "LookupEvents' input")
    params: dict[str, Any] = {}
    if body.get("LookupAttributes") is not None:
        params["LookupAttributes"] = _attributes(body["LookupAttributes"], errors)
    for member in ("StartTime", "EndTime"):
        if body.get(member) is not None:
            params[member] = _time(body[member], member[:1].lower() + member[1:], errors)
    if body.get("MaxResults") is not None:
        params["MaxResults"] = _max_results(body["MaxResults"], errors)
    if body.get("NextToken") is not None:
        params["NextToken"] = _next_token(body["NextToken"], errors)
    if errors:
        count = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: "
        raise ValidationException(count + "; ".join(errors))
    start, end = params.get("StartTime"), params.get("EndTime")
    if start is not None and end is not None and start > end:
        raise ValidationException("StartTime must not be later than EndTime.")
    return params


def _attributes(value: Any, errors: list[str]) -> list[dict[str, str]]:
    if not isinstance(value, list):
        errors.append(_violation("lookupAttributes", "be a list of LookupAttribute objects"))
        return []
    if len(value) > MAX_ATTRIBUTES:
        errors.append(
            _violation("lookupAttributes", f"have length less than or equal to {MAX_ATTRIBUTES}")
        )
        return []
    return [
        _attribute(item, f"lookupAttributes.{i + 1}.member", errors) for i, item in enumerate(value)
    ]


def _attribute(item: Any, path: str, errors: list[str]) -> dict[str, str]:
    if not isinstance(item, dict):
        errors.append(_violation(path, "be an object with AttributeKey and AttributeValue"))
        return {}
    errors += _unknown(item, ATTRIBUTE_MEMBERS, "a LookupAttribute")
    key, value = item.get("AttributeKey"), item.get("AttributeValue")
    for member, given in (("attributeKey", key), ("attributeValue", value)):
        if given is None:
            errors.append(_violation(f"{path}.{member}", "not be null"))
        elif not isinstance(given, str):
            errors.append(_violation(f"{path}.{member}", "be a string"))
    if not isinstance(key, str) or not isinstance(value, str):
        return {}
    if key not in ATTRIBUTE_KEYS:
        choices = ", ".join(ATTRIBUTE_KEYS)
        errors.append(
            _violation(f"{path}.attributeKey", f"satisfy enum value set: [{choices}]", key)
        )
    if not 1 <= len(value) <= MAX_ATTRIBUTE_VALUE:
        bound = (
            "greater than or equal to 1"
            if not value
            else f"less than or equal to {MAX_ATTRIBUTE_VALUE}"
        )
        errors.append(_violation(f"{path}.attributeValue", f"have length {bound}", value))
    elif key == "ReadOnly" and value not in ("true", "false"):
        errors.append(
            _violation(f"{path}.attributeValue", "be 'true' or 'false' for ReadOnly", value)
        )
    return {"AttributeKey": key, "AttributeValue": value}


def _time(value: Any, path: str, errors: list[str]) -> float:
    """Seconds since the epoch: a finite number from 0 to the end of year 9999."""
    moment = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = float(value)
        except OverflowError:  # an integer of 400 digits
            pass
    if not math.isfinite(moment):
        errors.append(_violation(path, "be a timestamp: a number of seconds since the epoch"))
    elif not 0 <= moment <= LATEST_TIME:
        errors.append(
            _violation(path, f"be from 0 to {LATEST_TIME} seconds since the epoch", value)
        )
    return moment


def _max_results(value: Any, errors: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(_violation("maxResults", "be an integer"))
        return MAX_RESULTS
    if value < 1:
        errors.append(_violation("maxResults", "have value greater than or equal to 1", value))
    elif value > MAX_RESULTS:
        errors.append(
            _violation("maxResults", f"have value less than or equal to {MAX_RESULTS}", value)
        )
    return value


def _next_token(value: Any, errors: list[str]) -> str:
    if not isinstance(value, str):
        errors.append(_violation("nextToken", "be a string"))
        return ""
    if not 1 <= len(value) <= MAX_NEXT_TOKEN:
        errors.append(_violation("nextToken", f"have length from 1 to {MAX_NEXT_TOKEN} characters"))
    return value
