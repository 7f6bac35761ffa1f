"""Strict parsing of request bodies (and any other JSON a caller hands the service).

Python's ``json`` accepts more than JSON: lone surrogates written as ``\\ud800``
escapes, ``NaN``/``Infinity``, numbers that overflow to infinity, duplicate member
names (the last one wins silently) and nesting deep enough to exhaust the
interpreter's stack. Each of these has broken a later stage (the audit record,
signature/audit disagreement, a RecursionError answered as 500), so they are refused
here, as a class, before anything else sees the document. AWS answers bodies it
cannot read with ``SerializationException`` (400).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from sealbox.server.errors import SerializationException

MAX_DEPTH = 64  # KMS's deepest shape is 4 levels; a key policy inside is a string


class _Refused(ValueError):
    """Why a document is refused; becomes a SerializationException."""


def strict_loads(text: bytes, *, what: str = "The request body") -> Any:
    """Parse ``text`` as JSON that every later stage can handle, or raise
    SerializationException naming what is wrong. Every check runs at C speed (no
    per-character Python loop), so a hostile body costs about what parsing it costs."""
    try:
        decoded = text.decode("utf-8")
        if not _shallow(text):
            raise _Refused(f"it nests deeper than {MAX_DEPTH} levels")
        if decoded.startswith("\ufeff"):  # json.loads refuses it so, before decoding
            raise ValueError("a byte order mark")
        document = _DECODER.decode(decoded)
        # Decoded UTF-8 holds no surrogate: only a \uD800-style escape can put one in.
        if b"\\u" in text:
            _unicode(document)
    except _Refused as refused:
        raise SerializationException(f"{what} is not valid JSON: {refused}.") from None
    except RecursionError:  # not reached: _shallow bounds the nesting first
        raise SerializationException(f"{what} is not valid JSON: it nests too deep.") from None
    except (ValueError, UnicodeDecodeError):
        raise SerializationException(f"{what} is not valid JSON.") from None
    return document


# A JSON string (quotes included). The closing quote is optional so that a match starting
# at any quote always succeeds: an unterminated string is consumed once, never rescanned
# from each of its escaped quotes (which made a 1 MiB body quadratic). The parser refuses
# the unterminated string afterwards.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _shallow(text: bytes) -> bool:
    """Whether ``text`` nests at most MAX_DEPTH deep: strings dropped, only brackets kept,
    then innermost pairs removed, one level per pass. Unbalanced text is left to the parser."""
    if text.count(b"[") + text.count(b"{") <= MAX_DEPTH:
        return True
    structure = _STRING.sub(b"", text).translate(None, _NOT_BRACKETS)
    for _ in range(MAX_DEPTH):
        reduced = structure.replace(b"{}", b"").replace(b"[]", b"")
        if reduced == structure:
            return True  # empty, or not balanced: the parser says what is wrong
        structure = reduced
    return not structure or structure == structure.replace(b"{}", b"").replace(b"[]", b"")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _Refused("a member name appears more than once in an object")
    return document


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("a number is out of range")
    return value


# What json.loads(..., object_pairs_hook=..., parse_constant=..., parse_float=...) builds
# on every call, built once.
_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant, parse_float=_float)


def _unicode(document: Any) -> None:
    """Refuse any string, member names included, that is not Unicode text (a lone
    surrogate): encoding the whole document as UTF-8 finds one, at C speed."""
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused(
            "a string holds a lone UTF-16 surrogate, which is not Unicode text"
        ) from None
