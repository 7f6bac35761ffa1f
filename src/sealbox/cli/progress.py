"""A progress line on stderr while a large input is processed on a terminal."""

from __future__ import annotations

import sys
import time
from typing import BinaryIO

SHOW_FROM = 64 * 1024 * 1024  # inputs smaller than this finish before a bar helps
_EVERY = 0.25  # seconds between redraws


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class Progress:
    """Counts bytes read from the input and redraws one stderr line now and then."""

    def __init__(self, label: str, total: int | None, *, enabled: bool) -> None:
        self._label = label
        self._total = total
        self._enabled = enabled and total is not None and total >= SHOW_FROM and sys.stderr.isatty()
        self._done = 0
        self._start = time.monotonic()
        self._drawn = 0.0

    def advance(self, count: int) -> None:
        self._done += count
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._drawn >= _EVERY:
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        assert self._total is not None
        rate = self._done / max(now - self._start, 1e-6)
        share = self._done / self._total if self._total else 1.0
        sys.stderr.write(
            f"\r{self._label}: {share:4.0%} {_size(self._done)} of {_size(self._total)}, "
            f"{_size(rate)}/s   "
        )
        sys.stderr.flush()

    def finish(self) -> None:
        if self._enabled and self._drawn:
            self._draw(time.monotonic())
            sys.stderr.write("\n")


class CountingReader:
    """``source`` with every byte read reported to ``progress``."""

    def __init__(self, source: BinaryIO, progress: Progress) -> None:
        self._source = source
        self._progress = progress

    def read(self, size: int = -1, /) -> bytes:
        data = self._source.read(size)
        self._progress.advance(len(data))
        return data
