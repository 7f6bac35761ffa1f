"""Fuzz the wire: model-derived, boundary and hostile requests against one real server.

One ``sealbox serve`` process (a subprocess, so a wedged worker cannot take the test
runner with it) gets raw HTTP requests built by ``fuzz_strategies``, for every
operation, signed with botocore's SigV4 signer or not (or badly). After each answer:

* no 5xx (this setup declares no store faults, so none at all);
* the answer is AWS-shaped: ``application/x-amz-json-1.1``, an ``x-amzn-requestid``,
  a JSON object, and for an error exactly ``{"__type", "message"}``;
* exactly one new API-call record is in the audit log, for that request id, with the
  error code the caller saw, and no larger than the record cap.

At the end the totals match (requests sent = records added), ``/healthz`` and ``/readyz``
answer 200, and a normal boto3 Encrypt/Decrypt works.

Rounds of a few examples per operation run until the time budget is spent; round ``r``
of operation ``i`` always uses seed ``r * 1000 + i``, so a run is reproducible. The
budget is ``--fuzz-seconds`` / ``SEALBOX_FUZZ_SECONDS`` (see tests/conftest.py);
``SEALBOX_FUZZ_SHRINK=1`` shrinks each failure to a minimal request (unbounded time).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sqlite3
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from sealbox.server.audit.records import MAX_RECORD
from tests.server import fuzz_strategies as fs
from tests.server.harness import REGION, Credentials, SubprocessServer, admin, kms_client

pytestmark = pytest.mark.slow

EXAMPLES_PER_ROUND = 4
# Shrinking re-sends a failing request many times; it makes the smallest failing input,
# but its time has no bound, so it is on only when asked for.
PHASES = (Phase.explicit, Phase.generate) + (
    (Phase.shrink,) if os.environ.get("SEALBOX_FUZZ_SHRINK") == "1" else ()
)
# Not a performance bound: a request unanswered this long means a wedged worker, and
# the run stops instead of waiting on it for every remaining example.
HUNG_SECONDS = 60.0
JSON_1_1 = "application/x-amz-json-1.1"


class ServerUnresponsive(BaseException):
    """Not an ``Exception``, so Hypothesis does not shrink by re-sending to a wedged server."""


class Case:
    """One request. Not a dataclass: Hypothesis would print every byte of a 1 MiB body."""

    __slots__ = ("auth", "body", "detail", "operation", "target")

    def __init__(
        self, operation: str, target: str | None, body: bytes, auth: str, detail: str
    ) -> None:
        self.operation, self.target, self.body = operation, target, body
        self.auth = auth
        self.detail = detail  # the unknown key id, garbage Authorization value, ...

    def __repr__(self) -> str:
        body = self.body[:600] + (
            b"... (%d bytes)" % len(self.body) if len(self.body) > 600 else b""
        )
        detail = self.detail[:80] + ("..." if len(self.detail) > 80 else "")
        return f"Case(target={self.target!r}, auth={self.auth!r}, detail={detail!r}, body={body!r})"


@st.composite
def cases(draw: st.DrawFn, operation: str, values: fs.ModelValues) -> Case:
    auth = draw(fs.auth_modes)
    detail = ""
    if auth == "unknown-key":
        detail = "AKIA" + draw(
            st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16)
        )
    elif auth == "huge-key":
        detail = "AKIA" + "A" * draw(st.sampled_from([17, 125, 1020, 4000]))
    elif auth == "garbage":
        detail = draw(fs.GARBAGE_AUTHORIZATION)
    return Case(
        operation, draw(fs.targets(operation)), draw(fs.bodies(operation, values)), auth, detail
    )


# -- the audit log, read straight from the store --------------------------------------------


class AuditWatch:
    """New API-call records since the last look (service events are the service's own)."""

    def __init__(self, database: Path) -> None:
        self._db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, isolation_level=None)
        self._last = self._db.execute("SELECT coalesce(max(rowid), 0) FROM audit_log").fetchone()[0]
        self.calls = 0  # API-call records seen by new_calls()

    def skip(self) -> None:
        """Look past records that are not the fuzzer's (the seed refresh between rounds)."""
        self._last = self._db.execute("SELECT coalesce(max(rowid), 0) FROM audit_log").fetchone()[0]

    def new_calls(self) -> list[tuple[dict[str, Any], int]]:
        rows = self._db.execute(
            "SELECT rowid, record FROM audit_log WHERE rowid > ? ORDER BY rowid", (self._last,)
        ).fetchall()
        if rows:
            self._last = rows[-1][0]
        found = []
        for _, text in rows:
            record = json.loads(text)
            if record.get("eventType") == "AwsApiCall":
                found.append((record, len(text.encode())))
        self.calls += len(found)
        return found

    def close(self) -> None:
        self._db.close()


# -- the server and its seeds ---------------------------------------------------------------


@dataclass
class Target:
    server: SubprocessServer
    admin: Credentials
    user: Credentials
    seeds: fs.Seeds
    audit: AuditWatch
    host: str
    sent: int = 0  # requests answered

    def client(self) -> Any:
        return kms_client(self.server.endpoint, self.admin)


def _credentials(data_dir: Path, root_key: Path, user: str, *, is_admin: bool) -> Credentials:
    flags = ("--admin",) if is_admin else ()
    made = admin(
        "create-access-key",
        "--account",
        "111122223333",
        "--user",
        user,
        *flags,
        data_dir=data_dir,
        root_key=root_key,
    )
    return Credentials(made["AccessKeyId"], made["SecretAccessKey"], made["Arn"])


def _seeds(kms: Any, user: Credentials) -> fs.Seeds:
    """A key of each kind, an alias, a ciphertext and a grant, for requests to name."""
    keys = [kms.create_key(Description="fuzz seed")["KeyMetadata"]]
    for kind in (  # whichever kinds this version supports
        {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
        {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
        {"KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"},
        {"Origin": "EXTERNAL"},
    ):
        try:
            keys.append(kms.create_key(**kind)["KeyMetadata"])
        except ClientError:
            pass
    symmetric = keys[0]["KeyId"]
    kms.create_alias(AliasName="alias/fuzz", TargetKeyId=symmetric)
    blob = kms.encrypt(KeyId=symmetric, Plaintext=b"seed", EncryptionContext={"tenant": "a"})[
        "CiphertextBlob"
    ]
    grant = kms.create_grant(
        KeyId=symmetric, GranteePrincipal=user.arn, Operations=["Encrypt", "Decrypt"]
    )
    return fs.Seeds(
        key_ids=tuple(k["KeyId"] for k in keys) + tuple(k["Arn"] for k in keys[:2]),
        aliases=("alias/fuzz", "alias/aws/ebs", "alias/missing"),
        ciphertexts=(blob, blob[:-1], b"\x01" + bytes(100)),
        grant_ids=(grant["GrantId"],),
        grant_tokens=(grant["GrantToken"],),
        principals=(user.arn, "arn:aws:iam::111122223333:root", "*"),
        extra={"Recipient": (), "Signature": ()},
    )


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    directory = tmp_path_factory.mktemp("fuzz")
    data_dir, root_key = directory / "data", directory / "root.key"
    admin_key = _credentials(data_dir, root_key, "fuzz-admin", is_admin=True)
    user_key = _credentials(data_dir, root_key, "fuzz-user", is_admin=False)
    server = SubprocessServer(data_dir, root_key)
    try:
        seeds = _seeds(kms_client(server.endpoint, admin_key), user_key)
        parsed = urlparse(server.endpoint)
        yield Target(
            server,
            admin_key,
            user_key,
            seeds,
            AuditWatch(data_dir / "sealbox.db"),
            f"{parsed.hostname}:{parsed.port}",
        )
    finally:
        server.stop()


# -- one exchange -----------------------------------------------------------------------------


def _headers(target: Target, case: Case) -> dict[str, str]:
    headers = {"Content-Type": JSON_1_1}
    if case.target is not None:
        headers["X-Amz-Target"] = case.target
    if case.auth in ("unsigned",):
        return headers
    if case.auth == "garbage":
        headers["X-Amz-Date"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        headers["Authorization"] = case.detail
        return headers
    key = target.user if case.auth == "user" else target.admin
    access_key_id, secret = key.access_key_id, key.secret_access_key
    if case.auth == "wrong-secret":
        secret = "W" * 40
    elif case.auth in ("unknown-key", "huge-key"):
        access_key_id = case.detail
    region = "eu-west-1" if case.auth == "other-region" else REGION
    request = AWSRequest(
        method="POST", url=f"http://{target.host}/", data=case.body, headers=headers
    )
    SigV4Auth(BotoCredentials(access_key_id, secret), "kms", region).add_auth(request)
    signed = {k: v for k, v in request.headers.items()}
    if case.auth == "expired":
        signed["X-Amz-Date"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 3600))
    return signed


def send(target: Target, case: Case) -> tuple[int, dict[str, str], bytes]:
    body = case.body + b" " if case.auth == "tampered" else case.body
    connection = http.client.HTTPConnection(target.host, timeout=HUNG_SECONDS)
    try:
        connection.request("POST", "/", body, _headers(target, case))
        response = connection.getresponse()
        target.sent += 1
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    except TimeoutError:
        raise ServerUnresponsive(f"no answer within {HUNG_SECONDS} s to {case!r}") from None
    finally:
        connection.close()


def check_exchange(target: Target, case: Case) -> tuple[int, dict[str, Any]]:
    status, headers, raw = send(target, case)
    records = target.audit.new_calls()  # first, so a failed check leaves none for the next
    shown = f"{status} {raw[:300]!r}"
    assert status < 500, f"server error: {shown}"
    assert headers.get("content-type") == JSON_1_1, f"content type {headers}: {shown}"
    request_id = headers.get("x-amzn-requestid", "")
    assert _is_uuid(request_id), f"request id {request_id!r}: {shown}"
    document = json.loads(raw)
    assert isinstance(document, dict), shown
    if status != 200:
        assert set(document) == {"__type", "message"}, shown
        assert isinstance(document["__type"], str) and document["__type"].endswith("Exception")
        assert isinstance(document["message"], str), shown
    assert len(records) == 1, f"{len(records)} audit records for one request: {shown}"
    record, size = records[0]
    assert record["requestID"] == request_id, (record, shown)
    assert record.get("errorCode") == (document["__type"] if status != 200 else None), (
        record,
        shown,
    )
    assert size <= MAX_RECORD, f"an audit record of {size} bytes: {shown}"
    return status, document


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


# -- what the fuzzer found in request validation (model.py), pinned -------------------------

BLOB_MEMBERS = sorted(
    (operation, member)
    for operation, spec in fs.MODEL["operations"].items()
    if "input" in spec
    for member, ref in fs.SHAPES[spec["input"]["shape"]]["members"].items()
    if fs.SHAPES[ref["shape"]]["type"] == "blob"
)


def _signed(target: Target, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    text = fs.to_json(body).encode()
    return check_exchange(target, Case(operation, fs.TARGET_PREFIX + operation, text, "signed", ""))


@pytest.mark.parametrize(("operation", "member"), BLOB_MEMBERS)
def test_blob_members_refuse_text_that_is_not_base64(
    target: Target, operation: str, member: str
) -> None:
    """Non-ASCII text in a Base64 member was a 500 (ValueError from b64decode)."""
    for text in ("é", "AAAA\u00ff", "名前", "AA==\u2028"):
        status, document = _signed(target, operation, {member: text})
        assert status == 400, document
        assert document == {
            "__type": "SerializationException",
            "message": f"The value at '{member[:1].lower() + member[1:]}' is not valid Base64.",
        }


@pytest.mark.parametrize(
    ("operation", "body", "shown", "path", "pattern"),
    [
        (
            "GetKeyPolicy",
            {"KeyId": "k", "PolicyName": "défault"},
            "défault",
            "policyName",
            r"[\w]+",
        ),
        ("GetKeyPolicy", {"KeyId": "k", "PolicyName": "名前"}, "名前", "policyName", r"[\w]+"),
        (
            "ReplicateKey",
            {"KeyId": "k", "ReplicaRegion": "us-east-١"},
            "us-east-١",
            "replicaRegion",
            r"^([a-z]+-){2,3}\d+$",
        ),
    ],
)
def test_patterns_have_javas_ascii_classes(
    target: Target, operation: str, body: dict[str, Any], shown: str, path: str, pattern: str
) -> None:
    """The model's patterns are Java regexes: \\w, \\d and \\s match ASCII only there."""
    status, document = _signed(target, operation, body)
    assert status == 400, document
    assert document == {
        "__type": "ValidationException",
        "message": f"1 validation error detected: Value '{shown}' at '{path}' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {pattern}",
    }


@pytest.mark.parametrize("when", ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400])
def test_timestamps_are_finite_numbers(target: Target, when: str) -> None:
    body = {
        "KeyId": target.seeds.key_ids[0],
        "ImportToken": "AAAA",
        "EncryptedKeyMaterial": "AAAA",
        "ValidTo": fs.Raw(when),
    }
    status, document = _signed(target, "ImportKeyMaterial", body)
    assert status == 400 and document["__type"] == "SerializationException", document


# -- rounds ------------------------------------------------------------------------------------


def _refresh_seeds(target: Target) -> None:
    """Undo what the last round did to the seed keys (disabled, pending deletion)."""
    kms = target.client()
    for key_id in target.seeds.key_ids[:6]:
        for call in (kms.cancel_key_deletion, kms.enable_key):
            try:
                call(KeyId=key_id)
            except ClientError:
                pass
    target.audit.skip()


def _probe(target: Target, operation: str, round_seed: int, examples: int) -> None:
    values = fs.ModelValues(target.seeds)

    @seed(round_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=PHASES,
    )
    @given(case=cases(operation, values))
    def probe(case: Case) -> None:
        check_exchange(target, case)

    probe()


def test_wire_fuzz(target: Target, fuzz_seconds: float) -> None:
    target.audit.skip()  # earlier tests' records
    failures: list[str] = []
    started = time.monotonic()
    sent_before, audited_before = target.sent, target.audit.calls
    round_number = 0
    hung = False
    while time.monotonic() - started < fuzz_seconds and not hung:
        _refresh_seeds(target)
        for index, operation in enumerate(fs.OPERATIONS):
            if time.monotonic() - started >= fuzz_seconds:
                break
            round_seed = round_number * 1000 + index
            try:
                _probe(target, operation, round_seed, EXAMPLES_PER_ROUND)
            except ServerUnresponsive as stuck:
                failures.append(f"{operation} (seed {round_seed}): {stuck}")
                hung = True
                break
            except Exception as failure:
                text = "".join(traceback.format_exception(failure, limit=0))
                failures.append(f"{operation} (seed {round_seed}): {text}")
        round_number += 1
    sent = target.sent - sent_before
    print(f"wire fuzz: {round_number} rounds, {sent} requests, {time.monotonic() - started:.1f} s")
    if failures:
        print("\n\n".join(failures))
        print("server log, distinct exceptions:\n" + _logged_exceptions(target.server.log_path))
    assert not failures, f"{len(failures)} operations failed; see the captured output"
    assert target.audit.calls - audited_before == sent  # every request audited, exactly once


def _logged_exceptions(log: Path) -> str:
    """One line per distinct (log message, exception type) among the server's JSON log
    lines that carry a traceback, with the first such exception in full."""
    seen: dict[tuple[str, str], str] = {}
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        for value in entry.values() if isinstance(entry, dict) else ():
            if isinstance(value, str) and value.startswith("Traceback"):
                last = [row for row in value.splitlines() if row and not row[0].isspace()][-1]
                message = str(entry.get("message", "")).split(" for request ")[0]
                message = re.sub(r"handling \w+", "handling <operation>", message)
                seen.setdefault((message, last.split(":")[0]), last[:300])
    return "\n".join(f"{message}: {last}" for (message, _), last in seen.items())


def test_still_healthy_after_fuzzing(target: Target) -> None:
    """Runs after test_wire_fuzz (module order): the service is still up and correct."""
    for path in ("/healthz", "/readyz"):
        connection = http.client.HTTPConnection(target.host, timeout=HUNG_SECONDS)
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200, (path, response.read())
        connection.close()
    kms = target.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    sealed = kms.encrypt(KeyId=key, Plaintext=b"still works", EncryptionContext={"a": "b"})
    opened = kms.decrypt(CiphertextBlob=sealed["CiphertextBlob"], EncryptionContext={"a": "b"})
    assert opened["Plaintext"] == b"still works" and opened["KeyId"].endswith(key)
