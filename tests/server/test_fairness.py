"""Expensive work off the event loop, fairly: RSA key generation for GetParametersForImport
runs in the work pool before its handler, one account holds at most its share of the pool,
and every other request keeps being served meanwhile.

The generation is replaced by one that waits for the test's signal, so "served meanwhile"
is an observed order of events, not a timing."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sealbox.server import workpool
from sealbox.server.operations import imports
from tests.server.harness import OTHER_ACCOUNT, InProcessServer, error_of

WAIT = 60.0
THIRD_ACCOUNT = "777788889999"


@dataclass
class SlowGeneration:
    """Stands in for RSA generation: RSA_4096 waits for ``release`` (``running`` and
    ``most_at_once`` count those waits); other sizes return at once."""

    real: Callable[[int], imports.WrappingKeyPair]
    release: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    running: int = 0
    most_at_once: int = 0
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, bits: int) -> imports.WrappingKeyPair:
        with self.lock:
            self.calls += 1
        if bits == 4096:
            with self.lock:
                self.running += 1
                self.most_at_once = max(self.most_at_once, self.running)
            try:
                self.started.set()
                assert self.release.wait(WAIT), "the test never released the generation"
            finally:
                with self.lock:
                    self.running -= 1
        return dataclasses.replace(self.real(2048), bits=bits)  # small, and fast to make


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowGeneration]:
    fake = SlowGeneration(imports.new_wrapping_key_pair)
    monkeypatch.setattr(imports, "new_wrapping_key_pair", fake)
    try:
        yield fake
    finally:
        fake.release.set()


def external_key(kms: Any) -> str:
    return str(kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["Arn"])


def in_background(call: Any, **kwargs: Any) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call(**kwargs))
        except Exception as error:  # reported by the test's assertions
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def import_params(kms: Any, key: str, spec: str = "RSA_4096") -> dict[str, Any]:
    return {"KeyId": key, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": spec}


def test_other_requests_are_served_while_a_key_pair_is_generated(
    server: InProcessServer, slow: SlowGeneration
) -> None:
    owner = server.client()
    other = server.client(server.credentials(OTHER_ACCOUNT, "bob"))
    key = external_key(owner)
    thread, outcome = in_background(owner.get_parameters_for_import, **import_params(owner, key))
    assert slow.started.wait(WAIT)
    served = 0
    for _ in range(20):  # the generation is still running: the event loop is not in it
        other.list_keys()
        owner.describe_key(KeyId=key)  # the same account's other requests, too
        served += 1
    assert served == 20 and thread.is_alive() and not slow.release.is_set()
    slow.release.set()
    thread.join(WAIT)
    assert outcome and isinstance(outcome[0], dict), outcome
    assert outcome[0]["KeyId"] == key and outcome[0]["PublicKey"]


def test_one_account_holds_at_most_its_share_of_the_pool(
    server: InProcessServer, slow: SlowGeneration
) -> None:
    owner = server.client()
    key = external_key(owner)
    pool = server.app.dispatcher.pool
    account = owner.describe_key(KeyId=key)["KeyMetadata"]["AWSAccountId"]
    looping = [
        in_background(server.client().get_parameters_for_import, **import_params(owner, key))
        for _ in range(3)
    ]
    assert slow.started.wait(WAIT)
    for _ in range(int(WAIT * 20)):
        if pool.in_flight(account) == 3:
            break
        threading.Event().wait(0.05)
    assert pool.in_flight(account) == 3  # one generating, two waiting for the account's share
    # another account's generation gets the pool's other thread meanwhile
    third = server.client(server.credentials(THIRD_ACCOUNT, "carol"))
    params = third.get_parameters_for_import(
        **import_params(third, external_key(third), "RSA_2048")
    )
    assert params["PublicKey"] and not slow.release.is_set()
    slow.release.set()
    for thread, outcome in looping:
        thread.join(WAIT)
        assert outcome and isinstance(outcome[0], dict), outcome
    assert slow.most_at_once == 1  # the looping account never held two threads at once
    assert slow.calls == 4  # three for it, one for the other account, none repeated


def test_an_account_over_its_queue_is_throttled(
    server: InProcessServer, slow: SlowGeneration, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workpool, "QUEUE_PER_ACCOUNT", 2)
    owner = server.client()
    key = external_key(owner)
    waiting = [
        in_background(server.client().get_parameters_for_import, **import_params(owner, key))
        for _ in range(2)
    ]
    pool = server.app.dispatcher.pool
    account = owner.describe_key(KeyId=key)["KeyMetadata"]["AWSAccountId"]
    for _ in range(int(WAIT * 20)):
        if pool.in_flight(account) == 2:
            break
        threading.Event().wait(0.05)
    assert error_of(owner.get_parameters_for_import, **import_params(owner, key)) == (
        "ThrottlingException",
        "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.",
    )
    slow.release.set()
    for thread, outcome in waiting:
        thread.join(WAIT)
        assert outcome and isinstance(outcome[0], dict), outcome


def test_a_refused_caller_costs_no_key_generation(
    server: InProcessServer, slow: SlowGeneration
) -> None:
    owner = server.client()
    key = external_key(owner)
    stranger = server.client(server.credentials(OTHER_ACCOUNT, "mallory"))
    code, _ = error_of(stranger.get_parameters_for_import, **import_params(stranger, key))
    assert code == "AccessDeniedException"
    symmetric = owner.create_key()["KeyMetadata"]["Arn"]
    code, _ = error_of(owner.get_parameters_for_import, **import_params(owner, symmetric))
    assert code == "UnsupportedOperationException"
    assert slow.calls == 0
