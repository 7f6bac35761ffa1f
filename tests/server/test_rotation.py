"""Key rotation with an injected clock: automatic (also while idle or stopped), on demand,
and manual rotation by moving an alias. Every ciphertext made along the way still decrypts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sealbox.server import lifecycle
from sealbox.server.clock import ManualClock
from tests.server.harness import InProcessServer, build_service, error_of

DAY = 86400.0


def encrypt_corpus(kms: Any, key: str, tag: str) -> list[tuple[bytes, bytes, dict[str, str], str]]:
    """A few ciphertexts (blob, plaintext, context, material id) under the key's current material."""
    made = []
    for n in range(3):
        plaintext, context = f"{tag}-{n}".encode(), {"made": tag, "n": str(n)}
        data_key = kms.generate_data_key(KeyId=key, NumberOfBytes=16, EncryptionContext=context)
        made.append(
            (data_key["CiphertextBlob"], data_key["Plaintext"], context, data_key["KeyMaterialId"])
        )
        blob = kms.encrypt(KeyId=key, Plaintext=plaintext, EncryptionContext=context)[
            "CiphertextBlob"
        ]
        made.append((blob, plaintext, context, data_key["KeyMaterialId"]))
    return made


def current_material(kms: Any, key: str) -> str:
    material: str = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    return material


def all_rotations(kms: Any, key: str, **options: Any) -> list[dict[str, Any]]:
    rotations: list[dict[str, Any]] = []
    marker = None
    while True:
        page = kms.list_key_rotations(
            KeyId=key, Limit=2, **options, **({"Marker": marker} if marker else {})
        )
        rotations += page["Rotations"]
        if not page["Truncated"]:
            return rotations
        marker = page["NextMarker"]


def test_five_automatic_and_on_demand_rotations_keep_every_ciphertext(
    server: InProcessServer, kms: Any, clock: ManualClock
) -> None:
    key = kms.create_key()["KeyMetadata"]
    arn, created = key["Arn"], key["CreationDate"]
    status = kms.get_key_rotation_status(KeyId=arn)
    assert status["KeyRotationEnabled"] is False and "NextRotationDate" not in status
    kms.enable_key_rotation(KeyId=arn, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=arn)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    assert status["NextRotationDate"].timestamp() == pytest.approx(
        created.timestamp() + 90 * DAY, abs=1
    )

    corpus = encrypt_corpus(kms, arn, "original")
    materials = [current_material(kms, arn)]
    for rotation in range(5):
        clock.advance(90 * DAY + 1)
        corpus += encrypt_corpus(
            kms, arn, f"after-automatic-{rotation}"
        )  # the request finds it due
        materials.append(current_material(kms, arn))
        if rotation % 2:
            kms.rotate_key_on_demand(KeyId=arn)
            materials.append(current_material(kms, arn))
            corpus += encrypt_corpus(kms, arn, f"after-on-demand-{rotation}")
    assert len(set(materials)) == len(materials) == 8  # 1 + 5 automatic + 2 on demand

    # every ciphertext names the material it was made with, and all of them still decrypt
    assert {m for *_, m in corpus} == set(materials)
    for blob, plaintext, context, material in corpus:
        opened = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        assert opened["Plaintext"] == plaintext and opened["KeyMaterialId"] == material

    rotations = all_rotations(kms, arn)
    assert [r["RotationType"] for r in rotations] == [
        "AUTOMATIC",
        "AUTOMATIC",
        "ON_DEMAND",
        "AUTOMATIC",
        "AUTOMATIC",
        "ON_DEMAND",
        "AUTOMATIC",
    ]
    assert [r["KeyMaterialId"] for r in rotations] == materials[1:]
    assert [r["KeyMaterialState"] for r in rotations] == ["NON_CURRENT"] * 6 + ["CURRENT"]
    dates = [r["RotationDate"] for r in rotations]
    assert dates == sorted(dates)
    with_original = all_rotations(kms, arn, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert [r["KeyMaterialId"] for r in with_original] == materials
    for forged in ("not base64!", "YWJj"):  # the second decodes to "abc"
        assert error_of(kms.list_key_rotations, KeyId=arn, Marker=forged)[0] == (
            "InvalidMarkerException"
        )

    # ReEncrypt moves an old ciphertext to the newest material
    blob, plaintext, context, old = corpus[0]
    moved = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext=context,
        DestinationKeyId=arn,
        DestinationEncryptionContext=context,
    )
    assert (
        moved["SourceKeyMaterialId"] == old and moved["DestinationKeyMaterialId"] == materials[-1]
    )
    assert (
        kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext=context)["Plaintext"]
        == plaintext
    )


def test_rotation_period_bounds_and_states(kms: Any) -> None:
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    for days in (89, 2561):
        assert error_of(kms.enable_key_rotation, KeyId=arn, RotationPeriodInDays=days)[0] == (
            "ValidationException"
        )
    kms.enable_key_rotation(KeyId=arn)
    assert kms.get_key_rotation_status(KeyId=arn)["RotationPeriodInDays"] == 365
    kms.disable_key_rotation(KeyId=arn)
    assert kms.get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"] is False
    kms.disable_key(KeyId=arn)
    assert error_of(kms.enable_key_rotation, KeyId=arn)[0] == "DisabledException"
    assert error_of(kms.rotate_key_on_demand, KeyId=arn)[0] == "DisabledException"
    assert error_of(kms.rotate_key_on_demand, KeyId="alias/none")[0] == "NotFoundException"


def test_on_demand_rotation_limit(kms: Any) -> None:
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    for _ in range(lifecycle.ON_DEMAND_ROTATION_LIMIT):
        kms.rotate_key_on_demand(KeyId=arn)
    assert error_of(kms.rotate_key_on_demand, KeyId=arn) == (
        "LimitExceededException",
        "The on-demand rotations limit has been reached for the given keyId. "
        f"No more on-demand rotations can be performed for this key: {arn}",
    )
    assert len(all_rotations(kms, arn)) == lifecycle.ON_DEMAND_ROTATION_LIMIT


def test_automatic_rotation_happens_while_idle_and_across_restarts(
    tmp_path: Path, server: InProcessServer, kms: Any, clock: ManualClock, database: str | None
) -> None:
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=arn, RotationPeriodInDays=90)
    before = current_material(kms, arn)
    clock.advance(91 * DAY)
    assert server.service.sweep() == 1  # what the periodic sweeper runs, no request needed
    rotations = server.service.store.keys.materials(arn.rsplit("/", 1)[1])
    assert [m.rotation_type for m in rotations] == [None, "AUTOMATIC"]
    assert server.service.sweep() == 0  # not due again for 90 days
    server.stop()

    # Due while the service was stopped: a new service makes it on start's first sweep.
    clock.advance(91 * DAY)
    restarted = build_service(tmp_path, clock, database)
    assert restarted.sweep() == 1
    assert [m.rotation_type for m in restarted.store.keys.materials(arn.rsplit("/", 1)[1])] == [
        None,
        "AUTOMATIC",
        "AUTOMATIC",
    ]
    assert before in {m.material_id for m in restarted.store.keys.materials(arn.rsplit("/", 1)[1])}
    restarted.close()


def test_disabled_keys_do_not_rotate_until_enabled(kms: Any, clock: ManualClock) -> None:
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=arn, RotationPeriodInDays=90)
    kms.disable_key(KeyId=arn)
    clock.advance(100 * DAY)
    kms.describe_key(KeyId=arn)
    assert all_rotations(kms, arn) == []
    kms.enable_key(KeyId=arn)
    kms.describe_key(KeyId=arn)
    assert [r["RotationType"] for r in all_rotations(kms, arn)] == ["AUTOMATIC"]


def test_manual_rotation_by_moving_an_alias(kms: Any) -> None:
    first = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=first)
    old = kms.encrypt(KeyId="alias/app", Plaintext=b"old data")
    assert old["KeyId"] == first
    second = kms.create_key()["KeyMetadata"]["Arn"]
    kms.update_alias(AliasName="alias/app", TargetKeyId=second)
    new = kms.encrypt(KeyId="alias/app", Plaintext=b"new data")
    assert new["KeyId"] == second
    # Decrypt finds the key in the ciphertext, so the old key keeps decrypting its data...
    assert kms.decrypt(CiphertextBlob=old["CiphertextBlob"])["KeyId"] == first
    assert kms.decrypt(CiphertextBlob=new["CiphertextBlob"])["Plaintext"] == b"new data"
    # ...but naming the alias now names the new key, as in AWS.
    assert error_of(kms.decrypt, CiphertextBlob=old["CiphertextBlob"], KeyId="alias/app")[0] == (
        "IncorrectKeyException"
    )
