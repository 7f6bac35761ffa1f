"""Prometheus metrics (multi-process aware: workers share a directory when one is set).

Labels never carry key ids (cardinality): the operation, the outcome, the store's kind.
Every metric has a label, so that importing this module creates no file in the
multi-process directory (a process first makes its files private: see private_umask).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REQUESTS = Counter(
    "sealbox_requests_total", "KMS requests by operation and outcome", ["operation", "outcome"]
)
DURATION = Histogram(
    "sealbox_request_duration_seconds",
    "Time to answer a KMS request",
    ["operation"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
# The store's write path, per batch or transaction (not per request): what bounds a
# store's throughput (docs/performance.md). On SQLite both hold the store's one writer.
AUDIT_BATCH_SECONDS = Histogram(
    "sealbox_audit_batch_seconds",
    "Time to commit one group-committed batch of audit records (on SQLite, with the writer lock held)",
    ["store"],
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 1.0),
)
AUDIT_BATCH_RECORDS = Histogram(
    "sealbox_audit_batch_records",
    "Audit records committed together in one batch",
    ["store"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 512),
)
CHANGE_SECONDS = Histogram(
    "sealbox_store_change_seconds",
    "Time a state change's transaction holds the store's writer lock",
    ["store"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 1.0),
)


_children: dict[tuple[str, str], tuple[Any, Any]] = {}


def observe(operation: str, outcome: str, seconds: float) -> None:
    children = _children.get((operation, outcome))
    if children is None:  # labels() costs more than the update itself
        children = _children[(operation, outcome)] = (
            REQUESTS.labels(operation, outcome),
            DURATION.labels(operation),
        )
    children[0].inc()
    children[1].observe(seconds)


def observe_audit_batch(store: str, records: int, seconds: float) -> None:
    """One audit batch of ``records`` committed in ``seconds`` (``store``: "sqlite", ...)."""
    AUDIT_BATCH_SECONDS.labels(store).observe(seconds)
    AUDIT_BATCH_RECORDS.labels(store).observe(records)


def observe_change(store: str, seconds: float) -> None:
    CHANGE_SECONDS.labels(store).observe(seconds)


def exposition() -> bytes:
    """The text exposition format; aggregated over workers in multi-process mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
