"""KMS operations, one module per family; each registers its handlers here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sealbox.server.service import Caller, KmsService, confine_request, key_name_members

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
    """Register ``handler`` for ``name``; every registered handler first refuses a key or alias
    ARN of another region (members found from the model), so no operation can forget to."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def confined(service: KmsService, caller: Caller, params: Params) -> Result:
            confine_request(caller, name, params)
            return handler(service, caller, params)

        OPERATIONS[name] = confined
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

    key_name_members()  # read the model now (~0.1 s), not during a worker's first request
    return OPERATIONS
