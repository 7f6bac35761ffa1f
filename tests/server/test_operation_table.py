"""The operation table is the one list of operations, and it keeps the audit promise.

* Every operation of the KMS model that botocore ships is in the table: implemented, or
  declared unsupported (answered UnsupportedOperationException, never UnknownOperation).
* Every operation the table marks mutating changes the store only in the transaction
  that writes its audit record: when the record cannot be written, nothing is left.
* Every operation it does not mark mutating changes nothing, so none can have been
  left off by mistake.
* Sealbox's own operations (``Sealbox_20261128.*``) are a table apart, share no name with
  the KMS API, and change nothing.

Requests go through the real dispatcher (``Dispatcher.handle_as``: everything but the
signature check) on a real SQLite store.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select

from sealbox.server.access.principals import Principal, create_access_key
from sealbox.server.dispatch import SEALBOX_TARGET_PREFIX, Dispatcher
from sealbox.server.operations import load_all, load_sealbox
from sealbox.server.operations.unsupported import NOT_IMPLEMENTED
from sealbox.server.service import KmsService
from sealbox.server.store import schema
from tests.server.harness import DEV_ACCOUNT, REGION, build_service

Call = Callable[[str, dict[str, Any]], dict[str, Any]]


class Session:
    """An admin of DEV_ACCOUNT calling the service in-process."""

    def __init__(self, service: KmsService) -> None:
        self.service = service
        self.dispatcher = Dispatcher(service)
        created = create_access_key(
            service.store,
            service.require_unsealed(),
            account=DEV_ACCOUNT,
            user_name="admin",
            admin=True,
            now=time.time(),
        )
        principal = service.principal(created.access_key_id)
        assert principal is not None
        self.principal: Principal = principal

    def answer(self, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        response = asyncio.run(self.dispatcher.handle_as(self.principal, REGION, operation, params))
        return response.status, json.loads(response.body)

    def __call__(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        status, answer = self.answer(operation, params)
        assert status == 200, (operation, answer)
        return answer

    def key(self, **params: Any) -> str:
        return str(self("CreateKey", params)["KeyMetadata"]["KeyId"])

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table but the audit log's."""
        tables = [t for t in schema.metadata.sorted_tables if t.name != "audit_log"]
        with self.service.store.read() as connection:
            return {
                t.name: sorted(map(tuple, connection.execute(select(t))), key=repr) for t in tables
            }


def _imported_key(call: Call, **extra: Any) -> tuple[str, dict[str, Any]]:
    """An EXTERNAL key and the ImportKeyMaterial parameters that give it material."""
    key_id = str(call("CreateKey", {"Origin": "EXTERNAL"})["KeyMetadata"]["KeyId"])
    wrapping = call(
        "GetParametersForImport",
        {"KeyId": key_id, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"},
    )
    public = serialization.load_der_public_key(base64.b64decode(wrapping["PublicKey"]))
    assert isinstance(public, rsa.RSAPublicKey)
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    encrypted = public.encrypt(os.urandom(32), oaep)
    return key_id, {
        "KeyId": key_id,
        "ImportToken": wrapping["ImportToken"],
        "EncryptedKeyMaterial": base64.b64encode(encrypted).decode(),
        "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
        **extra,
    }


def _grant(call: Session) -> tuple[str, dict[str, Any]]:
    key_id = call.key()
    grant = call(
        "CreateGrant",
        {"KeyId": key_id, "GranteePrincipal": call.principal.arn, "Operations": ["Encrypt"]},
    )
    return key_id, grant


def _alias(call: Session, name: str) -> str:
    key_id = call.key()
    call("CreateAlias", {"AliasName": name, "TargetKeyId": key_id})
    return key_id


def _policy_change(call: Session) -> dict[str, Any]:
    key_id = call.key()
    policy = json.loads(call("GetKeyPolicy", {"KeyId": key_id})["Policy"])
    policy["Statement"][0]["Sid"] = "Changed"
    return {"KeyId": key_id, "PolicyName": "default", "Policy": json.dumps(policy)}


# One valid request per mutating operation, made from fresh objects each time it is asked
# for (the name is a prefix: each case gets its own alias).
MUTATING_CASES: dict[str, Callable[[Session], dict[str, Any]]] = {
    "CreateKey": lambda c: {"Description": "new"},
    "EnableKey": lambda c: {"KeyId": _disabled(c)},
    "DisableKey": lambda c: {"KeyId": c.key()},
    "ScheduleKeyDeletion": lambda c: {"KeyId": c.key(), "PendingWindowInDays": 7},
    "CancelKeyDeletion": lambda c: {"KeyId": _pending_deletion(c)},
    "UpdateKeyDescription": lambda c: {"KeyId": c.key(), "Description": "changed"},
    "CreateAlias": lambda c: {"AliasName": _fresh_alias(), "TargetKeyId": c.key()},
    "UpdateAlias": lambda c: _update_alias(c),
    "DeleteAlias": lambda c: _delete_alias(c),
    "TagResource": lambda c: {"KeyId": c.key(), "Tags": [{"TagKey": "a", "TagValue": "b"}]},
    "UntagResource": lambda c: {"KeyId": _tagged(c), "TagKeys": ["t"]},
    "EnableKeyRotation": lambda c: {"KeyId": c.key()},
    "DisableKeyRotation": lambda c: {"KeyId": _rotating(c)},
    "RotateKeyOnDemand": lambda c: {"KeyId": c.key()},
    "GetParametersForImport": lambda c: {
        "KeyId": c.key(Origin="EXTERNAL"),
        "WrappingAlgorithm": "RSAES_OAEP_SHA_256",
        "WrappingKeySpec": "RSA_2048",
    },
    "ImportKeyMaterial": lambda c: _imported_key(c)[1],
    "DeleteImportedKeyMaterial": lambda c: {"KeyId": _with_imported_material(c)},
    "PutKeyPolicy": _policy_change,
    "CreateGrant": lambda c: {
        "KeyId": c.key(),
        "GranteePrincipal": c.principal.arn,
        "Operations": ["Decrypt"],
    },
    "RetireGrant": lambda c: {"GrantToken": _grant(c)[1]["GrantToken"]},
    "RevokeGrant": lambda c: _revoke(c),
    "ReplicateKey": lambda c: {"KeyId": c.key(MultiRegion=True), "ReplicaRegion": "us-west-2"},
    "UpdatePrimaryRegion": lambda c: {"KeyId": _replicated(c), "PrimaryRegion": "us-west-2"},
}


def _replicated(call: Session) -> str:
    key_id = call.key(MultiRegion=True)
    call("ReplicateKey", {"KeyId": key_id, "ReplicaRegion": "us-west-2"})
    return key_id


_aliases = iter(range(1_000_000))


def _fresh_alias() -> str:
    return f"alias/case-{next(_aliases)}"


def _disabled(call: Session) -> str:
    key_id = call.key()
    call("DisableKey", {"KeyId": key_id})
    return key_id


def _pending_deletion(call: Session) -> str:
    key_id = call.key()
    call("ScheduleKeyDeletion", {"KeyId": key_id, "PendingWindowInDays": 7})
    return key_id


def _update_alias(call: Session) -> dict[str, Any]:
    name = _fresh_alias()
    _alias(call, name)
    return {"AliasName": name, "TargetKeyId": call.key()}


def _delete_alias(call: Session) -> dict[str, Any]:
    name = _fresh_alias()
    _alias(call, name)
    return {"AliasName": name}


def _tagged(call: Session) -> str:
    key_id = call.key(Tags=[{"TagKey": "t", "TagValue": "v"}])
    return key_id


def _rotating(call: Session) -> str:
    key_id = call.key()
    call("EnableKeyRotation", {"KeyId": key_id})
    return key_id


def _with_imported_material(call: Session) -> str:
    key_id, params = _imported_key(call)
    call("ImportKeyMaterial", params)
    return key_id


def _revoke(call: Session) -> dict[str, Any]:
    key_id, grant = _grant(call)
    return {"KeyId": key_id, "GrantId": grant["GrantId"]}


# One valid request per operation that must change nothing.
def _read_only_cases(call: Session) -> dict[str, dict[str, Any]]:
    key_id, _ = _grant(call)
    call("EnableKeyRotation", {"KeyId": key_id})
    call("CreateAlias", {"AliasName": _fresh_alias(), "TargetKeyId": key_id})
    blob = call("Encrypt", {"KeyId": key_id, "Plaintext": base64.b64encode(b"x").decode()})
    mac_key = call("CreateKey", {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"})
    mac_key_id = mac_key["KeyMetadata"]["KeyId"]
    message = base64.b64encode(b"message").decode()
    mac = call(
        "GenerateMac", {"KeyId": mac_key_id, "Message": message, "MacAlgorithm": "HMAC_SHA_256"}
    )
    signing = {"SigningAlgorithm": "ECDSA_SHA_256", "Message": message}
    sign_key = {"KeyId": _created(call, "ECC_NIST_P256", "SIGN_VERIFY")}
    signature = call("Sign", {**sign_key, **signing})["Signature"]
    agreement_key = {"KeyId": _created(call, "ECC_NIST_P256", "KEY_AGREEMENT")}
    peer = call("GetPublicKey", agreement_key)["PublicKey"]
    return {
        "DescribeKey": {"KeyId": key_id},
        "ListKeys": {},
        "Encrypt": {"KeyId": key_id, "Plaintext": base64.b64encode(b"data").decode()},
        "Decrypt": {"CiphertextBlob": blob["CiphertextBlob"]},
        "ReEncrypt": {"CiphertextBlob": blob["CiphertextBlob"], "DestinationKeyId": key_id},
        "GenerateDataKey": {"KeyId": key_id, "KeySpec": "AES_256"},
        "GenerateDataKeyWithoutPlaintext": {"KeyId": key_id, "NumberOfBytes": 32},
        "GenerateRandom": {"NumberOfBytes": 16},
        "ListAliases": {},
        "ListResourceTags": {"KeyId": key_id},
        "GetKeyRotationStatus": {"KeyId": key_id},
        "ListKeyRotations": {"KeyId": key_id},
        "GetKeyPolicy": {"KeyId": key_id},
        "ListKeyPolicies": {"KeyId": key_id},
        "ListGrants": {"KeyId": key_id},
        "ListRetirableGrants": {"RetiringPrincipal": call.principal.arn},
        "GenerateMac": {"KeyId": mac_key_id, "Message": message, "MacAlgorithm": "HMAC_SHA_256"},
        "VerifyMac": {
            "KeyId": mac_key_id,
            "Message": message,
            "MacAlgorithm": "HMAC_SHA_256",
            "Mac": mac["Mac"],
        },
        "GetPublicKey": sign_key,
        "Sign": {**sign_key, **signing},
        "Verify": {**sign_key, **signing, "Signature": signature},
        "DeriveSharedSecret": {**agreement_key, "KeyAgreementAlgorithm": "ECDH", "PublicKey": peer},
        "GenerateDataKeyPair": {"KeyId": key_id, "KeyPairSpec": "ECC_NIST_P256"},
        "GenerateDataKeyPairWithoutPlaintext": {"KeyId": key_id, "KeyPairSpec": "RSA_2048"},
    }


def _created(call: Session, spec: str, usage: str) -> str:
    key_id: str = call("CreateKey", {"KeySpec": spec, "KeyUsage": usage})["KeyMetadata"]["KeyId"]
    return key_id


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    service = build_service(tmp_path_factory.mktemp("table"))
    try:
        yield Session(service)
    finally:
        service.close()


def _model_operations() -> set[str]:
    model = botocore.session.get_session().get_service_model("kms")
    return set(model.operation_names)


def test_every_model_operation_is_implemented_or_declared_unsupported() -> None:
    table = load_all()
    assert set(table) == _model_operations()
    unsupported = {name for name, op in table.items() if not op.supported}
    assert unsupported == set(NOT_IMPLEMENTED)


def test_unsupported_operations_answer_unsupported(session: Session) -> None:
    for name in sorted(NOT_IMPLEMENTED):
        status, answer = session.answer(name, {})
        assert status == 400
        assert answer["__type"] in ("UnsupportedOperationException", "ValidationException")


def test_the_cases_cover_the_table() -> None:
    table = load_all()
    mutating = {name for name, op in table.items() if op.supported and op.mutating}
    assert mutating == set(MUTATING_CASES)


def test_read_only_operations_change_nothing(session: Session) -> None:
    cases = _read_only_cases(session)
    table = load_all()
    assert set(cases) == {n for n, op in table.items() if op.supported and not op.mutating}
    for name, params in cases.items():
        before = session.snapshot()
        session(name, params)
        assert session.snapshot() == before, name


# One valid request per operation of Sealbox's own namespace.
SEALBOX_CASES: dict[str, dict[str, Any]] = {
    "LookupEvents": {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateKey"}],
        "MaxResults": 5,
    },
}


def test_sealbox_operations_are_apart_and_change_nothing(session: Session) -> None:
    table = load_sealbox()
    assert set(table) == set(SEALBOX_CASES)
    assert not set(table) & _model_operations()
    assert not any(op.mutating or not op.supported or op.validate is None for op in table.values())
    session.key()
    for name, params in SEALBOX_CASES.items():
        before = session.snapshot()
        response = asyncio.run(
            session.dispatcher.handle_as(
                session.principal, REGION, name, params, prefix=SEALBOX_TARGET_PREFIX
            )
        )
        assert response.status == 200, response.body
        assert session.snapshot() == before, name


@pytest.mark.parametrize("name", sorted(MUTATING_CASES))
def test_mutating_operation_changes_only_with_its_audit_record(
    session: Session, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = session.service.audit
    assert audit is not None
    # It changes the store when its record is written...
    params = MUTATING_CASES[name](session)
    before = session.snapshot()
    records = len(list(session.service.store.audit.rows()))
    session(name, params)
    assert session.snapshot() != before
    assert len(list(session.service.store.audit.rows())) == records + 1
    # ...and leaves nothing when it cannot be.
    params = MUTATING_CASES[name](session)
    before = session.snapshot()

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("audit store unavailable")

    monkeypatch.setattr(audit, "record", refuse)
    status, answer = session.answer(name, params)
    monkeypatch.undo()
    session.service.forget()
    assert (status, answer["__type"]) == (500, "KMSInternalException")
    assert session.snapshot() == before
