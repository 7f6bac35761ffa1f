"""GetPublicKey, Sign and Verify: asymmetric keys (RSA, ECC, ML-DSA)."""

from __future__ import annotations

from collections.abc import Callable

from sealbox.server import keypairs
from sealbox.server.access.authorization import request_alias_keys
from sealbox.server.errors import KMSInvalidSignatureException, UnsupportedOperationException
from sealbox.server.key_specs import SIGN_VERIFY, KeySpec, spec_of
from sealbox.server.operations.grants import check_grant_tokens
from sealbox.server.operations.pairs import (
    check_algorithm,
    offloaded,
    private_key,
    usable_key,
)
from sealbox.server.operations.table import Params, Result, operation, stop_if_dry_run
from sealbox.server.service import Caller, KmsService, require_usable


@operation("GetPublicKey")
def get_public_key(service: KmsService, caller: Caller, params: Params) -> Result:
    key_param = params["KeyId"]
    entry = service.resolve(caller, key_param)
    check_grant_tokens(params)
    service.authorize(caller, "GetPublicKey", entry, context=request_alias_keys(key_param))
    record = entry.record
    spec = spec_of(record.key_spec)
    if not spec.asymmetric:
        raise UnsupportedOperationException(
            f"{record.arn} key usage is {record.key_usage} and key spec is {record.key_spec}; "
            "GetPublicKey works only with asymmetric KMS keys."
        )
    require_usable(entry)
    field, algorithms = spec.algorithms(record.key_usage)
    return {
        "KeyId": record.arn,
        "PublicKey": keypairs.public_der(private_key(service, entry)),
        "CustomerMasterKeySpec": record.key_spec,
        "KeySpec": record.key_spec,
        "KeyUsage": record.key_usage,
        field: list(algorithms),
    }


def _signing_request(
    service: KmsService, caller: Caller, params: Params, action: str
) -> tuple[keypairs.SigningAlgorithm, keypairs.PrivateKey, str]:
    """Every check of Sign and Verify: the algorithm, the message, the key."""
    name = params["SigningAlgorithm"]
    message_type = params.get("MessageType", "RAW")
    condition_keys = {"kms:signingalgorithm": name, "kms:messagetype": message_type}
    entry = usable_key(service, caller, params, action, SIGN_VERIFY, condition_keys)
    check_algorithm(entry, name)
    algorithm = keypairs.SIGNING[name]
    keypairs.check_message(algorithm, entry.record.key_spec, params["Message"], message_type)
    key = private_key(service, entry)
    stop_if_dry_run(params)
    return algorithm, key, entry.record.arn


def _sign(service: KmsService, caller: Caller, params: Params) -> Callable[[], Result]:
    algorithm, key, arn = _signing_request(service, caller, params, "Sign")
    message, message_type = params["Message"], params.get("MessageType", "RAW")

    def work() -> Result:
        signature = keypairs.sign(key, algorithm, message, message_type)
        return {"KeyId": arn, "Signature": signature, "SigningAlgorithm": algorithm.name}

    return work


def _verify(service: KmsService, caller: Caller, params: Params) -> Callable[[], Result]:
    algorithm, key, arn = _signing_request(service, caller, params, "Verify")
    message, message_type = params["Message"], params.get("MessageType", "RAW")

    def work() -> Result:
        public = key.public_key()
        if not keypairs.verify(public, algorithm, message, message_type, params["Signature"]):
            raise KMSInvalidSignatureException(
                "The signature is not valid for this message, key and signing algorithm."
            )
        return {"KeyId": arn, "SignatureValid": True, "SigningAlgorithm": algorithm.name}

    return work


def _private_key_work_is_costly(spec: KeySpec) -> bool:
    return spec.costly


def _public_key_work_is_costly(spec: KeySpec) -> bool:  # RSA and ECC: microseconds
    return spec.family == "ml-dsa"


_prepare_sign, _handle_sign = offloaded(_sign, _private_key_work_is_costly)
_prepare_verify, _handle_verify = offloaded(_verify, _public_key_work_is_costly)
operation("Sign", prepare=_prepare_sign)(_handle_sign)
operation("Verify", prepare=_prepare_verify)(_handle_verify)
