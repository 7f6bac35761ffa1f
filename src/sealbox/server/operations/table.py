"""The operation tables: each operation module registers its operations here.

A table owns every property of an operation the dispatcher acts on: its handler,
whether it changes state (then it runs in one transaction with its audit record),
the blocking part it runs in the work pool first, and whether Sealbox implements it
at all. Nothing about an operation is kept in a second list.

Two namespaces, each its own table: the KMS API (``TrentService.*``, requests validated
against botocore's KMS model), and Sealbox's own operations (``Sealbox_20261128.*``,
e.g. LookupEvents), each with a validator of its own and audited with its own
``eventSource``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sealbox.server.regions import confine_request
from sealbox.server.service import Caller, KmsService

KMS_EVENT_SOURCE = "kms.amazonaws.com"
# Sealbox's own operations are API calls too, named as CloudTrail names a service's source.
SEALBOX_EVENT_SOURCE = "sealbox.amazonaws.com"

Params = dict[str, Any]
Result = dict[str, Any]
Handler = Callable[[KmsService, Caller, Params], Result]
# A request body (parsed JSON) checked and normalized into the handler's parameters.
Validator = Callable[[Any], Params]
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
    validate: Validator | None = None  # None: the KMS model's validation of ``name``
    event_source: str = KMS_EVENT_SOURCE  # the audit record's eventSource


OPERATIONS: dict[str, Operation] = {}  # the KMS API: TrentService.<name>
SEALBOX_OPERATIONS: dict[str, Operation] = {}  # Sealbox's own: Sealbox_20261128.<name>


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


def sealbox_operation(
    name: str, *, validate: Validator, prepare: Preparation | None = None
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``name`` in Sealbox's own namespace. Such an operation names
    no key in the KMS model's members, so there is nothing for the region check to confine;
    it validates its input with ``validate`` and changes no state."""

    def register(handler: Handler) -> Handler:
        if name in SEALBOX_OPERATIONS:
            raise RuntimeError(f"operation {name} registered twice")
        SEALBOX_OPERATIONS[name] = Operation(
            name,
            handler,
            mutating=False,
            prepare=prepare,
            validate=validate,
            event_source=SEALBOX_EVENT_SOURCE,
        )
        return handler

    return register
