"""KMS operations, one module per family; each registers its handlers here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sealbox.server.service import Caller, KmsService

Params = dict[str, Any]
Result = dict[str, Any]
Handler = Callable[[KmsService, Caller, Params], Result]

OPERATIONS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        OPERATIONS[name] = handler
        return handler

    return register


def load_all() -> dict[str, Handler]:
    """Import every operation module (registering it) and return the table."""
    from sealbox.server.operations import (  # noqa: F401
        aliases,
        crypto,
        grants,
        imports,
        keys,
        policies,
        rotation,
        tags,
        unsupported,
    )

    return OPERATIONS
