"""Per-account request quotas (token buckets), answered with ThrottlingException as AWS does.

Each worker enforces its share of the quota (quota / workers), so the service as a
whole allows about the configured rate per account.
"""

from __future__ import annotations

from collections.abc import Callable

from sealbox.server.errors import ThrottlingException

MESSAGE = (
    "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
)


class Throttle:
    def __init__(self, rate: float, now: Callable[[], float], burst_seconds: float = 1.0) -> None:
        self.rate = rate
        self._now = now
        self._capacity = max(1.0, rate * burst_seconds)
        self._buckets: dict[str, tuple[float, float]] = {}  # account -> (tokens, when)

    def take(self, account: str) -> None:
        if self.rate <= 0:
            return  # no quota
        now = self._now()
        tokens, when = self._buckets.get(account, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - when) * self.rate)
        if tokens < 1.0:
            self._buckets[account] = (tokens, now)
            raise ThrottlingException(MESSAGE)
        self._buckets[account] = (tokens - 1.0, now)
