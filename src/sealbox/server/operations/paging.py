"""Limit/Marker paging as the List* operations use it."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sealbox.server.errors import InvalidMarkerException

T = TypeVar("T")


def page_request(
    params: dict[str, Any], default_limit: int, valid: Callable[[str], bool] = bool
) -> tuple[int, str | None]:
    """(limit, position after which to continue) from Limit and Marker; ``valid`` says
    whether a decoded position could be one this listing made."""
    limit = int(params.get("Limit", default_limit))
    marker = params.get("Marker")
    if marker is None:
        return limit, None
    try:
        position = base64.b64decode(marker.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        position = ""
    if not valid(position):
        raise InvalidMarkerException(
            "The marker that specifies where pagination should next begin is not valid."
        )
    return limit, position


def page_result(
    items: Sequence[T], limit: int, position_of: Any
) -> tuple[Sequence[T], dict[str, Any]]:
    """Trim ``items`` (fetched with limit + 1) and say whether there is more."""
    if len(items) <= limit:
        return items, {"Truncated": False}
    shown = items[:limit]
    marker = base64.urlsafe_b64encode(str(position_of(shown[-1])).encode()).decode()
    return shown, {"Truncated": True, "NextMarker": marker}
