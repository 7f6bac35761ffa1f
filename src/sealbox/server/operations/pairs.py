"""What the key-pair operations share: finding the key and checking its state, usage and
algorithm; its private key, parsed once per worker; and running private-key work (RSA,
ML-DSA: milliseconds of CPU) in the work pool instead of on the event loop."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from sealbox.server.access.authorization import request_alias_keys
from sealbox.server.access.conditions import ContextValue
from sealbox.server.errors import InvalidKeyUsageException, KMSInternalException
from sealbox.server.key_specs import KeySpec, spec_of
from sealbox.server.keypairs import PrivateKey, load_private
from sealbox.server.operations.grants import check_grant_tokens
from sealbox.server.operations.table import Handler, Params, Preparation, Result
from sealbox.server.service import Caller, KeyEntry, KmsService, require_usable
from sealbox.server.workpool import prepared

#: the checks of one request, returning its work (run inline or in the work pool)
Work = Callable[[KmsService, Caller, Params], Callable[[], Result]]


def usable_key(
    service: KmsService,
    caller: Caller,
    params: Params,
    action: str,
    usage: str,
    condition_keys: Mapping[str, ContextValue] | None = None,
) -> KeyEntry:
    """The request's KeyId, authorized for ``action``, enabled, and of key usage ``usage``."""
    key_param = params["KeyId"]
    entry = service.resolve(caller, key_param)
    check_grant_tokens(params)
    keys = {**(condition_keys or {}), **request_alias_keys(key_param)}
    service.authorize(caller, action, entry, context=keys)
    require_usable(entry)
    check_usage(entry, action, usage)
    return entry


def check_usage(entry: KeyEntry, action: str, usage: str) -> None:
    record = entry.record
    if record.key_usage != usage:  # not secret: the key's usage
        raise InvalidKeyUsageException(
            f"{record.arn} key usage is {record.key_usage} which is not valid for {action}."
        )


def check_algorithm(entry: KeyEntry, algorithm: str) -> None:
    """``algorithm`` is one the key offers (DescribeKey lists them)."""
    record = entry.record
    _, offered = spec_of(record.key_spec).algorithms(record.key_usage)
    if algorithm not in offered:
        raise incompatible_algorithm(algorithm, record.key_spec)


def incompatible_algorithm(algorithm: str, key_spec: str) -> InvalidKeyUsageException:
    """AWS's answer for an algorithm the key's spec does not offer."""
    return InvalidKeyUsageException(
        f"Algorithm {algorithm} is incompatible with key spec {key_spec}."
    )


def private_key(service: KmsService, entry: KeyEntry) -> PrivateKey:
    """The key pair's current private key (unwrapped and parsed once per worker)."""
    material_id = entry.record.current_material_id
    if material_id is None:
        raise KMSInternalException("the key has no current key material")
    key = entry.private_keys.get(material_id)
    if key is None:
        der = service.material(entry, material_id)
        if der is None:
            raise KMSInternalException("the key has no current key material")
        key = entry.private_keys[material_id] = load_private(der)
    return key


def offloaded(work: Work, costly: Callable[[KeySpec], bool]) -> tuple[Preparation, Handler]:
    """An operation's preparation and handler around ``work``: with a key whose spec is
    ``costly``, the checks run first and the work in the pool (a refused request costs no
    work); otherwise both run in the handler, on the event loop."""

    def prepare(service: KmsService, caller: Caller, params: Params) -> Callable[[], Result] | None:
        scratch = dataclasses.replace(caller, keys=[])  # a peek: the work records the key
        if not costly(spec_of(service.resolve(scratch, params["KeyId"]).record.key_spec)):
            return None
        return work(service, caller, params)

    def handler(service: KmsService, caller: Caller, params: Params) -> Result:
        result = prepared()
        if isinstance(result, dict):
            return result
        return work(service, caller, params)()

    return prepare, handler
