"""Conversions between legacy materials (and requests) and Sealbox's.

Legacy materials made from Sealbox materials remember their origin (a "twin"): turned
back into Sealbox materials unchanged, they give the original object, so a cache hit or
our own default manager costs no key re-encoding and keeps the data keys' order (the
legacy shape holds them in a set).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from sealbox.aws_encryption_sdk._bridge.convert import (
    edk_to_legacy,
    edk_to_sealbox,
    optional_sealbox_algorithm,
    signing_key_from_bytes,
    signing_key_to_bytes,
    to_legacy_algorithm,
    to_sealbox_algorithm,
    verification_key_from_bytes,
    verification_key_to_bytes,
)
from sealbox.aws_encryption_sdk.exceptions import InvalidDataKeyError, SerializationError
from sealbox.aws_encryption_sdk.materials_managers import (
    DecryptionMaterials,
    DecryptionMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
)
from sealbox.aws_encryption_sdk.structures import DataKey
from sealbox.cmm import DecryptionMaterialsRequest as SealboxDecryptionRequest
from sealbox.cmm import EncryptionMaterialsRequest as SealboxEncryptionRequest
from sealbox.crypto.signing import decode_verification_key
from sealbox.format.context import PUBLIC_KEY_FIELD
from sealbox.format.suites import Algorithm as SealboxAlgorithm
from sealbox.materials import DecryptionMaterials as SealboxDecryptionMaterials
from sealbox.materials import EncryptionMaterials as SealboxEncryptionMaterials

# legacy materials -> (what they held when made, the Sealbox materials they were made from)
_TWINS: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


def _encryption_snapshot(materials: EncryptionMaterials) -> tuple[Any, ...]:
    return (
        materials.algorithm,
        materials.data_encryption_key,
        frozenset(materials.encrypted_data_keys),
        dict(materials.encryption_context),
        materials.signing_key,
    )


def _decryption_snapshot(materials: DecryptionMaterials) -> tuple[Any, ...]:
    return (materials.data_key, materials.verification_key)


# -- requests -------------------------------------------------------------------------------


def encryption_request_to_sealbox(request: EncryptionMaterialsRequest) -> SealboxEncryptionRequest:
    return SealboxEncryptionRequest(
        encryption_context=dict(request.encryption_context),
        commitment_policy=request.commitment_policy,
        algorithm=optional_sealbox_algorithm(request.algorithm),
        plaintext_length=request.plaintext_length,
    )


def encryption_request_to_legacy(
    request: SealboxEncryptionRequest, *, frame_length: int
) -> EncryptionMaterialsRequest:
    return EncryptionMaterialsRequest(
        encryption_context=dict(request.encryption_context),
        frame_length=frame_length,
        commitment_policy=request.commitment_policy,
        algorithm=None if request.algorithm is None else to_legacy_algorithm(request.algorithm),
        plaintext_length=request.plaintext_length,
    )


def decryption_request_to_sealbox(request: DecryptionMaterialsRequest) -> SealboxDecryptionRequest:
    return SealboxDecryptionRequest(
        algorithm=to_sealbox_algorithm(request.algorithm),
        encrypted_data_keys=tuple(edk_to_sealbox(edk) for edk in request.encrypted_data_keys),
        encryption_context=dict(request.encryption_context),
        commitment_policy=request.commitment_policy,
    )


def decryption_request_to_legacy(request: SealboxDecryptionRequest) -> DecryptionMaterialsRequest:
    return DecryptionMaterialsRequest(
        algorithm=to_legacy_algorithm(request.algorithm),
        encrypted_data_keys={edk_to_legacy(edk) for edk in request.encrypted_data_keys},
        encryption_context=dict(request.encryption_context),
        commitment_policy=request.commitment_policy,
    )


# -- materials ------------------------------------------------------------------------------


def encryption_materials_to_legacy(
    materials: SealboxEncryptionMaterials, data_key: DataKey
) -> EncryptionMaterials:
    """Legacy materials for Sealbox's; ``data_key`` is the primary master key's data key."""
    legacy = EncryptionMaterials(
        algorithm=to_legacy_algorithm(materials.algorithm),
        data_encryption_key=data_key,
        encrypted_data_keys={edk_to_legacy(edk) for edk in materials.encrypted_data_keys},
        encryption_context=dict(materials.encryption_context),
        signing_key=(
            None if materials.signing_key is None else signing_key_to_bytes(materials.signing_key)
        ),
    )
    _TWINS[legacy] = (_encryption_snapshot(legacy), materials)
    return legacy


def encryption_materials_to_sealbox(materials: EncryptionMaterials) -> SealboxEncryptionMaterials:
    twin = _TWINS.get(materials)
    if twin is not None and twin[0] == _encryption_snapshot(materials):
        assert isinstance(twin[1], SealboxEncryptionMaterials)
        return twin[1]
    algorithm = to_sealbox_algorithm(materials.algorithm)
    data_key = materials.data_encryption_key.data_key
    _check_length(algorithm, data_key)
    signing_key = None
    if algorithm.signature is not None:
        if materials.signing_key is None:
            raise SerializationError(
                f"the materials manager chose signed suite {algorithm.name} but gave no signing_key"
            )
        signing_key = signing_key_from_bytes(materials.signing_key)
    return SealboxEncryptionMaterials(
        algorithm=algorithm,
        encryption_context=dict(materials.encryption_context),
        encrypted_data_keys=tuple(edk_to_sealbox(edk) for edk in materials.encrypted_data_keys),
        plaintext_data_key=data_key,
        signing_key=signing_key,
    )


def decryption_materials_to_legacy(
    materials: SealboxDecryptionMaterials, data_key: DataKey
) -> DecryptionMaterials:
    """Legacy materials for Sealbox's; ``data_key`` is the one the provider decrypted."""
    key = materials.verification_key
    legacy = DecryptionMaterials(
        data_key=data_key,
        verification_key=None if key is None else verification_key_to_bytes(key),
    )
    _TWINS[legacy] = (_decryption_snapshot(legacy), materials)
    return legacy


def decryption_materials_to_sealbox(
    materials: DecryptionMaterials, request: SealboxDecryptionRequest
) -> SealboxDecryptionMaterials:
    """Sealbox materials for the legacy ones a manager returned for ``request``.

    A signed suite whose materials lack a verification key gets the one in the message's
    context: the reference would skip the signature check, Sealbox never does."""
    twin = _TWINS.get(materials)
    if twin is not None and twin[0] == _decryption_snapshot(materials):
        held = twin[1]
        assert isinstance(held, SealboxDecryptionMaterials)
        if held.algorithm is request.algorithm and held.encryption_context == dict(
            request.encryption_context
        ):
            return held
    algorithm = request.algorithm
    data_key = materials.data_key.data_key
    _check_length(algorithm, data_key)
    verification_key = None
    if materials.verification_key is not None:
        verification_key = verification_key_from_bytes(materials.verification_key)
    elif algorithm.signature is not None:
        verification_key = _context_verification_key(algorithm, request.encryption_context)
    return SealboxDecryptionMaterials(
        algorithm=algorithm,
        encryption_context=request.encryption_context,
        plaintext_data_key=data_key,
        verification_key=verification_key,
    )


def _context_verification_key(algorithm: SealboxAlgorithm, context: Mapping[str, str]) -> Any:
    assert algorithm.signature is not None
    if PUBLIC_KEY_FIELD not in context:
        raise SerializationError(
            "No signature verification key found in header for signed algorithm."
        )
    return decode_verification_key(algorithm.signature, context[PUBLIC_KEY_FIELD])


def _check_length(algorithm: SealboxAlgorithm, data_key: bytes) -> None:
    if len(data_key) != algorithm.key_length:
        raise InvalidDataKeyError(
            f"Invalid Source Data Key length {len(data_key)} for algorithm required: "
            f"{algorithm.key_length}"
        )
