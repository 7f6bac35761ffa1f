"""The documented flow with the real aws CLI, openssl and the official aws-encryption-sdk,
against `sealbox serve --dev` started the way a user starts it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sealbox.testing import DevServer, serve
from tests.helpers import quiet_reference

AWS = str(Path(sys.executable).with_name("aws"))


@pytest.fixture(scope="module")
def dev_server() -> Iterator[DevServer]:
    with serve() as server:
        yield server


def aws(server: DevServer, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        **server.environment,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    return subprocess.run(
        [AWS, "kms", *args, "--output", "json"],
        env=environment,
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def aws_json(server: DevServer, *args: str) -> Any:
    return json.loads(aws(server, *args).stdout)


def test_the_whole_flow(dev_server: DevServer, tmp_path: Path) -> None:
    key = aws_json(dev_server, "create-key", "--description", "cli flow")["KeyMetadata"]
    aws(
        dev_server,
        "create-alias",
        "--alias-name",
        "alias/cli-flow",
        "--target-key-id",
        key["KeyId"],
    )
    data_key = aws_json(
        dev_server,
        "generate-data-key",
        "--key-id",
        "alias/cli-flow",
        "--key-spec",
        "AES_256",
        "--encryption-context",
        "project=sealbox,stage=test",
    )
    assert data_key["KeyId"] == key["Arn"]
    plaintext_key = base64.b64decode(data_key["Plaintext"])
    (tmp_path / "key.blob").write_bytes(base64.b64decode(data_key["CiphertextBlob"]))

    # encrypt a file with the data key, as the AWS documentation's openssl examples do
    secret = os.urandom(100_000)
    (tmp_path / "data").write_bytes(secret)
    hex_key = plaintext_key.hex()
    subprocess.run(
        [
            "openssl",
            "enc",
            "-aes-256-cbc",
            "-K",
            hex_key,
            "-iv",
            "00" * 16,
            "-in",
            "data",
            "-out",
            "data.enc",
        ],
        cwd=tmp_path,
        check=True,
    )
    del plaintext_key, hex_key

    # the wrapped key does not open without the encryption context...
    refused = aws(
        dev_server, "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'key.blob'}", check=False
    )
    assert refused.returncode != 0 and "InvalidCiphertextException" in refused.stderr
    # ...and does with it; then the file decrypts
    opened = aws_json(
        dev_server,
        "decrypt",
        "--ciphertext-blob",
        f"fileb://{tmp_path / 'key.blob'}",
        "--encryption-context",
        "stage=test,project=sealbox",
    )
    recovered = base64.b64decode(opened["Plaintext"]).hex()
    subprocess.run(
        [
            "openssl",
            "enc",
            "-d",
            "-aes-256-cbc",
            "-K",
            recovered,
            "-iv",
            "00" * 16,
            "-in",
            "data.enc",
            "-out",
            "data.out",
        ],
        cwd=tmp_path,
        check=True,
    )
    assert (tmp_path / "data.out").read_bytes() == secret

    # direct encryption up to 4096 bytes
    (tmp_path / "small").write_bytes(os.urandom(4096))
    sealed = aws_json(
        dev_server,
        "encrypt",
        "--key-id",
        key["Arn"],
        "--plaintext",
        f"fileb://{tmp_path / 'small'}",
    )
    (tmp_path / "small.blob").write_bytes(base64.b64decode(sealed["CiphertextBlob"]))
    back = aws_json(
        dev_server, "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'small.blob'}"
    )
    assert base64.b64decode(back["Plaintext"]) == (tmp_path / "small").read_bytes()
    (tmp_path / "big").write_bytes(os.urandom(4097))
    too_big = aws(
        dev_server,
        "encrypt",
        "--key-id",
        key["Arn"],
        "--plaintext",
        f"fileb://{tmp_path / 'big'}",
        check=False,
    )
    assert too_big.returncode != 0 and "4096" in too_big.stderr

    # disable / enable, schedule / cancel deletion
    aws(dev_server, "disable-key", "--key-id", key["KeyId"])
    disabled = aws(
        dev_server,
        "decrypt",
        "--ciphertext-blob",
        f"fileb://{tmp_path / 'small.blob'}",
        check=False,
    )
    assert "DisabledException" in disabled.stderr
    aws(dev_server, "enable-key", "--key-id", key["KeyId"])
    scheduled = aws_json(
        dev_server,
        "schedule-key-deletion",
        "--key-id",
        key["KeyId"],
        "--pending-window-in-days",
        "7",
    )
    assert scheduled["KeyState"] == "PendingDeletion"
    aws(dev_server, "cancel-key-deletion", "--key-id", key["KeyId"])
    state = aws_json(dev_server, "describe-key", "--key-id", "alias/cli-flow")["KeyMetadata"][
        "KeyState"
    ]
    assert state == "Disabled"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


OAEP_SHA256 = [
    "-pkeyopt",
    "rsa_padding_mode:oaep",
    "-pkeyopt",
    "rsa_oaep_md:sha256",
    "-pkeyopt",
    "rsa_mgf1_md:sha256",
]


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256"])
def test_importing_key_material_as_the_aws_documentation_shows(
    dev_server: DevServer, tmp_path: Path, algorithm: str
) -> None:
    key = aws_json(dev_server, "create-key", "--origin", "EXTERNAL")["KeyMetadata"]
    assert key["KeyState"] == "PendingImport"
    parameters = aws_json(
        dev_server,
        "get-parameters-for-import",
        "--key-id",
        key["KeyId"],
        "--wrapping-algorithm",
        algorithm,
        "--wrapping-key-spec",
        "RSA_3072",
    )
    (tmp_path / "PublicKey.bin").write_bytes(base64.b64decode(parameters["PublicKey"]))
    (tmp_path / "ImportToken.bin").write_bytes(base64.b64decode(parameters["ImportToken"]))
    openssl("rand", "-out", "PlaintextKeyMaterial.bin", "32", cwd=tmp_path)
    public_key = ["-inkey", "PublicKey.bin", "-keyform", "DER", "-pubin"]
    if algorithm == "RSAES_OAEP_SHA_256":
        openssl(
            "pkeyutl",
            "-encrypt",
            "-in",
            "PlaintextKeyMaterial.bin",
            "-out",
            "EncryptedKeyMaterial.bin",
            *public_key,
            *OAEP_SHA256,
            cwd=tmp_path,
        )
    else:  # an ephemeral AES key wraps the material (RFC 5649); RSA-OAEP wraps the AES key
        openssl("rand", "-out", "aes-key.bin", "32", cwd=tmp_path)
        aes_hex = (tmp_path / "aes-key.bin").read_bytes().hex()
        openssl(
            "enc",
            "-id-aes256-wrap-pad",
            "-K",
            aes_hex,
            "-iv",
            "A65959A6",
            "-in",
            "PlaintextKeyMaterial.bin",
            "-out",
            "material-wrapped.bin",
            cwd=tmp_path,
        )
        openssl(
            "pkeyutl",
            "-encrypt",
            "-in",
            "aes-key.bin",
            "-out",
            "aes-key-wrapped.bin",
            *public_key,
            *OAEP_SHA256,
            cwd=tmp_path,
        )
        (tmp_path / "EncryptedKeyMaterial.bin").write_bytes(
            (tmp_path / "aes-key-wrapped.bin").read_bytes()
            + (tmp_path / "material-wrapped.bin").read_bytes()
        )
    imported = aws_json(
        dev_server,
        "import-key-material",
        "--key-id",
        key["KeyId"],
        "--encrypted-key-material",
        f"fileb://{tmp_path / 'EncryptedKeyMaterial.bin'}",
        "--import-token",
        f"fileb://{tmp_path / 'ImportToken.bin'}",
        "--expiration-model",
        "KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    assert len(imported["KeyMaterialId"]) == 64
    assert (
        aws_json(dev_server, "describe-key", "--key-id", key["KeyId"])["KeyMetadata"]["KeyState"]
        == "Enabled"
    )
    (tmp_path / "note").write_bytes(b"encrypted under our own key material")
    sealed = aws_json(
        dev_server,
        "encrypt",
        "--key-id",
        key["KeyId"],
        "--plaintext",
        f"fileb://{tmp_path / 'note'}",
    )
    (tmp_path / "note.blob").write_bytes(base64.b64decode(sealed["CiphertextBlob"]))
    opened = aws_json(
        dev_server, "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'note.blob'}"
    )
    assert base64.b64decode(opened["Plaintext"]) == b"encrypted under our own key material"
    assert opened["KeyMaterialId"] == imported["KeyMaterialId"]


def test_the_official_encryption_sdk_round_trips(dev_server: DevServer) -> None:
    """Only AWS_ENDPOINT_URL_KMS (and credentials) point the reference SDK at Sealbox."""
    script = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "import aws_encryption_sdk, sys\n"
        f"provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[{dev_server.key_arn!r}])\n"
        "client = aws_encryption_sdk.EncryptionSDKClient()\n"
        "message, _ = client.encrypt(source=b'through the reference SDK', key_provider=provider,\n"
        "                            encryption_context={'purpose': 'interop'})\n"
        "plaintext, header = client.decrypt(source=message, key_provider=provider)\n"
        "assert plaintext == b'through the reference SDK', plaintext\n"
        "print(header.encryption_context['purpose'], len(message))\n"
    )
    environment = {
        **os.environ,
        **dev_server.environment,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("interop ")
    quiet_reference()  # the package is importable here too (the test dependency is present)
