"""GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial (bring your own key).

The wrapping key pair is made per GetParametersForImport call, in the work pool before
the handler runs (RSA-4096 takes about a second of CPU); its private key is
stored wrapped under the root key and found again by the import token (valid 24
hours). A material's id is derived from the key id and the material itself, as
AWS does, so re-importing deleted or expired material restores it exactly and
every ciphertext made under it decrypts again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

from sealbox.server.errors import (
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
)
from sealbox.server.lifecycle import DAY
from sealbox.server.operations.table import Params, Result, operation
from sealbox.server.service import Caller, KeyEntry, KmsService
from sealbox.server.store.records import MaterialRecord, import_token_aad, material_aad
from sealbox.server.workpool import prepared

TOKEN_LIFETIME = DAY
MAX_VALIDITY = 365 * DAY
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "RSAES_OAEP_SHA_1": hashes.SHA1,
    "RSAES_OAEP_SHA_256": hashes.SHA256,
    "RSA_AES_KEY_WRAP_SHA_1": hashes.SHA1,
    "RSA_AES_KEY_WRAP_SHA_256": hashes.SHA256,
}
_BITS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}


def _external(service: KmsService, caller: Caller, key_param: str, action: str) -> KeyEntry:
    entry = service.resolve(caller, key_param, aliases=False)
    service.authorize(caller, action, entry)
    if entry.record.origin != "EXTERNAL":
        raise UnsupportedOperationException(
            f"{entry.record.arn} was not created with Origin=EXTERNAL, so it takes no imported key material."
        )
    if entry.record.key_state == "PendingDeletion":
        raise KMSInvalidStateException(f"{entry.record.arn} is pending deletion.")
    return entry


def imported_material_id(key_id: str, material: bytes) -> str:
    return hashlib.sha256(
        b"sealbox imported key material\x00" + key_id.encode() + b"\x00" + material
    ).hexdigest()


@dataclass(frozen=True)
class WrappingKeyPair:
    bits: int
    private_der: bytes = field(repr=False)
    public_der: bytes


def new_wrapping_key_pair(bits: int) -> WrappingKeyPair:
    """Seconds of CPU for RSA-4096: run by the work pool, never on the event loop."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return WrappingKeyPair(
        bits,
        private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def _wrapping_bits(params: Params) -> int:
    algorithm, spec = params["WrappingAlgorithm"], params["WrappingKeySpec"]
    if algorithm not in _HASHES:
        raise UnsupportedOperationException(
            f"WrappingAlgorithm {algorithm} is not supported; "
            "use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256."
        )
    if spec not in _BITS:
        raise UnsupportedOperationException(
            f"WrappingKeySpec {spec} is not supported; use RSA_2048, 3072 or 4096."
        )
    return _BITS[spec]


def _prepare_wrapping_key(
    service: KmsService, caller: Caller, params: Params
) -> Callable[[], WrappingKeyPair]:
    """Every check the handler makes first, so a refused caller costs no key generation.
    (A scratch copy of the caller: the handler itself records the key it touches.)"""
    scratch = dataclasses.replace(caller, keys=[])
    _external(service, scratch, params["KeyId"], "GetParametersForImport")
    return functools.partial(new_wrapping_key_pair, _wrapping_bits(params))


@operation("GetParametersForImport", mutating=True, prepare=_prepare_wrapping_key)
def get_parameters_for_import(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = _external(service, caller, params["KeyId"], "GetParametersForImport")
    bits = _wrapping_bits(params)
    pair = prepared()
    if not isinstance(pair, WrappingKeyPair) or pair.bits != bits:
        pair = new_wrapping_key_pair(bits)  # called directly, not through the dispatcher
    token = os.urandom(32)
    valid_to = service.clock.now() + TOKEN_LIFETIME
    wrapped = service.require_unsealed().wrap(
        pair.private_der, aad=import_token_aad(entry.record.arn, token.hex())
    )
    with service.store.write() as connection:
        service.store.keys.insert_import_token(
            token.hex(),
            entry.record.key_id,
            params["WrappingAlgorithm"],
            wrapped,
            valid_to,
            connection,
        )
    return {
        "KeyId": entry.record.arn,
        "ImportToken": token,
        "PublicKey": pair.public_der,
        "ParametersValidTo": valid_to,
    }


def _unwrap_material(private: rsa.RSAPrivateKey, algorithm: str, wrapped: bytes) -> bytes:
    digest = _HASHES[algorithm]
    oaep = padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)
    try:
        if algorithm.startswith("RSAES_OAEP"):
            return private.decrypt(wrapped, oaep)
        size = (
            private.key_size // 8
        )  # RSA-OAEP(ephemeral AES key) ‖ AES-KWP(material), as CKM_RSA_AES_KEY_WRAP
        aes_key = private.decrypt(wrapped[:size], oaep)
        return aes_key_unwrap_with_padding(aes_key, wrapped[size:])
    except (ValueError, InvalidUnwrap):
        raise InvalidCiphertextException(
            "The encrypted key material did not decrypt with the wrapping key of this import token."
        ) from None


def _expiry(service: KmsService, params: Params) -> tuple[str, float | None]:
    model = params.get("ExpirationModel", "KEY_MATERIAL_EXPIRES")
    valid_to = params.get("ValidTo")
    if model == "KEY_MATERIAL_EXPIRES":
        now = service.clock.now()
        if valid_to is None:
            raise ValidationException(
                "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES."
            )
        if not now < valid_to <= now + MAX_VALIDITY:
            raise ValidationException(
                "ValidTo must be in the future and at most 365 days from now."
            )
    elif valid_to is not None:
        raise ValidationException(
            "ValidTo is not allowed when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE."
        )
    return model, valid_to


@operation("ImportKeyMaterial", mutating=True)
def import_key_material(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = _external(service, caller, params["KeyId"], "ImportKeyMaterial")
    record = entry.record
    token = params["ImportToken"].hex()
    stored = service.store.keys.import_token(token)
    if stored is None or stored.key_id != record.key_id:
        raise InvalidImportTokenException(f"The import token is not valid for {record.arn}.")
    if stored.valid_to <= service.clock.now():
        raise ExpiredImportTokenException(
            "The import token has expired; call GetParametersForImport again."
        )
    root = service.require_unsealed()
    private = serialization.load_der_private_key(
        root.unwrap(stored.wrapped_private_key, aad=import_token_aad(record.arn, token)),
        password=None,
    )
    assert isinstance(private, rsa.RSAPrivateKey)
    material = _unwrap_material(private, stored.algorithm, params["EncryptedKeyMaterial"])
    if len(material) != 32:
        raise IncorrectKeyMaterialException("Symmetric key material must be 256 bits (32 bytes).")
    model, valid_to = _expiry(service, params)
    material_id = imported_material_id(record.key_id, material)
    known = {m.material_id: m for m in service.store.keys.materials(record.key_id)}
    import_type = params.get("ImportType") or (
        "EXISTING_KEY_MATERIAL" if known else "NEW_KEY_MATERIAL"
    )
    wrapped = root.wrap(material, aad=material_aad(record.arn, material_id))
    fields: dict[str, Any] = {"wrapped": wrapped, "expiration_model": model, "valid_to": valid_to}
    if "KeyMaterialDescription" in params:
        fields["description"] = params["KeyMaterialDescription"]
    now = service.clock.now()
    with service.store.write() as connection:
        if import_type == "NEW_KEY_MATERIAL":
            if params.get("KeyMaterialId"):
                raise ValidationException(
                    "KeyMaterialId is not allowed with ImportType NEW_KEY_MATERIAL."
                )
            if material_id in known:
                raise IncorrectKeyMaterialException(
                    "This key material was imported into the key before; "
                    "use ImportType EXISTING_KEY_MATERIAL."
                )
            # one material at a time waits for RotateKeyOnDemand (read in this transaction,
            # so two concurrent imports cannot both get in)
            if any(
                m.pending_rotation and m.present
                for m in service.store.keys.materials(record.key_id, connection)
            ):
                raise KMSInvalidStateException(
                    f"{record.arn} already has imported key material pending rotation. "
                    "Rotate the key with RotateKeyOnDemand, or delete that key material with "
                    "DeleteImportedKeyMaterial, before importing new key material."
                )
            first = record.current_material_id is None
            service.store.keys.insert_material(
                MaterialRecord(
                    record.key_id,
                    material_id,
                    now,
                    b"",
                    origin="EXTERNAL",
                    pending_rotation=not first,
                ),
                connection,
            )
            if first:
                service.store.keys.update_key(
                    record.key_id, connection, current_material_id=material_id, key_state="Enabled"
                )
        else:
            wanted = params.get("KeyMaterialId")
            if material_id not in known or (wanted is not None and wanted != material_id):
                raise IncorrectKeyMaterialException(
                    "The key material does not match the key material previously imported into this key."
                )
            if material_id == record.current_material_id and record.key_state == "PendingImport":
                service.store.keys.update_key(record.key_id, connection, key_state="Enabled")
        service.store.keys.update_material(record.key_id, material_id, connection, **fields)
    service.forget()
    return {"KeyId": record.arn, "KeyMaterialId": material_id}


@operation("DeleteImportedKeyMaterial", mutating=True)
def delete_imported_key_material(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = _external(service, caller, params["KeyId"], "DeleteImportedKeyMaterial")
    record = entry.record
    material_id = params.get("KeyMaterialId") or record.current_material_id
    if material_id is None or material_id not in entry.wrapped:
        raise KMSInvalidStateException(f"{record.arn} has no such imported key material.")
    with service.store.write() as connection:
        service.store.keys.update_material(
            record.key_id, material_id, connection, wrapped=b"", valid_to=None
        )
        if material_id == record.current_material_id and record.key_state in (
            "Enabled",
            "Disabled",
        ):
            service.store.keys.update_key(record.key_id, connection, key_state="PendingImport")
    service.forget()
    return {"KeyId": record.arn, "KeyMaterialId": material_id}
