"""GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial (bring your own key).

The wrapping key pair is made per GetParametersForImport call, in the work pool before
the handler runs (RSA-4096 takes about a second of CPU); its private key is
stored wrapped under the root key and found again by the import token (valid 24
hours). A material's id is derived from the key id and the material itself, as
AWS does, so re-importing deleted or expired material restores it exactly and
every ciphertext made under it decrypts again.

What a key takes, as AWS: a symmetric key 32 bytes; an HMAC key raw bytes within its
spec's range; a key pair its private key as DER PKCS#8, of exactly the key's spec, which
is stored re-encoded the way Sealbox's own key pairs are. An asymmetric or HMAC key never
changes material after its first import (only the same material comes back in).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, padding, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

from sealbox.server import keypairs
from sealbox.server.errors import (
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    KmsError,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
)
from sealbox.server.key_specs import SYMMETRIC_DEFAULT, KeySpec, spec_of
from sealbox.server.lifecycle import DAY
from sealbox.server.operations.table import Params, Result, operation
from sealbox.server.service import Caller, KeyEntry, KmsService
from sealbox.server.store.records import (
    KeyRecord,
    MaterialRecord,
    import_token_aad,
    material_aad,
)
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
        raise UnsupportedOperationException(  # AWS's words
            f"{entry.record.arn} origin is {entry.record.origin} which is not valid for this operation."
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
    return WrappingKeyPair(bits, keypairs.private_der(private), keypairs.public_der(private))


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
        # RSA-OAEP(ephemeral AES key) ‖ AES-KWP(material), as CKM_RSA_AES_KEY_WRAP
        size = private.key_size // 8
        aes_key = private.decrypt(wrapped[:size], oaep)
        return aes_key_unwrap_with_padding(aes_key, wrapped[size:])
    except (ValueError, InvalidUnwrap):
        raise InvalidCiphertextException(
            "The encrypted key material did not decrypt with the wrapping key of this import token."
        ) from None


# -- the material each key spec takes -------------------------------------------------------

#: HMAC_<bits> -> the lengths of imported key material AWS accepts, in bytes
_HMAC_BYTES = {224: (28, 64), 256: (32, 64), 384: (48, 128), 512: (64, 128)}
_CURVES = {f"ECC_NIST_P{bits}": f"secp{bits}r1" for bits in (256, 384, 521)}
_CURVES["ECC_SECG_P256K1"] = "secp256k1"
_ML_DSA: dict[str, type] = {
    "ML_DSA_44": mldsa.MLDSA44PrivateKey,
    "ML_DSA_65": mldsa.MLDSA65PrivateKey,
    "ML_DSA_87": mldsa.MLDSA87PrivateKey,
}


def _der_length(der: bytes, at: int) -> tuple[int, int]:
    """The DER length at ``at``: (the length, where the contents start)."""
    first = der[at]
    if first < 0x80:
        return first, at + 1
    size = first & 0x7F
    if not 1 <= size <= 4:
        raise ValueError("not a DER length")
    return int.from_bytes(der[at + 1 : at + 1 + size], "big"), at + 1 + size


def _is_pkcs8(der: bytes) -> bool:
    """PKCS#8 is SEQUENCE { INTEGER version, SEQUENCE algorithm, ... }. pyca also loads
    PKCS#1 and SEC1 keys (an INTEGER or OCTET STRING second); AWS takes PKCS#8 only."""
    try:
        if der[0] != 0x30:
            return False
        _, at = _der_length(der, 1)
        if der[at] != 0x02:
            return False
        size, at = _der_length(der, at + 1)
        return der[at + size] == 0x30
    except (IndexError, ValueError):
        return False


def _of_spec(private: keypairs.PrivateKey, spec: KeySpec) -> bool:
    if spec.family == "rsa":
        return isinstance(private, rsa.RSAPrivateKey) and private.key_size == int(spec.name[4:])
    if spec.family == "ecc":
        return (
            isinstance(private, ec.EllipticCurvePrivateKey)
            and private.curve.name == _CURVES[spec.name]
        )
    return isinstance(private, _ML_DSA[spec.name])


def _private_key(spec: KeySpec, algorithm: str, material: bytes) -> bytes:
    """A key pair's imported private key, encoded as Sealbox stores its own key pairs, so
    the material (and its id) is the same however the importer's tool encoded it."""
    if spec.family == "rsa" and algorithm.startswith("RSAES_OAEP"):
        raise IncorrectKeyMaterialException(
            "RSA private key material can be imported only with the wrapping algorithm "
            f"RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256, not {algorithm}."
        )
    private = None
    if _is_pkcs8(material):
        try:  # not Sealbox's own key: pyca checks an RSA key's consistency (0.4 s, RSA-4096)
            private = serialization.load_der_private_key(material, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            private = None
    if private is None or not _of_spec(private, spec):
        raise IncorrectKeyMaterialException(
            f"The key material is not a DER-encoded PKCS#8 private key of key spec {spec.name}."
        )
    return keypairs.private_der(private)


def checked_material(spec: KeySpec, algorithm: str, material: bytes) -> bytes:
    """What a key of ``spec`` stores of unwrapped ``material``; IncorrectKeyMaterialException
    if the key takes no such material."""
    if spec.asymmetric:
        return _private_key(spec, algorithm, material)
    if spec.name == SYMMETRIC_DEFAULT:
        if len(material) != 32:
            raise IncorrectKeyMaterialException(
                "Symmetric key material must be 256 bits (32 bytes)."
            )
        return material
    low, high = _HMAC_BYTES[int(spec.name.removeprefix("HMAC_"))]
    if not low <= len(material) <= high:  # not secret: lengths
        raise IncorrectKeyMaterialException(
            f"{spec.name} key material must be {low} to {high} bytes long, not {len(material)}."
        )
    return material


# -- ImportKeyMaterial ----------------------------------------------------------------------


@dataclass(frozen=True)
class Unwrapped:
    """One request's unwrapped key material, or the error it is answered with (raised by
    the handler after its own checks, so the audit record names the key)."""

    token: str
    material: bytes = field(default=b"", repr=False)
    error: KmsError | None = None


def _unwrap(
    token: str, wrapping_der: bytes, algorithm: str, encrypted: bytes, spec: KeySpec
) -> Unwrapped:
    """RSA decryption, and for an RSA private key pyca's consistency check: in the work pool."""
    try:
        wrapping = keypairs.load_private(wrapping_der)  # Sealbox's own, unwrapped by the root key
        material = _unwrap_material(wrapping, algorithm, encrypted)
        return Unwrapped(token, checked_material(spec, algorithm, material))
    except KmsError as error:
        return Unwrapped(token, error=error)


def _import_request(service: KmsService, record: KeyRecord, params: Params) -> Any:
    """The import token's row, once the request has passed the checks made before unwrapping."""
    stored = service.store.keys.import_token(params["ImportToken"].hex())
    if stored is None or stored.key_id != record.key_id:
        raise InvalidImportTokenException(f"The import token is not valid for {record.arn}.")
    if stored.valid_to <= service.clock.now():
        raise ExpiredImportTokenException(
            "The import token has expired; call GetParametersForImport again."
        )
    if record.key_spec != SYMMETRIC_DEFAULT:
        for name in ("KeyMaterialId", "KeyMaterialDescription"):
            if name in params:  # as AWS documents them: symmetric encryption keys only
                raise UnsupportedOperationException(
                    f"{name} is only usable with symmetric encryption keys; "
                    f"{record.arn} has key spec {record.key_spec}."
                )
    return stored


def _unwrap_job(
    service: KmsService, record: KeyRecord, stored: Any, params: Params
) -> Callable[[], Unwrapped]:
    """The import token's wrapping key (unwrapped by the root key here) and what ``_unwrap``
    needs besides."""
    token = params["ImportToken"].hex()
    wrapping_der = service.require_unsealed().unwrap(
        stored.wrapped_private_key, aad=import_token_aad(record.arn, token)
    )
    encrypted, spec = params["EncryptedKeyMaterial"], spec_of(record.key_spec)
    return functools.partial(_unwrap, token, wrapping_der, stored.algorithm, encrypted, spec)


def _prepare_import(
    service: KmsService, caller: Caller, params: Params
) -> Callable[[], Unwrapped] | None:
    """The unwrapping as a job for the work pool, once the request passes the checks made
    before it; a refused request gets no job (the handler refuses it, with the real caller,
    so its audit record names the key)."""
    scratch = dataclasses.replace(caller, keys=[])
    try:
        entry = _external(service, scratch, params["KeyId"], "ImportKeyMaterial")
        stored = _import_request(service, entry.record, params)
    except KmsError:
        return None
    return _unwrap_job(service, entry.record, stored, params)


def _expiry(service: KmsService, params: Params) -> tuple[str, float | None]:
    model = params.get("ExpirationModel", "KEY_MATERIAL_EXPIRES")
    valid_to = params.get("ValidTo")
    if model == "KEY_MATERIAL_EXPIRES":
        now = service.clock.now()
        if valid_to is None:
            raise ValidationException(  # AWS's words
                "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"
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


def _check_new_material(
    record: KeyRecord, material_id: str, materials: list[MaterialRecord], params: Params
) -> None:
    """ImportType NEW_KEY_MATERIAL's rules; ``materials`` are read in the import's
    transaction, so two concurrent imports cannot both get in."""
    if params.get("KeyMaterialId"):
        raise ValidationException("KeyMaterialId is not allowed with ImportType NEW_KEY_MATERIAL.")
    if materials and not spec_of(record.key_spec).rotates:
        raise UnsupportedOperationException(
            f"{record.arn} has key spec {record.key_spec}: its key material cannot change after "
            "the first import. Reimport the same key material (ImportType EXISTING_KEY_MATERIAL)."
        )
    if any(m.material_id == material_id for m in materials):
        raise IncorrectKeyMaterialException(
            "This key material was imported into the key before; "
            "use ImportType EXISTING_KEY_MATERIAL."
        )
    # one material at a time waits for RotateKeyOnDemand
    if any(m.pending_rotation and m.present for m in materials):
        raise KMSInvalidStateException(
            f"{record.arn} already has imported key material pending rotation. "
            "Rotate the key with RotateKeyOnDemand, or delete that key material with "
            "DeleteImportedKeyMaterial, before importing new key material."
        )


@operation("ImportKeyMaterial", mutating=True, prepare=_prepare_import)
def import_key_material(service: KmsService, caller: Caller, params: Params) -> Result:
    entry = _external(service, caller, params["KeyId"], "ImportKeyMaterial")
    record = entry.record
    stored = _import_request(service, record, params)
    unwrapped = prepared()
    if not (isinstance(unwrapped, Unwrapped) and unwrapped.token == params["ImportToken"].hex()):
        unwrapped = _unwrap_job(service, record, stored, params)()  # called directly
    if unwrapped.error is not None:
        raise unwrapped.error
    material = unwrapped.material
    model, valid_to = _expiry(service, params)
    material_id = imported_material_id(record.key_id, material)
    known = {m.material_id: m for m in service.store.keys.materials(record.key_id)}
    import_type = params.get("ImportType") or (
        "EXISTING_KEY_MATERIAL" if known else "NEW_KEY_MATERIAL"
    )
    wrapped = service.require_unsealed().wrap(material, aad=material_aad(record.arn, material_id))
    fields: dict[str, Any] = {"wrapped": wrapped, "expiration_model": model, "valid_to": valid_to}
    if "KeyMaterialDescription" in params:
        fields["description"] = params["KeyMaterialDescription"]
    now = service.clock.now()
    with service.store.write() as connection:
        if import_type == "NEW_KEY_MATERIAL":
            materials = service.store.keys.materials(record.key_id, connection)
            _check_new_material(record, material_id, materials, params)
            first = not materials
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
