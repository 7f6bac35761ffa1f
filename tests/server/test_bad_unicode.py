"""One bad request never fails another: bodies that are not JSON every later stage can
handle (lone surrogates anywhere, NaN, numbers out of range, duplicate member names,
deep nesting, bytes that are not UTF-8) answer 400 SerializationException and are
audited; and a record that cannot be written fails only its own request."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from sealbox.server.audit import AuditFailure, verify
from sealbox.server.audit.checkpoint import CHECKPOINT_DIR
from sealbox.server.audit.records import service_event
from sealbox.server.service import KmsService
from sealbox.server.store.audit_rows import AuditAppender
from tests.server.harness import OTHER_ACCOUNT, InProcessServer, RawClient, build_service

SURROGATE = "a string holds a lone UTF-16 surrogate, which is not Unicode text."
NOT_JSON = "The request body is not valid JSON"


def nested(depth: int) -> str:
    return '{"KeyId": "k", "Plaintext": "eA==", "EncryptionContext": {"x": ' + (
        "[" * depth + "]" * depth + "}}"
    )


HOSTILE: list[tuple[str, bytes | str, str]] = [
    ("surrogate-value", '{"KeyId": "\\ud800"}', f"{NOT_JSON}: {SURROGATE}"),
    ("low-surrogate", '{"KeyId": "alias/\\udfff"}', f"{NOT_JSON}: {SURROGATE}"),
    ("surrogate-member-name", '{"\\ud800": "x", "KeyId": "k"}', f"{NOT_JSON}: {SURROGATE}"),
    (
        "surrogate-in-context",
        '{"KeyId": "k", "Plaintext": "eA==", "EncryptionContext": {"tenant": "b\\ud83d"}}',
        f"{NOT_JSON}: {SURROGATE}",
    ),
    (
        "surrogate-in-context-key",
        '{"KeyId": "k", "Plaintext": "eA==", "EncryptionContext": {"\\ude00": "v"}}',
        f"{NOT_JSON}: {SURROGATE}",
    ),
    ("surrogate-in-list", '{"KeyId": "k", "GrantTokens": ["\\ud800"]}', f"{NOT_JSON}: {SURROGATE}"),
    (
        "surrogate-in-policy",
        '{"KeyId": "k", "PolicyName": "default", "Policy": "{\\"Sid\\": \\"\\ud800\\"}"}',
        f"{NOT_JSON}: {SURROGATE}",
    ),
    ("nan", '{"Limit": NaN}', f"{NOT_JSON}: NaN is not a JSON number."),
    ("infinity", '{"Limit": -Infinity}', f"{NOT_JSON}: -Infinity is not a JSON number."),
    ("overflow", '{"Limit": 1e999}', f"{NOT_JSON}: a number is out of range."),
    ("huge-integer", '{"Limit": ' + "9" * 5000 + "}", f"{NOT_JSON}."),
    (
        "duplicate-names",
        '{"KeyId": "a", "KeyId": "b"}',
        f"{NOT_JSON}: a member name appears more than once in an object.",
    ),
    (
        "duplicate-context-keys",
        '{"KeyId": "k", "Plaintext": "eA==", "EncryptionContext": {"t": "A", "t": "B"}}',
        f"{NOT_JSON}: a member name appears more than once in an object.",
    ),
    ("nested-1000", nested(1000), f"{NOT_JSON}: it nests deeper than 64 levels."),
    ("nested-100", nested(100), f"{NOT_JSON}: it nests deeper than 64 levels."),
    # an unterminated string of escaped quotes behind deep brackets: the nesting check must
    # stay linear here (it once rescanned the string from every quote: hours for 1 MiB)
    ("unterminated-escaped-quotes", "[" * 65 + '"' + '\\"' * 200_000, f"{NOT_JSON}."),
    ("not-utf8", b'{"KeyId": "\xff\xfe"}', f"{NOT_JSON}."),
    ("utf8-encoded-surrogate", b'{"KeyId": "\xed\xa0\x80"}', f"{NOT_JSON}."),
]


@pytest.mark.parametrize(
    ("body", "message"), [(b, m) for _, b, m in HOSTILE], ids=[i for i, _, _ in HOSTILE]
)
def test_unreadable_bodies_are_refused_and_audited(
    server: InProcessServer, body: bytes | str, message: str
) -> None:
    client = RawClient(server.endpoint, server.credentials())
    for operation in ("Encrypt", "ListKeys", "CreateGrant", "PutKeyPolicy"):
        status, headers, answer = client.send(f"TrentService.{operation}", body)
        assert (status, answer) == (400, {"__type": "SerializationException", "message": message})
        recorded = [
            json.loads(row.record)
            for row in server.service.store.audit.rows()
            if headers["x-amzn-requestid"] in row.record
        ]
        assert [(r["eventName"], r["errorCode"]) for r in recorded] == [
            (operation, "SerializationException")
        ]


def test_valid_unicode_is_accepted(server: InProcessServer) -> None:
    kms = server.client()
    key = kms.create_key()["KeyMetadata"]["Arn"]
    client = RawClient(server.endpoint, server.credentials())
    # an escaped surrogate pair is one character (U+1F600)
    text = (
        f'{{"KeyId": "{key}", "Plaintext": "eA==", '
        '"EncryptionContext": {"\\ud83d\\ude00": "\\u00e9"}}'
    )
    status, _, answer = client.send("TrentService.Encrypt", text)
    assert status == 200, answer
    opened = kms.decrypt(
        CiphertextBlob=base64.b64decode(answer["CiphertextBlob"]),
        EncryptionContext={"\U0001f600": "\u00e9"},
    )
    assert opened["Plaintext"] == b"x"
    deep = '{"Limit": 5, "x": ' + "[" * 63 + "]" * 63 + "}"  # 64 levels are allowed
    status, _, answer = client.send("TrentService.ListKeys", deep)
    assert status == 200, answer
    # brackets inside strings (a key policy's, say) are text, not nesting
    text = json.dumps({"Limit": 5, "x": ['\\"[{' * 200, "]" * 300]})
    status, _, answer = client.send("TrentService.ListKeys", text)
    assert status == 200, answer


def test_poisoned_requests_from_one_account_never_fail_another(server: InProcessServer) -> None:
    """Account B floods the service with bodies that once made the audit batch fail while
    account A works: every one of A's requests succeeds."""
    kms = server.client()
    key = kms.create_key()["KeyMetadata"]["Arn"]
    good = RawClient(server.endpoint, server.credentials())
    bad = RawClient(server.endpoint, server.credentials(account=OTHER_ACCOUNT, user="mallory"))
    poison = [body for _, body, _ in HOSTILE]
    outcomes: dict[str, list[int]] = {"good": [], "bad": []}
    lock = threading.Lock()

    def run(name: str, client: RawClient, bodies: list[bytes | str]) -> None:
        for body in bodies:
            status, _, _ = client.send("TrentService.Encrypt", body)
            with lock:
                outcomes[name].append(status)

    encrypt = json.dumps({"KeyId": key, "Plaintext": "eA==", "EncryptionContext": {"n": "1"}})
    threads = [
        *(threading.Thread(target=run, args=("good", good, [encrypt] * 60)) for _ in range(4)),
        *(threading.Thread(target=run, args=("bad", bad, poison * 4)) for _ in range(4)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert outcomes["good"] == [200] * 240
    assert outcomes["bad"] == [400] * (4 * 4 * len(poison))


# -- group commit, unit level ---------------------------------------------------------------


def _event(n: int) -> dict[str, Any]:
    key_arn = f"arn:aws:kms:us-east-1:111122223333:key/{n:08d}-0000-4000-8000-000000000000"
    return service_event(moment=1.8e9 + n, event_name="RotateKey", key_arn=key_arn)


def _append_all(service: KmsService, records: list[dict[str, Any]]) -> list[str]:
    """Append ``records`` as one batch; the outcome of each ("ok" or "failed")."""
    audit = service.audit
    assert audit is not None

    async def together() -> list[str]:
        results = await asyncio.gather(*(audit.append(r) for r in records), return_exceptions=True)
        outcomes = []
        for result in results:
            assert result is None or isinstance(result, AuditFailure), result
            outcomes.append("ok" if result is None else "failed")
        return outcomes

    return asyncio.run(together())


def test_an_unencodable_record_fails_only_itself(tmp_path: Path) -> None:
    service = build_service(tmp_path)
    try:
        unencodable = {**_event(2), "additionalEventData": {"value": object()}}
        outcomes = _append_all(service, [_event(1), unencodable, _event(3), _event(4)])
        assert outcomes == ["ok", "failed", "ok", "ok"]
        written = [json.loads(r.record)["eventTime"] for r in service.store.audit.rows()]
        assert written == [_event(n)["eventTime"] for n in (1, 3, 4)]
    finally:
        _close(service)
    _assert_intact(tmp_path, 3)


def test_a_row_the_store_refuses_fails_only_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the batch's commit fails, its records are retried one by one: only the one the
    store refuses fails, and the chain stays whole."""
    original = AuditAppender.append

    def picky(self: AuditAppender, rows: list[dict[str, Any]]) -> None:
        if any("00000002-" in row["key_arn"] for row in rows):
            raise ValueError("the store refuses this row")
        original(self, rows)

    service = build_service(tmp_path)
    try:
        monkeypatch.setattr(AuditAppender, "append", picky)
        outcomes = _append_all(service, [_event(n) for n in range(1, 6)])
        assert outcomes == ["ok", "failed", "ok", "ok", "ok"]
        monkeypatch.undo()
        assert _append_all(service, [_event(7)]) == ["ok"]
    finally:
        _close(service)
    _assert_intact(tmp_path, 5)


def test_a_failing_store_fails_the_batch_without_a_try_per_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def broken(self: AuditAppender, rows: list[dict[str, Any]]) -> None:
        attempts.append(len(rows))
        raise OSError("disk full")

    service = build_service(tmp_path)
    try:
        monkeypatch.setattr(AuditAppender, "append", broken)
        assert _append_all(service, [_event(n) for n in range(1, 21)]) == ["failed"] * 20
        assert attempts == [20, 1, 1]  # the batch, then two single records, then give up
    finally:
        monkeypatch.undo()
        _close(service)
    _assert_intact(tmp_path, 0)


def _close(service: KmsService) -> None:
    assert service.audit is not None
    service.audit.close()
    service.close()


def _assert_intact(directory: Path, records: int) -> None:
    from sealbox.server.bootstrap import open_store
    from sealbox.server.config import ServerConfig
    from sealbox.server.rootkey.configured import load_root_key

    config = ServerConfig(data_dir=directory / "data", root_key=str(directory / "root.key"))
    store = open_store(config)
    try:
        count, findings = verify(
            store, load_root_key(config, store), directory / "data" / CHECKPOINT_DIR
        )
    finally:
        store.close()
    assert (count, findings) == (records, [])
