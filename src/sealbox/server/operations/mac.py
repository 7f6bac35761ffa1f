"""GenerateMac and VerifyMac: HMAC with a key's material (HMAC_224 … HMAC_512 keys)."""

from __future__ import annotations

import hashlib
import hmac

from sealbox.server.access.authorization import request_alias_keys
from sealbox.server.errors import (
    InvalidKeyUsageException,
    KMSInternalException,
    KMSInvalidMacException,
)
from sealbox.server.key_specs import GENERATE_VERIFY_MAC, spec_of
from sealbox.server.operations.grants import check_grant_tokens
from sealbox.server.operations.pairs import incompatible_algorithm
from sealbox.server.operations.table import Params, Result, operation, stop_if_dry_run
from sealbox.server.service import Caller, KeyEntry, KmsService, require_usable

_HASHES = {
    "HMAC_SHA_224": hashlib.sha224,
    "HMAC_SHA_256": hashlib.sha256,
    "HMAC_SHA_384": hashlib.sha384,
    "HMAC_SHA_512": hashlib.sha512,
}


def _mac(
    service: KmsService, caller: Caller, params: Params, action: str
) -> tuple[KeyEntry, bytes]:
    """The key's MAC of the request's message, once every check has passed."""
    key_param = params["KeyId"]
    entry = service.resolve(caller, key_param)
    check_grant_tokens(params)
    algorithm = params["MacAlgorithm"]
    condition_keys = {"kms:macalgorithm": algorithm, **request_alias_keys(key_param)}
    service.authorize(caller, action, entry, context=condition_keys)
    record = require_usable(entry)
    if record.key_usage != GENERATE_VERIFY_MAC:  # not secret: the key's usage
        raise InvalidKeyUsageException(
            f"{record.arn} key usage is {record.key_usage} which is not valid for {action}."
        )
    expected = spec_of(record.key_spec).mac_algorithm
    if algorithm != expected:
        raise incompatible_algorithm(algorithm, record.key_spec)
    material_id = record.current_material_id
    material = service.material(entry, material_id) if material_id else None
    if material is None:
        raise KMSInternalException("the key has no current key material")
    stop_if_dry_run(params)
    return entry, hmac.new(material, params["Message"], _HASHES[algorithm]).digest()


@operation("GenerateMac")
def generate_mac(service: KmsService, caller: Caller, params: Params) -> Result:
    entry, mac = _mac(service, caller, params, "GenerateMac")
    return {"Mac": mac, "MacAlgorithm": params["MacAlgorithm"], "KeyId": entry.record.arn}


@operation("VerifyMac")
def verify_mac(service: KmsService, caller: Caller, params: Params) -> Result:
    entry, mac = _mac(service, caller, params, "VerifyMac")
    if not hmac.compare_digest(mac, params["Mac"]):
        raise KMSInvalidMacException("The MAC is not valid for this message and key.")
    return {"KeyId": entry.record.arn, "MacValid": True, "MacAlgorithm": params["MacAlgorithm"]}
