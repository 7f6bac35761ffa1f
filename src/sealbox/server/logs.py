"""Logs on stderr: one line per event, never plaintext, keys, blobs or secrets.

Two shapes of the same fields: ``text`` for a person at a terminal and ``json`` (one
object per line) for a collector. Both stamp events with ISO-8601 UTC times to the
millisecond, e.g. ``2026-11-28T17:05:58.123Z``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

REQUESTS = logging.getLogger("sealbox.requests")
SERVICE = logging.getLogger("sealbox.service")


def timestamp(created: float) -> str:
    """``created`` (seconds since the epoch) as ISO-8601 UTC with milliseconds."""
    seconds, millis = divmod(int(created * 1000), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, dict) else {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_fields(record))
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """``2026-11-28T17:05:58.123Z info    service  initialized the store root_key_id=…``"""

    def format(self, record: logging.LogRecord) -> str:
        name = record.name.removeprefix("sealbox.")
        parts = [timestamp(record.created), f"{record.levelname.lower():<7}", f"{name:<8}"]
        parts.append(record.getMessage())
        parts += [f"{key}={_text_value(value)}" for key, value in _fields(record).items()]
        line = " ".join(parts)
        if record.exc_info and record.exc_info[0] is not None:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text_value(value: Any) -> str:
    """Bare when unambiguous; quoted (JSON string syntax) when empty or holding spaces."""
    text = str(value)
    if not text or any(c.isspace() or c in "\"'=" for c in text):
        return json.dumps(text)
    return text


def resolve_format(log_format: str | None) -> str:
    """The configured format, or by default text for a terminal and JSON otherwise."""
    if log_format:
        return log_format
    return "text" if sys.stderr.isatty() else "json"


def configure(level: str = "info", log_format: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    chosen = resolve_format(log_format)
    handler.setFormatter(TextFormatter() if chosen == "text" else JsonFormatter())
    root = logging.getLogger("sealbox")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={"fields": fields})


def now() -> float:
    return time.perf_counter()
