"""A root key inside a PKCS#11 token (SoftHSM2): created non-extractable in the token, every
wrap and unwrap done there, and a sealed service — never a software fallback — when the
token or its PIN is missing or wrong."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sealbox.server.bootstrap import open_service, prepare
from sealbox.server.config import ServerConfig
from sealbox.server.hsm import UNAVAILABLE
from tests.server.harness import InProcessServer, SubprocessServer, error_of, kms_client

MODULE = next(
    (
        p
        for p in (
            "/usr/lib/softhsm/libsofthsm2.so",
            "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        )
        if Path(p).exists()
    ),
    "/usr/lib/softhsm/libsofthsm2.so",
)
USER_PIN = "4817-2265"


@dataclass
class Token:
    label: str
    pin_file: Path
    uri: str

    def config(self, base: Path, **changes: Any) -> ServerConfig:
        values: dict[str, Any] = {
            "data_dir": base / "data",
            "root_key": self.uri,
            "pkcs11_module": MODULE,
            "pkcs11_pin_file": str(self.pin_file),
        }
        values.update(changes)
        return ServerConfig(**values)


TOKENS = 10  # enough for this module; SoftHSM sees only the tokens present when loaded


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SoftHSM2 configuration and a pool of fresh tokens for the session: the library
    reads both once per process (SOFTHSM2_CONF is SoftHSM's own setting, not a secret)."""
    if shutil.which("softhsm2-util") is None:
        raise RuntimeError("softhsm2 is not installed: apt-get install softhsm2")
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    labels = [f"sealbox-test-{n}" for n in range(TOKENS)]
    for label in labels:
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label,
             "--pin", USER_PIN, "--so-pin", "0000-0000"],
            check=True, capture_output=True,
        )  # fmt: skip
    return iter(labels)


@pytest.fixture
def token(tmp_path: Path, softhsm: Iterator[str]) -> Token:
    """A fresh token of its own for each test."""
    label = next(softhsm)
    pin_file = tmp_path / "pin"
    pin_file.write_text(USER_PIN + "\n")
    pin_file.chmod(0o600)
    return Token(label, pin_file, f"pkcs11:token={label};object=sealbox-root")


def test_a_store_sealed_by_a_token_key(tmp_path: Path, token: Token) -> None:
    config = token.config(tmp_path)
    prepare(config)
    assert not list(tmp_path.rglob("root.key"))  # no software key was made anywhere
    service = open_service(config)
    assert (
        service.root_key is not None
        and service.root_key.key_id == f"pkcs11:{token.label}/sealbox-root"
    )
    server = InProcessServer(service)
    try:
        kms = server.client()
        arn = kms.create_key()["KeyMetadata"]["Arn"]
        blob = kms.encrypt(KeyId=arn, Plaintext=b"sealed by the token")["CiphertextBlob"]
        credentials = server.credentials(user="bob")
    finally:
        server.stop()

    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass

    session = pkcs11.lib(MODULE).get_token(token_label=token.label).open(user_pin=USER_PIN)
    with session:
        key = session.get_key(
            label="sealbox-root", key_type=KeyType.AES, object_class=ObjectClass.SECRET_KEY
        )
        assert key[Attribute.EXTRACTABLE] is False and key[Attribute.SENSITIVE] is True
        assert key[Attribute.VALUE_LEN] == 32

    again = InProcessServer(open_service(config))  # a restart unwraps through the token again
    try:
        client = kms_client(again.endpoint, credentials)
        assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"sealed by the token"
    finally:
        again.stop()


@pytest.mark.parametrize(
    "breakage", ["wrong PIN", "missing PIN file", "missing token", "missing key", "wrong module"]
)
def test_a_broken_token_seals_the_service_with_one_generic_error(
    tmp_path: Path, token: Token, breakage: str
) -> None:
    config = token.config(tmp_path)
    prepare(config)
    server = InProcessServer(open_service(config))
    credentials = server.credentials()
    server.stop()

    if breakage == "wrong PIN":
        token.pin_file.write_text("0000\n")
    elif breakage == "missing PIN file":
        token.pin_file.unlink()
    elif breakage == "missing token":
        config = token.config(tmp_path, root_key="pkcs11:token=elsewhere;object=sealbox-root")
    elif breakage == "missing key":
        config = token.config(tmp_path, root_key=f"pkcs11:token={token.label};object=other")
    else:
        config = token.config(tmp_path, pkcs11_module=str(tmp_path / "nothing.so"))
    service = open_service(config)
    assert service.sealed_reason == UNAVAILABLE  # the same words whatever broke
    sealed = InProcessServer(service)
    try:
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(sealed.endpoint + "/readyz")
        assert caught.value.code == 503
        with urllib.request.urlopen(sealed.endpoint + "/healthz") as alive:
            assert alive.status == 200
        code, message = error_of(
            kms_client(sealed.endpoint, credentials).generate_random, NumberOfBytes=8
        )
        assert code == "KMSInternalException" and "sealed" in message
        for leak in ("PinIncorrect", "NoSuchToken", "NoSuchKey", "CKR_", "4817", "nothing.so"):
            assert leak not in message
    finally:
        sealed.stop()
    assert not list(tmp_path.rglob("root.key"))  # and no software key appeared


def test_sealbox_serve_with_a_token_from_the_configuration_file(
    tmp_path: Path, token: Token
) -> None:
    config_file = tmp_path / "sealbox.toml"
    config_file.write_text(
        f'root_key = "{token.uri}"\n[pkcs11]\nmodule = "{MODULE}"\npin_file = "{token.pin_file}"\n'
    )
    server = SubprocessServer(
        tmp_path / "data",
        tmp_path / "unused.key",
        extra=("--config", str(config_file), "--root-key", token.uri),
    )
    try:
        with urllib.request.urlopen(server.endpoint + "/readyz") as ready:
            assert ready.status == 200
    finally:
        server.stop()
    created = subprocess.run(
        [sys.executable, "-m", "sealbox", "admin", "--config", str(config_file), "--data-dir",
         str(tmp_path / "data"), "create-access-key", "--account", "111122223333", "--user", "u"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["Arn"] == "arn:aws:iam::111122223333:user/u"
    assert not (tmp_path / "unused.key").exists()
