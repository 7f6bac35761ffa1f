"""KMS operations, one module per family; each registers its handlers here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sealbox.server.service import Caller, KmsService

Params = dict[str, Any]
Result = dict[str, Any]
Handler = Callable[[KmsService, Caller, Params], Result]

OPERATIONS: dict[str, Handler] = {}


def stop_if_dry_run(params: Params) -> None:
    """Answer a DryRun request, once every check a real one makes has passed."""
    if params.get("DryRun"):
        from sealbox.server.errors import DryRunOperationException

        raise DryRunOperationException(
            "The request would have succeeded, but the DryRun option is set."
        )


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
