"""Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any

from sealbox.server.access.authorization import request_alias_keys
from sealbox.server.access.conditions import ContextValue
from sealbox.server.ciphertext.envelope import INVALID, open_blob, parse_blob, seal
from sealbox.server.errors import (
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KMSInternalException,
    UnsupportedOperationException,
    ValidationException,
)
from sealbox.server.key_specs import ENCRYPT_DECRYPT, spec_of
from sealbox.server.operations import rsa_encryption
from sealbox.server.operations.grants import check_grant_tokens
from sealbox.server.operations.pairs import incompatible_algorithm
from sealbox.server.operations.table import Params, Result, operation, stop_if_dry_run
from sealbox.server.service import Caller, KeyEntry, KmsService, require_usable
from sealbox.server.workpool import prepared

SYMMETRIC = "SYMMETRIC_DEFAULT"
DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}


def _check_algorithm(entry: KeyEntry, algorithm: str | None) -> None:
    if algorithm not in (None, SYMMETRIC):
        raise incompatible_algorithm(algorithm, entry.record.key_spec)


def _check_usage(entry: KeyEntry, action: str) -> None:
    """A symmetric encryption key (an RSA key's material is no AES key)."""
    usage = entry.record.key_usage
    if usage != ENCRYPT_DECRYPT:
        raise InvalidKeyUsageException(
            f"{entry.record.arn} key usage is {usage} which is not valid for {action}."
        )
    if entry.record.key_spec != SYMMETRIC:  # AWS's words (a data key pair: ours)
        what = "data key pair" if action.startswith("GenerateDataKeyPair") else "data key"
        raise InvalidKeyUsageException(f"You cannot generate a {what} with an asymmetric CMK")


def refuse_recipient(params: Params) -> None:
    if params.get("Recipient"):
        raise UnsupportedOperationException(
            "Recipient (Nitro Enclaves attestation) is not supported by Sealbox."
        )


def encryption_key(
    service: KmsService,
    caller: Caller,
    entry: KeyEntry,
    key_param: str,
    action: str,
    context: dict[str, str],
    condition_keys: Mapping[str, ContextValue] | None = None,
) -> tuple[str, bytes]:
    """(material id, material): the symmetric key ``entry``'s current material, once the
    request is authorized for ``action`` and the key's state and usage allow it."""
    keys = {**(condition_keys or {}), **request_alias_keys(key_param)}
    service.authorize(caller, action, entry, encryption_context=context, context=keys)
    record = require_usable(entry)
    _check_usage(entry, action)
    material = (
        service.material(entry, record.current_material_id) if record.current_material_id else None
    )
    if record.current_material_id is None or material is None:
        raise KMSInternalException("the key has no current key material")
    return record.current_material_id, material


def _seal(
    service: KmsService,
    caller: Caller,
    params: Params,
    entry: KeyEntry,
    key_param: str,
    action: str,
    plaintext: bytes,
    context: dict[str, str],
) -> tuple[str, bytes]:
    check_grant_tokens(params)
    material_id, material = encryption_key(service, caller, entry, key_param, action, context)
    stop_if_dry_run(params)
    return material_id, seal(entry.record.public_id, material_id, material, plaintext, context)


def _open(
    service: KmsService,
    caller: Caller,
    blob: bytes,
    context: dict[str, str],
    named: KeyEntry | None,
    key_param: str | None,
    action: str,
    params: Params,
) -> tuple[KeyEntry, str, bytes]:
    header, packed, body = parse_blob(blob)
    entry = service.reach(caller, header.key_id)
    if entry is None:  # also a blob made in another region: AWS cannot tell it from garbage
        raise InvalidCiphertextException(INVALID)
    caller.keys.append(entry.record.arn)
    if named is not None and named.record.key_id != entry.record.key_id:
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


def _is_key_pair(entry: KeyEntry | None) -> bool:
    return entry is not None and spec_of(entry.record.key_spec).asymmetric


def _named(service: KmsService, caller: Caller, key_param: str | None) -> KeyEntry | None:
    return None if key_param is None else service.resolve(caller, key_param)


@operation("Encrypt")
def encrypt(service: KmsService, caller: Caller, params: Params) -> Result:
    key_param, plaintext = params["KeyId"], params["Plaintext"]
    context = params.get("EncryptionContext", {})
    entry = service.resolve(caller, key_param)
    if _is_key_pair(entry):
        check_grant_tokens(params)
        algorithm, blob = rsa_encryption.encrypt(
            service,
            caller,
            params,
            entry,
            key_param=key_param,
            action="Encrypt",
            plaintext=plaintext,
            algorithm=params.get("EncryptionAlgorithm"),
            context=context,
        )
        return {"CiphertextBlob": blob, "KeyId": entry.record.arn, "EncryptionAlgorithm": algorithm}
    _, blob = _seal(service, caller, params, entry, key_param, "Encrypt", plaintext, context)
    _check_algorithm(entry, params.get("EncryptionAlgorithm"))
    return {"CiphertextBlob": blob, "KeyId": entry.record.arn, "EncryptionAlgorithm": SYMMETRIC}


def _require_blob(params: Params) -> None:
    """The model leaves CiphertextBlob optional; a symmetric key needs it, and AWS answers so."""
    if "CiphertextBlob" not in params:
        raise ValidationException(
            "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: "
            "Member must not be null"
        )


def _rsa_decrypt(service: KmsService, caller: Caller, params: Params) -> Callable[[], Result]:
    """Decrypt with the RSA key the request names: the checks now, the work returned."""
    entry = service.resolve(caller, params["KeyId"])
    check_grant_tokens(params)
    algorithm, work = rsa_encryption.decrypt(
        service,
        caller,
        params,
        entry,
        key_param=params["KeyId"],
        action="Decrypt",
        blob=params["CiphertextBlob"],
        algorithm=params.get("EncryptionAlgorithm"),
        context=params.get("EncryptionContext", {}),
    )
    arn = entry.record.arn
    return lambda: {"KeyId": arn, "Plaintext": work(), "EncryptionAlgorithm": algorithm}


def _asymmetric_request(params: Params) -> bool:
    """Decrypt names an asymmetric algorithm: otherwise, as AWS, the ciphertext is read as
    a symmetric one first (an RSA ciphertext then fails as InvalidCiphertextException)."""
    return bool(params.get("EncryptionAlgorithm", SYMMETRIC) != SYMMETRIC)


def _names_key_pair(service: KmsService, caller: Caller, key_param: str | None) -> bool:
    """A peek (nothing recorded): does ``key_param`` name an asymmetric key?"""
    if key_param is None:
        return False
    return _is_key_pair(service.resolve(dataclasses.replace(caller, keys=[]), key_param))


def _prepare_decrypt(
    service: KmsService, caller: Caller, params: Params
) -> Callable[[], Result] | None:
    """RSA decryption costs milliseconds: checked here, run in the work pool."""
    refuse_recipient(params)
    _require_blob(params)
    if not (_asymmetric_request(params) and _names_key_pair(service, caller, params.get("KeyId"))):
        return None
    return _rsa_decrypt(service, caller, params)


@operation("Decrypt", prepare=_prepare_decrypt)
def decrypt(service: KmsService, caller: Caller, params: Params) -> Result:
    done = prepared()
    if isinstance(done, dict):
        return done
    refuse_recipient(params)
    _require_blob(params)
    named = _named(service, caller, params.get("KeyId"))
    if _is_key_pair(named) and _asymmetric_request(params):
        return _rsa_decrypt(service, dataclasses.replace(caller, keys=[]), params)()
    entry, material_id, plaintext = _open(
        service,
        caller,
        params["CiphertextBlob"],
        params.get("EncryptionContext", {}),
        named,
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


def _re_encrypt_source(
    service: KmsService, caller: Caller, params: Params
) -> tuple[KeyEntry, str, str | None, bytes]:
    """ReEncrypt's decryption: (key, algorithm, material id or None, plaintext)."""
    source_param = params.get("SourceKeyId")
    named = _named(service, caller, source_param)
    context = params.get("SourceEncryptionContext", {})
    if (
        named is not None
        and _is_key_pair(named)
        and params.get("SourceEncryptionAlgorithm", SYMMETRIC) != SYMMETRIC
    ):
        check_grant_tokens(params)
        algorithm, work = rsa_encryption.decrypt(
            service,
            caller,
            {**params, "DryRun": False},
            named,
            key_param=source_param,
            action="ReEncryptFrom",
            blob=params["CiphertextBlob"],
            algorithm=params.get("SourceEncryptionAlgorithm"),
            context=context,
        )
        return named, algorithm, None, work()
    source, material_id, plaintext = _open(
        service,
        caller,
        params["CiphertextBlob"],
        context,
        named,
        source_param,
        "ReEncryptFrom",
        {**params, "DryRun": False},
    )
    _check_algorithm(source, params.get("SourceEncryptionAlgorithm"))
    return source, SYMMETRIC, material_id, plaintext


@operation("ReEncrypt")
def re_encrypt(service: KmsService, caller: Caller, params: Params) -> Result:
    _require_blob(params)
    source, source_algorithm, source_material, plaintext = _re_encrypt_source(
        service, caller, params
    )
    target_param = params["DestinationKeyId"]
    target = service.resolve(caller, target_param)
    context = params.get("DestinationEncryptionContext", {})
    result: Result = {"SourceKeyId": source.record.arn, "KeyId": target.record.arn}
    if _is_key_pair(target):
        target_algorithm, blob = rsa_encryption.encrypt(
            service,
            caller,
            params,
            target,
            key_param=target_param,
            action="ReEncryptTo",
            plaintext=plaintext,
            algorithm=params.get("DestinationEncryptionAlgorithm"),
            context=context,
        )
    else:
        target_material, blob = _seal(
            service, caller, params, target, target_param, "ReEncryptTo", plaintext, context
        )
        _check_algorithm(target, params.get("DestinationEncryptionAlgorithm"))
        target_algorithm = SYMMETRIC
        result["DestinationKeyMaterialId"] = target_material
    if source_material is not None:
        result["SourceKeyMaterialId"] = source_material
    return {
        "CiphertextBlob": blob,
        **result,
        "SourceEncryptionAlgorithm": source_algorithm,
        "DestinationEncryptionAlgorithm": target_algorithm,
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
    entry = service.resolve(caller, params["KeyId"])
    material_id, blob = _seal(
        service,
        caller,
        params,
        entry,
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
    refuse_recipient(params)
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
    refuse_recipient(params)
    if params.get("CustomKeyStoreId"):
        raise UnsupportedOperationException("Custom key stores are not supported by Sealbox.")
    if "NumberOfBytes" not in params:
        raise ValidationException("NumberOfBytes is required.")  # AWS's words
    service.authorize(caller, "GenerateRandom", None)
    return {"Plaintext": os.urandom(params["NumberOfBytes"])}
