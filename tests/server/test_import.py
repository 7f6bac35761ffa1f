"""Imported key material (bring your own key), wrapped by the test as a client would wrap it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from sealbox.server.ciphertext.blob import parse_blob
from sealbox.server.ciphertext.envelope import open_blob
from sealbox.server.clock import ManualClock
from tests.server.harness import error_of

DAY = 86400.0


def wrap(public_der: bytes, algorithm: str, material: bytes) -> bytes:
    """What a client does with the public key GetParametersForImport returned."""
    public = serialization.load_der_public_key(public_der)
    assert isinstance(public, rsa.RSAPublicKey)
    digest = hashes.SHA256 if algorithm.endswith("SHA_256") else hashes.SHA1
    oaep = padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    aes_key = os.urandom(32)
    return public.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)


def import_material(
    kms: Any,
    key: str,
    material: bytes,
    *,
    algorithm: str = "RSAES_OAEP_SHA_256",
    spec: str = "RSA_2048",
    **options: Any,
) -> dict[str, Any]:
    parameters = kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm=algorithm, WrappingKeySpec=spec
    )
    options.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    result: dict[str, Any] = kms.import_key_material(
        KeyId=key,
        ImportToken=parameters["ImportToken"],
        EncryptedKeyMaterial=wrap(parameters["PublicKey"], algorithm, material),
        **options,
    )
    return result


def external_key(kms: Any) -> str:
    arn: str = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["Arn"]
    return arn


@pytest.mark.parametrize(
    ("algorithm", "spec"),
    [
        ("RSAES_OAEP_SHA_256", "RSA_2048"),
        ("RSAES_OAEP_SHA_256", "RSA_3072"),
        ("RSAES_OAEP_SHA_256", "RSA_4096"),
        ("RSAES_OAEP_SHA_1", "RSA_2048"),
        ("RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"),
        ("RSA_AES_KEY_WRAP_SHA_1", "RSA_3072"),
    ],
)
def test_import_and_use(kms: Any, algorithm: str, spec: str) -> None:
    created = kms.create_key(Origin="EXTERNAL", Description="byok")["KeyMetadata"]
    key = created["Arn"]
    assert (created["Origin"], created["KeyState"], created["Enabled"]) == (
        "EXTERNAL",
        "PendingImport",
        False,
    )
    assert error_of(kms.encrypt, KeyId=key, Plaintext=b"x")[0] == "KMSInvalidStateException"
    parameters = kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm=algorithm, WrappingKeySpec=spec
    )
    public = serialization.load_der_public_key(parameters["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == int(spec[4:])
    assert (parameters["ParametersValidTo"] - datetime.now(UTC)).total_seconds() == pytest.approx(
        DAY, abs=120
    )
    material = os.urandom(32)
    imported = kms.import_key_material(
        KeyId=key,
        ImportToken=parameters["ImportToken"],
        EncryptedKeyMaterial=wrap(parameters["PublicKey"], algorithm, material),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    described = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert described["KeyState"] == "Enabled"
    assert described["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert described["CurrentKeyMaterialId"] == imported["KeyMaterialId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"secret", EncryptionContext={"a": "b"})[
        "CiphertextBlob"
    ]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"secret"
    # the service really encrypts under the material we imported
    header, packed, body = parse_blob(blob)
    assert open_blob(header, packed, body, material, {"a": "b"}) == b"secret"


def test_bad_imports_are_refused_with_the_reason(kms: Any, clock: ManualClock) -> None:
    key = external_key(kms)
    parameters = kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    token, public = parameters["ImportToken"], parameters["PublicKey"]

    def attempt(**overrides: Any) -> str:
        request = {
            "KeyId": key,
            "ImportToken": token,
            "EncryptedKeyMaterial": wrap(public, "RSAES_OAEP_SHA_256", os.urandom(32)),
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
            **overrides,
        }
        return error_of(kms.import_key_material, **request)[0]

    other = external_key(kms)
    assert attempt(KeyId=other) == "InvalidImportTokenException"
    assert attempt(ImportToken=os.urandom(32)) == "InvalidImportTokenException"
    assert attempt(EncryptedKeyMaterial=os.urandom(256)) == "InvalidCiphertextException"
    assert attempt(EncryptedKeyMaterial=wrap(public, "RSAES_OAEP_SHA_1", os.urandom(32))) == (
        "InvalidCiphertextException"
    )
    assert attempt(EncryptedKeyMaterial=wrap(public, "RSAES_OAEP_SHA_256", os.urandom(16))) == (
        "IncorrectKeyMaterialException"
    )
    assert attempt(ExpirationModel="KEY_MATERIAL_EXPIRES") == "ValidationException"  # no ValidTo
    assert attempt(ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=clock.now() + 366 * DAY) == (
        "ValidationException"
    )
    assert attempt(ValidTo=clock.now() + DAY) == "ValidationException"  # with DOES_NOT_EXPIRE
    assert (
        error_of(
            kms.get_parameters_for_import,
            KeyId=kms.create_key()["KeyMetadata"]["Arn"],
            WrappingAlgorithm="RSAES_OAEP_SHA_256",
            WrappingKeySpec="RSA_2048",
        )[0]
        == "UnsupportedOperationException"
    )
    assert error_of(kms.enable_key_rotation, KeyId=key)[0] == "KMSInvalidStateException"
    clock.advance(DAY + 1)
    assert attempt() == "ExpiredImportTokenException"
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_expiry_deletion_and_reimport(kms: Any, clock: ManualClock) -> None:
    key = external_key(kms)
    material = os.urandom(32)
    first = import_material(
        kms, key, material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=clock.now() + 2 * DAY
    )
    described = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert described["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert described["ValidTo"].timestamp() == pytest.approx(clock.now() + 2 * DAY, abs=1)
    blob = kms.encrypt(KeyId=key, Plaintext=b"kept")["CiphertextBlob"]

    clock.advance(2 * DAY + 1)  # expired: the material is deleted, the key waits for import
    assert error_of(kms.decrypt, CiphertextBlob=blob)[0] == "KMSInvalidStateException"
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    assert error_of(kms.encrypt, KeyId=key, Plaintext=b"x")[0] == "KMSInvalidStateException"

    # re-importing the same material restores it: same id, old ciphertexts decrypt again
    again = import_material(kms, key, material, ImportType="EXISTING_KEY_MATERIAL")
    assert again["KeyMaterialId"] == first["KeyMaterialId"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
    assert (
        kms.describe_key(KeyId=key)["KeyMetadata"]["ExpirationModel"]
        == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    )

    kms.delete_imported_key_material(KeyId=key)
    described = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert described["KeyState"] == "PendingImport"
    assert "ExpirationModel" not in described and "ValidTo" not in described
    assert error_of(kms.decrypt, CiphertextBlob=blob)[0] == "KMSInvalidStateException"
    code, message = error_of(kms.import_key_material, **_request(kms, key, os.urandom(32)))
    assert code == "IncorrectKeyMaterialException" and "previously imported" in message
    import_material(kms, key, material, KeyMaterialId=first["KeyMaterialId"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
    # the same material cannot come in twice as new material
    code, _ = error_of(
        kms.import_key_material, **_request(kms, key, material, ImportType="NEW_KEY_MATERIAL")
    )
    assert code == "IncorrectKeyMaterialException"


def _request(kms: Any, key: str, material: bytes, **options: Any) -> dict[str, Any]:
    parameters = kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    return {
        "KeyId": key,
        "ImportToken": parameters["ImportToken"],
        "EncryptedKeyMaterial": wrap(parameters["PublicKey"], "RSAES_OAEP_SHA_256", material),
        "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
        **options,
    }


def test_on_demand_rotation_of_imported_material(kms: Any) -> None:
    key = external_key(kms)
    first_material, second_material = os.urandom(32), os.urandom(32)
    first = import_material(kms, key, first_material)["KeyMaterialId"]
    old = kms.encrypt(KeyId=key, Plaintext=b"old")["CiphertextBlob"]
    code, message = error_of(kms.rotate_key_on_demand, KeyId=key)
    assert code == "KMSInvalidStateException" and "NEW_KEY_MATERIAL" in message
    second = import_material(kms, key, second_material, ImportType="NEW_KEY_MATERIAL")[
        "KeyMaterialId"
    ]
    listed = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [(r["KeyMaterialId"], r["KeyMaterialState"], r["ImportState"]) for r in listed] == [
        (first, "CURRENT", "IMPORTED"),
        (second, "PENDING_ROTATION", "IMPORTED"),
    ]
    code, message = error_of(kms.enable_key_rotation, KeyId=key)  # imported: on demand only
    assert code == "UnsupportedOperationException" and "RotateKeyOnDemand" in message
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == first
    kms.rotate_key_on_demand(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == second
    new = kms.encrypt(KeyId=key, Plaintext=b"new")["CiphertextBlob"]
    header, packed, body = parse_blob(new)
    assert open_blob(header, packed, body, second_material, {}) == b"new"
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"old"
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert [(r["KeyMaterialId"], r["RotationType"], r["KeyMaterialState"]) for r in rotations] == [
        (second, "ON_DEMAND", "CURRENT")
    ]
