"""Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom."""

from __future__ import annotations

import os
from typing import Any

from sealbox.server.access.authorization import request_alias_keys
from sealbox.server.ciphertext.envelope import INVALID, open_blob, parse_blob, seal
from sealbox.server.errors import (
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KMSInternalException,
    UnsupportedOperationException,
    ValidationException,
)
from sealbox.server.key_specs import ENCRYPT_DECRYPT
from sealbox.server.operations.grants import check_grant_tokens
from sealbox.server.operations.table import Params, Result, operation, stop_if_dry_run
from sealbox.server.service import Caller, KeyEntry, KmsService, require_usable

SYMMETRIC = "SYMMETRIC_DEFAULT"
DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}


def _check_algorithm(entry: KeyEntry, algorithm: str | None) -> None:
    if algorithm not in (None, SYMMETRIC):
        raise InvalidKeyUsageException(
            f"{entry.record.arn} does not support encryption algorithm {algorithm}; use {SYMMETRIC}."
        )


def _check_usage(entry: KeyEntry, action: str) -> None:
    usage = entry.record.key_usage
    if usage != ENCRYPT_DECRYPT:
        raise InvalidKeyUsageException(
            f"{entry.record.arn} key usage is {usage} which is not valid for {action}."
        )


def _refuse_recipient(params: Params) -> None:
    if params.get("Recipient"):
        raise UnsupportedOperationException(
            "Recipient (Nitro Enclaves attestation) is not supported by Sealbox."
        )


def _encryption_key(
    service: KmsService, caller: Caller, key_param: str, action: str, context: dict[str, str]
) -> tuple[KeyEntry, str, bytes]:
    entry = service.resolve(caller, key_param)
    service.authorize(
        caller, action, entry, encryption_context=context, context=request_alias_keys(key_param)
    )
    record = require_usable(entry)
    _check_usage(entry, action)
    material = (
        service.material(entry, record.current_material_id) if record.current_material_id else None
    )
    if record.current_material_id is None or material is None:
        raise KMSInternalException("the key has no current key material")
    return entry, record.current_material_id, material


def _seal(
    service: KmsService,
    caller: Caller,
    params: Params,
    key_param: str,
    action: str,
    plaintext: bytes,
    context: dict[str, str],
) -> tuple[KeyEntry, str, bytes]:
    check_grant_tokens(params)
    entry, material_id, material = _encryption_key(service, caller, key_param, action, context)
    stop_if_dry_run(params)
    return entry, material_id, seal(entry.record.key_id, material_id, material, plaintext, context)


def _open(
    service: KmsService,
    caller: Caller,
    blob: bytes,
    context: dict[str, str],
    key_param: str | None,
    action: str,
    params: Params,
) -> tuple[KeyEntry, str, bytes]:
    header, packed, body = parse_blob(blob)
    entry = service.reach(caller, header.key_id)
    if entry is None:  # also a blob made in another region: AWS cannot tell it from garbage
        raise InvalidCiphertextException(INVALID)
    caller.keys.append(entry.record.arn)
    if key_param is not None:
        named = service.resolve(caller, key_param)
        if named.record.key_id != entry.record.key_id:
            raise IncorrectKeyException(
                "The key ID in the request does not identify a CMK that can perform this operation."
            )
    check_grant_tokens(params)
    service.authorize(
        caller, action, entry, encryption_context=context, context=request_alias_keys(key_param)
    )
    require_usable(entry)
    material = service.material(entry, header.material_id)
    if material is None:
        raise InvalidCiphertextException(INVALID)
    ignore_ciphertext = "IGNORE_CIPHERTEXT" in params.get("DryRunModifiers", ())
    if ignore_ciphertext:
        stop_if_dry_run(params)
    plaintext = open_blob(header, packed, body, material, context)
    stop_if_dry_run(params)
    return entry, header.material_id, plaintext


@operation("Encrypt")
def encrypt(service: KmsService, caller: Caller, params: Params) -> Result:
    entry, _, blob = _seal(
        service,
        caller,
        params,
        params["KeyId"],
        "Encrypt",
        params["Plaintext"],
        params.get("EncryptionContext", {}),
    )
    _check_algorithm(entry, params.get("EncryptionAlgorithm"))
    return {"CiphertextBlob": blob, "KeyId": entry.record.arn, "EncryptionAlgorithm": SYMMETRIC}


def _require_blob(params: Params) -> None:
    """The model leaves CiphertextBlob optional; a symmetric key needs it, and AWS answers so."""
    if "CiphertextBlob" not in params:
        raise ValidationException(
            "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: "
            "Member must not be null"
        )


@operation("Decrypt")
def decrypt(service: KmsService, caller: Caller, params: Params) -> Result:
    _refuse_recipient(params)
    _require_blob(params)
    entry, material_id, plaintext = _open(
        service,
        caller,
        params["CiphertextBlob"],
        params.get("EncryptionContext", {}),
        params.get("KeyId"),
        "Decrypt",
        params,
    )
    _check_algorithm(entry, params.get("EncryptionAlgorithm"))
    return {
        "KeyId": entry.record.arn,
        "Plaintext": plaintext,
        "EncryptionAlgorithm": SYMMETRIC,
        "KeyMaterialId": material_id,
    }


@operation("ReEncrypt")
def re_encrypt(service: KmsService, caller: Caller, params: Params) -> Result:
    _require_blob(params)
    source, source_material, plaintext = _open(
        service,
        caller,
        params["CiphertextBlob"],
        params.get("SourceEncryptionContext", {}),
        params.get("SourceKeyId"),
        "ReEncryptFrom",
        {**params, "DryRun": False},
    )
    _check_algorithm(source, params.get("SourceEncryptionAlgorithm"))
    target, target_material, blob = _seal(
        service,
        caller,
        params,
        params["DestinationKeyId"],
        "ReEncryptTo",
        plaintext,
        params.get("DestinationEncryptionContext", {}),
    )
    _check_algorithm(target, params.get("DestinationEncryptionAlgorithm"))
    return {
        "CiphertextBlob": blob,
        "SourceKeyId": source.record.arn,
        "KeyId": target.record.arn,
        "SourceEncryptionAlgorithm": SYMMETRIC,
        "DestinationEncryptionAlgorithm": SYMMETRIC,
        "SourceKeyMaterialId": source_material,
        "DestinationKeyMaterialId": target_material,
    }


def _data_key_length(params: Params) -> int:
    spec, size = params.get("KeySpec"), params.get("NumberOfBytes")
    if spec is None and size is None:
        raise ValidationException("Please specify either number of bytes or key spec.")
    if spec is not None and size is not None:
        raise ValidationException("Please specify either number of bytes or key spec, not both.")
    return DATA_KEY_BYTES[spec] if spec is not None else int(size or 0)


def _data_key(service: KmsService, caller: Caller, params: Params, action: str) -> dict[str, Any]:
    length = _data_key_length(params)
    data_key = os.urandom(length)
    entry, material_id, blob = _seal(
        service,
        caller,
        params,
        params["KeyId"],
        action,
        data_key,
        params.get("EncryptionContext", {}),
    )
    return {
        "CiphertextBlob": blob,
        "Plaintext": data_key,
        "KeyId": entry.record.arn,
        "KeyMaterialId": material_id,
    }


@operation("GenerateDataKey")
def generate_data_key(service: KmsService, caller: Caller, params: Params) -> Result:
    _refuse_recipient(params)
    return _data_key(service, caller, params, "GenerateDataKey")


@operation("GenerateDataKeyWithoutPlaintext")
def generate_data_key_without_plaintext(
    service: KmsService, caller: Caller, params: Params
) -> Result:
    result = _data_key(service, caller, params, "GenerateDataKeyWithoutPlaintext")
    del result["Plaintext"]
    return result


@operation("GenerateRandom")
def generate_random(service: KmsService, caller: Caller, params: Params) -> Result:
    _refuse_recipient(params)
    if params.get("CustomKeyStoreId"):
        raise UnsupportedOperationException("Custom key stores are not supported by Sealbox.")
    if "NumberOfBytes" not in params:
        raise ValidationException(
            "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy constraint: "
            "Member must not be null"
        )
    service.authorize(caller, "GenerateRandom", None)
    return {"Plaintext": os.urandom(params["NumberOfBytes"])}
