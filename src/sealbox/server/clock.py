"""Every time read in the service goes through a Clock, so tests can move time."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock tests set and advance by hand."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, when: float) -> None:
        self._now = when


_last_second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text


def iso_second(moment: float) -> str:
    """``moment`` (seconds since the epoch) as ``2026-11-29T04:05:06Z``, as
    ``datetime.fromtimestamp(moment, UTC).strftime(...)`` writes it; formatted once per
    second (every request's audit record and condition keys need it)."""
    global _last_second
    second = math.floor(moment)
    if moment - second > 0.999999:  # fromtimestamp may round it up to the next second
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cached, text = _last_second
    if cached != second:
        text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _last_second = (second, text)
    return text
