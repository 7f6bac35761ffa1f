"""KMS operations, one module per family, and Sealbox's own (lookup_events); the tables
they register in are in table.py."""

from __future__ import annotations

from sealbox.server.operations.table import OPERATIONS, SEALBOX_OPERATIONS, Operation


def load_all() -> dict[str, Operation]:
    """Import every operation module (registering it) and return the table."""
    from sealbox.server.operations import (  # noqa: F401
        aliases,
        crypto,
        data_key_pairs,
        grants,
        imports,
        key_agreement,
        keys,
        mac,
        multi_region,
        policies,
        rotation,
        signing,
        tags,
        unsupported,
    )
    from sealbox.server.regions import key_name_members

    key_name_members()  # read the model now (~0.1 s), not during a worker's first request
    return OPERATIONS


def load_sealbox() -> dict[str, Operation]:
    """Import Sealbox's own operations (registering them) and return their table."""
    from sealbox.server.operations import lookup_events  # noqa: F401

    return SEALBOX_OPERATIONS
