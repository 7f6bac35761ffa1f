"""GenerateMac and VerifyMac: HMAC with a key's material (HMAC_224 … HMAC_512 keys)."""

from __future__ import annotations

import hashlib
import hmac

from sealbox.server.errors import KMSInternalException, KMSInvalidMacException
from sealbox.server.key_specs import GENERATE_VERIFY_MAC
from sealbox.server.operations.pairs import check_algorithm, usable_key
from sealbox.server.operations.table import Params, Result, operation, stop_if_dry_run
from sealbox.server.service import Caller, KeyEntry, KmsService

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
    algorithm = params["MacAlgorithm"]
    condition_keys = {"kms:macalgorithm": algorithm}
    entry = usable_key(service, caller, params, action, GENERATE_VERIFY_MAC, condition_keys)
    check_algorithm(entry, algorithm)
    record = entry.record
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
