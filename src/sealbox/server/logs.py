"""Logs on stderr: one line per event, never plaintext, keys, blobs or secrets.

Two shapes of the same fields: ``text`` for a person at a terminal and ``json`` (one
object per line) for a collector. Both stamp events with ISO-8601 UTC times to the
millisecond, e.g. ``2026-11-28T17:05:58.123Z``.

The access log (the ``request`` event of ``sealbox.requests``, one per answered KMS
request) is the one event on every request's path, so it skips ``logging``'s machinery
there: :func:`request` keeps the fields, and the lines of one event-loop turn are
formatted exactly as the configured handler would format them and written together,
right after that turn's answers have been sent (:class:`_AccessLines`). Where
:func:`configure` did not set up the handler (a caller of the library's own logging
set-up), the event goes through ``logging`` as any other.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import sys
import threading
import time
from typing import Any

REQUESTS = logging.getLogger("sealbox.requests")
SERVICE = logging.getLogger("sealbox.service")
_ROOT = logging.getLogger("sealbox")
REQUEST_EVENT = "request"

_LINE = json.JSONEncoder(default=str)  # what json.dumps(line, default=str) builds per call
_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def timestamp(created: float) -> str:
    """``created`` (seconds since the epoch) as ISO-8601 UTC with milliseconds."""
    global _second
    seconds, millis = divmod(int(created * 1000), 1000)
    cached, text = _second
    if cached != seconds:  # most lines share their second with the previous one
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second = (seconds, text)
    return f"{text}.{millis:03d}Z"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, dict) else {}


def _json_line(
    created: float,
    level: str,
    name: str,
    message: str,
    fields: dict[str, Any],
    error: str | None = None,
) -> str:
    line: dict[str, Any] = {
        "ts": timestamp(created),
        "level": level,
        "logger": name,
        "message": message,
    }
    line.update(fields)
    if error is not None:
        line["error"] = error
    return _LINE.encode(line)


def _text_line(created: float, level: str, name: str, message: str, fields: dict[str, Any]) -> str:
    parts = [timestamp(created), f"{level:<7}", f"{name.removeprefix('sealbox.'):<8}", message]
    parts += [f"{key}={_text_value(value)}" for key, value in fields.items()]
    return " ".join(parts)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        error = None
        if record.exc_info and record.exc_info[0] is not None:
            error = self.formatException(record.exc_info)
        return _json_line(
            record.created,
            record.levelname.lower(),
            record.name,
            record.getMessage(),
            _fields(record),
            error,
        )


class TextFormatter(logging.Formatter):
    """``2026-11-28T17:05:58.123Z info    service  initialized the store root_key_id=…``"""

    def format(self, record: logging.LogRecord) -> str:
        line = _text_line(
            record.created,
            record.levelname.lower(),
            record.name,
            record.getMessage(),
            _fields(record),
        )
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


class _AccessLines:
    """The access log's lines, written a turn of the event loop at a time: one write for
    all of them, after the answers (a line costs its formatting, not a pass through
    ``logging``). Without a running loop a line is written at once."""

    def __init__(self, handler: logging.StreamHandler[Any], as_json: bool) -> None:
        self.handler = handler
        self._as_json = as_json
        self._pending: list[tuple[float, dict[str, Any]]] = []
        self._scheduled: asyncio.AbstractEventLoop | None = None  # the loop to flush them
        self._lock = threading.Lock()  # a line may come from a thread without a loop

    def add(self, created: float, fields: dict[str, Any]) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            self._pending.append((created, fields))
            if loop is None or self._scheduled is loop:
                scheduled = loop is not None
            else:  # (a loop that ended before its flush ran does not hold the lines back)
                self._scheduled, scheduled = loop, True
                loop.call_soon(self.flush)  # after the callbacks already queued: the answers
        if not scheduled:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            self._scheduled = None
            pending, self._pending = self._pending, []
            if not pending:
                return
            if self._as_json:
                lines = [_json_line(c, "info", REQUESTS.name, REQUEST_EVENT, f) for c, f in pending]
            else:
                lines = [_text_line(c, "info", REQUESTS.name, REQUEST_EVENT, f) for c, f in pending]
            handler = self.handler
            handler.acquire()  # the lock logging's own lines take on this stream
            try:
                handler.stream.write("\n".join(lines) + "\n")
                handler.flush()
            except (OSError, ValueError):  # stderr gone: as logging, never fail a request
                pass
            finally:
                handler.release()


_access: _AccessLines | None = None


def configure(level: str = "info", log_format: str | None = None) -> None:
    global _access
    flush()
    handler = logging.StreamHandler(sys.stderr)
    chosen = resolve_format(log_format)
    handler.setFormatter(TextFormatter() if chosen == "text" else JsonFormatter())
    _ROOT.handlers[:] = [handler]
    _ROOT.setLevel(level.upper())
    _ROOT.propagate = False
    _access = _AccessLines(handler, as_json=chosen != "text")


def event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={"fields": fields})


def request(**fields: Any) -> None:
    """The access log line of one answered request (``sealbox.requests``, info)."""
    if not REQUESTS.isEnabledFor(logging.INFO):
        return
    access = _access
    # only where configure() set up the one handler these lines would reach
    if access is None or REQUESTS.handlers or _ROOT.handlers != [access.handler]:
        event(REQUESTS, REQUEST_EVENT, logging.INFO, **fields)
        return
    access.add(time.time(), fields)


def flush() -> None:
    """Write the access lines still waiting (at shutdown, and on reconfiguring)."""
    if _access is not None:
        _access.flush()


atexit.register(flush)


def now() -> float:
    return time.perf_counter()
