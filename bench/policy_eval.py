"""Worst-case key policy evaluation: policies at the 32 KB quota with adversarial patterns,
matched against 8 KiB request values.

    python -m bench.policy_eval                 # every shape, 200 evaluations each
    python -m bench.policy_eval --runs 1000

Each shape fills one key policy up to (not over) KEY_POLICY_MAX_BYTES and is evaluated
with ``Policy.evaluate`` exactly as a request would be (Deny statements, so every
statement and condition is evaluated and none matches). Prints the size of the policy,
then the median and the 99th percentile of one evaluation in microseconds. Single-threaded,
pure CPU; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from sealbox.server.access.conditions import encryption_context_keys
from sealbox.server.access.policy_language import KEY_POLICY_MAX_BYTES, Policy, Request

VALUE_SIZE = 8192
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PREFIX = "kms:EncryptionContext:"


@dataclass(frozen=True)
class Shape:
    name: str
    # (index) -> one condition value (pattern); filled until the policy reaches the quota
    pattern: Callable[[int], str]
    context_value: str
    operator: str = "StringLike"
    per_statement: int = 0  # 0: all values in one condition; else values per statement


def _policy(shape: Shape) -> str:
    """The largest policy of this shape within the quota."""
    values: list[str] = []

    def render(items: list[str]) -> str:
        if shape.per_statement:
            chunks = [
                items[i : i + shape.per_statement]
                for i in range(0, len(items), shape.per_statement)
            ]
        else:
            chunks = [items]
        statements = [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:Encrypt",
                "Resource": "*",
                "Condition": {shape.operator: {f"{PREFIX}v": chunk}},
            }
            for chunk in chunks
        ]
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    best = render([shape.pattern(0)])
    step = 1024
    while step:
        candidate_values = values + [shape.pattern(len(values) + i) for i in range(step)]
        text = render(candidate_values)
        if len(text.encode()) <= KEY_POLICY_MAX_BYTES:
            values, best = candidate_values, text
        else:
            step //= 2
    return best


def _distinct(i: int) -> str:
    """A short string distinct per index (letters other than the value's)."""
    letters = "bcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        out += letters[i % len(letters)]
        i //= len(letters)
        if not i:
            return out


SHAPES = [
    # the pattern, long: every '-' found at once, the '!' nowhere
    Shape("stars and dashes, one huge pattern", lambda i: "*-" * 4000 + "*!", "-" * VALUE_SIZE),
    Shape("issue pattern '*-*-...*!', many", lambda i: "*-" * 12 + "*!", "-" * VALUE_SIZE),
    # unanchored literal never found: each pattern scans the whole value
    Shape("'*a<x>*' scans, many", lambda i: f"*a{_distinct(i)}*", "a" * VALUE_SIZE),
    # '?' segment: the quantifier-free search is O(value x segment) in C
    Shape("'?' segment, one long", lambda i: "*" + "a?" * 2000 + "b*", "a" * VALUE_SIZE),
    Shape("'?' segments, many short", lambda i: "*a?a?a?" + _distinct(i) + "*", "a" * VALUE_SIZE),
    # many statements, each with its own condition
    Shape(
        "statements, 4 patterns each",
        lambda i: f"*a{_distinct(i)}*",
        "a" * VALUE_SIZE,
        per_statement=4,
    ),
    Shape(
        "ArnLike parts, many",
        lambda i: f"arn:*:*:*:*:a{_distinct(i)}*",
        "a" * VALUE_SIZE,
        operator="ArnLike",
    ),
    Shape(
        "StringEquals, many",
        lambda i: f"a{_distinct(i)}",
        "a" * VALUE_SIZE,
        operator="StringEquals",
    ),
]


def measure(shape: Shape, runs: int) -> tuple[int, float, float, bool]:
    text = _policy(shape)
    policy = Policy.parse(text, key_policy=True)
    context = encryption_context_keys({"v": shape.context_value})
    request = Request(
        "arn:aws:iam::111122223333:user/alice", "111122223333", "kms:Encrypt", KEY, context
    )
    timings = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        verdict = policy.evaluate(request)
        timings.append((time.perf_counter_ns() - started) / 1000)
    # a Deny here means the evaluation ran out of its work budget (EVALUATION_BUDGET)
    p99 = statistics.quantiles(timings, n=100)[98]
    return len(text.encode()), statistics.median(timings), p99, verdict.deny


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    print(f"{'shape':42} {'bytes':>6} {'median µs':>10} {'p99 µs':>10}  outcome")
    for shape in SHAPES:
        size, median, p99, over = measure(shape, args.runs)
        outcome = "over budget: denied" if over else "evaluated"
        print(f"{shape.name:42} {size:>6} {median:>10.1f} {p99:>10.1f}  {outcome}")


if __name__ == "__main__":
    main()
