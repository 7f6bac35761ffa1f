"""Policy wildcards matched in linear time, and the work budget of one policy evaluation. Pure.

Everything a request can influence is matched in time linear in its size: ``*`` and ``?``
patterns are compiled once, when the policy is parsed, into literal segments found with
``str.find`` (greedy leftmost, which is exact for ``*``) and fixed-length ``?`` segments (a
quantifier-free expression, which cannot backtrack). The size of every stored policy is
capped as AWS caps it, which bounds the work of one evaluation; the :class:`Budget` caps it
again per evaluation.
"""

from __future__ import annotations

import re

# -- bounded work --------------------------------------------------------------------------

# Work units one evaluation of one policy may spend matching request values. A unit is about
# one character compared in C (a few nanoseconds); every comparison call also costs CALL_UNITS,
# about its Python overhead: the budget is roughly half a millisecond of work. A policy that
# would need more denies the request, as an explicit Deny would: only a policy built to be
# costly reaches it, and it refuses only requests to its own key (or its own user's).
EVALUATION_BUDGET = 100_000
CALL_UNITS = 256


class TooCostly(Exception):
    """A policy evaluation ran out of its work budget (internal: the policy evaluation that
    started the budget turns it into a Deny)."""


class Budget:
    __slots__ = ("left",)

    def __init__(self, units: int = EVALUATION_BUDGET) -> None:
        self.left = units

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise TooCostly


UNBOUNDED_UNITS = 1 << 62


# -- linear-time wildcard matching ----------------------------------------------------------


class _Segment:
    """A run of the pattern between two ``*``: literal text, or text with ``?`` in it."""

    __slots__ = ("length", "literal", "wild")

    def __init__(self, text: str) -> None:
        self.length = len(text)
        self.literal = text if "?" not in text else None
        # ``?`` matches one character: a fixed-length expression with no quantifier, so
        # matching it at one position is O(length) and searching is O(value x length) in C.
        self.wild = (
            None
            if self.literal is not None
            else re.compile("".join("." if c == "?" else re.escape(c) for c in text), re.DOTALL)
        )

    def at(self, value: str, position: int) -> bool:
        if self.literal is not None:
            return value.startswith(self.literal, position)
        assert self.wild is not None
        return self.wild.match(value, position) is not None

    def find(self, value: str, start: int, end: int, budget: Budget) -> int:
        span = end - start
        if self.literal is not None:
            budget.spend(span)  # str.find is linear (two-way search for long needles)
            return value.find(self.literal, start, end)
        assert self.wild is not None
        budget.spend(max(1, span - self.length + 1) * self.length)  # its worst case
        found = self.wild.search(value, start, end)
        return -1 if found is None else found.start()


class Glob:
    """A ``*``/``?`` pattern, compiled once. ``*`` matches any run of characters (``/`` and
    ``:`` included), ``?`` exactly one. Matching never backtracks: the segments between stars
    are found left to right, each at its leftmost place, which is exact for ``*``."""

    __slots__ = (
        "_exact",
        "_head",
        "_middle",
        "_min_length",
        "_starred",
        "_tail",
        "_units",
    )

    def __init__(self, pattern: str) -> None:
        parts = pattern.split("*")
        self._starred = len(parts) > 1
        self._exact = pattern if not self._starred and "?" not in pattern else None
        self._head = _Segment(parts[0])
        self._tail = _Segment(parts[-1]) if self._starred else _Segment("")
        self._middle = tuple(_Segment(p) for p in parts[1:-1] if p)
        self._min_length = len(pattern) - (len(parts) - 1)
        self._units = CALL_UNITS + self._head.length + self._tail.length

    def match(self, value: str, budget: Budget | None = None) -> bool:
        if budget is not None:  # Budget.spend inlined: this is the hottest call
            budget.left -= self._units
            if budget.left < 0:
                raise TooCostly
        if self._exact is not None:
            return value == self._exact
        size = len(value)
        if size < self._min_length:
            return False
        if not self._starred:
            return size == self._head.length and self._head.at(value, 0)
        head, tail = self._head, self._tail
        end = size - tail.length
        if tail.literal is not None:  # the common case, without a call per segment
            if not value.endswith(tail.literal):
                return False
        elif not tail.at(value, end):
            return False
        if head.literal is not None:
            if not value.startswith(head.literal):
                return False
        elif not head.at(value, 0):
            return False
        if not self._middle:
            return True
        budget = budget or Budget(UNBOUNDED_UNITS)
        position = self._head.length
        for segment in self._middle:
            found = segment.find(value, position, end, budget)
            if found < 0:
                return False
            position = found + segment.length
        return True


class ArnPattern:
    """``ArnEquals``/``ArnLike`` as IAM matches them: each of the six colon-separated parts
    separately (the last one keeps its colons), wildcards within a part, case-sensitive."""

    __slots__ = ("_parts",)

    def __init__(self, pattern: str) -> None:
        parts = pattern.split(":", 5)
        self._parts = tuple(Glob(p) for p in parts) if len(parts) == 6 else None

    def match(self, value: str, budget: Budget | None = None) -> bool:
        budget = budget or Budget(UNBOUNDED_UNITS)
        budget.spend(CALL_UNITS + len(value))
        parts = value.split(":", 5)
        if self._parts is None or len(parts) != 6:
            return False
        return all(g.match(part, budget) for g, part in zip(self._parts, parts, strict=True))
