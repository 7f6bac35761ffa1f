"""A root key inside a PKCS#11 token (SoftHSM2): created non-extractable in the token, every
wrap and unwrap done there, and a sealed service — never a software fallback — when the
token or its PIN is missing or wrong."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sealbox.server.bootstrap import open_service, prepare
from sealbox.server.rootkey.hsm import UNAVAILABLE
from tests.server.harness import InProcessServer, SubprocessServer, error_of, kms_client
from tests.softhsm import MODULE, USER_PIN, Token


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
        caught.value.close()  # it holds the connection: unclosed, a later test would warn
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
