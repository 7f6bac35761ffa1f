"""The operation table: each operation module registers its operations here.

The table owns every property of an operation the dispatcher acts on: its handler,
whether it changes state (then it runs in one transaction with its audit record),
the blocking part it runs in the work pool first, and whether Sealbox implements it
at all. Nothing about an operation is kept in a second list.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sealbox.server.regions import confine_request
from sealbox.server.service import Caller, KmsService

Params = dict[str, Any]
Result = dict[str, Any]
Handler = Callable[[KmsService, Caller, Params], Result]
# The CPU-heavy or blocking part of an operation: it raises the errors the handler would
# raise first (so a refused request costs no work) and returns the job, or None.
Preparation = Callable[[KmsService, Caller, Params], Callable[[], Any] | None]


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    handler: Handler
    mutating: bool  # changes the store: runs in one transaction with its audit record
    prepare: Preparation | None = None  # run in the work pool before the handler
    supported: bool = True  # False: answered UnsupportedOperationException


OPERATIONS: dict[str, Operation] = {}


def stop_if_dry_run(params: Params) -> None:
    """Answer a DryRun request, once every check a real one makes has passed."""
    if params.get("DryRun"):
        from sealbox.server.errors import DryRunOperationException

        raise DryRunOperationException(
            "The request would have succeeded, but the DryRun option is set."
        )


def operation(
    name: str,
    *,
    mutating: bool = False,
    prepare: Preparation | None = None,
    supported: bool = True,
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``name``; every registered handler first refuses a key or alias
    ARN of another region (members found from the model), so no operation can forget to."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def confined(service: KmsService, caller: Caller, params: Params) -> Result:
            confine_request(caller.region, name, params)
            return handler(service, caller, params)

        if name in OPERATIONS:
            raise RuntimeError(f"operation {name} registered twice")
        OPERATIONS[name] = Operation(name, confined, mutating, prepare, supported)
        return handler

    return register
