"""Fixtures for issue 13's checks: ``sdk``, each module under test in turn (see
modules.py), and a Sealbox KMS on 127.0.0.1 that the examples' own boto3 clients reach
through the environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.aws_sdk.modules import MODULES, load
from tests.server.harness import DEV_ACCOUNT, REGION, Credentials, InProcessServer, build_service


@pytest.fixture(params=list(MODULES))
def sdk(request: pytest.FixtureRequest) -> ModuleType:
    return load(request.param)


@pytest.fixture(scope="module")
def kms_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    running = InProcessServer(build_service(tmp_path_factory.mktemp("kms")))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def alice(kms_server: InProcessServer) -> Credentials:
    return kms_server.credentials(DEV_ACCOUNT, "alice")


@pytest.fixture(scope="module")
def key_arns(kms_server: InProcessServer, alice: Credentials) -> dict[str, str]:
    """Two keys of account 111122223333: "east" in us-east-1, "west" in us-west-2."""
    return {
        name: kms_server.client(alice, region).create_key()["KeyMetadata"]["Arn"]
        for name, region in (("east", REGION), ("west", "us-west-2"))
    }


@pytest.fixture
def kms_environment(
    kms_server: InProcessServer, alice: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point every boto3 client made from here on at the Sealbox KMS, as a user would:
    the examples build their own clients from the default session."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", kms_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", alice.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", alice.secret_access_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
