"""`sealbox serve` as an operator runs it: TLS, configuration sources, regions, logs, shutdown."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import signal
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sealbox.errors import UsageError
from sealbox.server.config import ServerConfig, load_config
from tests.server.harness import Credentials, SubprocessServer, admin, kms_client


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def user(data_dir: Path, root_key: Path) -> Credentials:
    created = admin(
        "create-access-key",
        "--account",
        "111122223333",
        "--user",
        "ops",
        "--admin",
        data_dir=data_dir,
        root_key=root_key,
    )
    return Credentials(created["AccessKeyId"], created["SecretAccessKey"], created["Arn"])


def test_https_with_a_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    data_dir, root_key = tmp_path / "data", tmp_path / "root.key"
    credentials = user(data_dir, root_key)
    server = SubprocessServer(
        data_dir, root_key, extra=("--tls-cert", str(cert), "--tls-key", str(key)), cafile=cert
    )
    try:
        assert server.endpoint.startswith("https://")
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "kms",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            verify=str(cert),
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            config=Config(retries={"total_max_attempts": 1}),
        )
        key_id = client.create_key()["KeyMetadata"]["KeyId"]
        assert (
            client.decrypt(
                CiphertextBlob=client.encrypt(KeyId=key_id, Plaintext=b"tls")["CiphertextBlob"]
            )["Plaintext"]
            == b"tls"
        )
    finally:
        server.stop()


def test_configuration_precedence(tmp_path: Path) -> None:
    config_file = tmp_path / "sealbox.toml"
    config_file.write_text(
        'port = 9001\nworkers = 3\nregions = ["eu-west-1"]\n[tls]\ncert = "c.pem"\nkey = "k.pem"\n'
    )
    loaded = load_config(
        {"port": 9100}, environ={"SEALBOX_WORKERS": "2", "SEALBOX_CONFIG": str(config_file)}
    )
    assert (loaded.port, loaded.workers, loaded.regions) == (
        9100,
        2,
        ("eu-west-1",),
    )  # flag > env > file
    assert (loaded.tls_cert, loaded.tls_key) == ("c.pem", "k.pem")
    assert load_config({}, environ={}).port == ServerConfig().port
    config_file.write_text("colour = 'blue'\n")
    with pytest.raises(UsageError, match="unknown settings"):
        load_config({}, environ={}, file=config_file)
    with pytest.raises(UsageError, match="both --tls-cert and --tls-key"):
        load_config({"tls_cert": "x"}, environ={})
    with pytest.raises(UsageError):
        load_config({}, environ={"SEALBOX_PORT": "eighty"})


def test_restricted_regions_logs_and_clean_shutdown(tmp_path: Path) -> None:
    data_dir, root_key = tmp_path / "data", tmp_path / "root.key"
    credentials = user(data_dir, root_key)
    server = SubprocessServer(data_dir, root_key, extra=("--regions", "eu-west-1,eu-central-1"))
    try:
        allowed = kms_client(server.endpoint, credentials, "eu-west-1")
        key = allowed.create_key()["KeyMetadata"]["KeyId"]
        data_key = allowed.generate_data_key(KeyId=key, KeySpec="AES_256")
        with pytest.raises(ClientError) as caught:
            kms_client(server.endpoint, credentials, "us-east-1").list_keys()
        assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
        os.kill(server.process.pid, signal.SIGTERM)  # what a service manager sends
        assert server.process.wait(timeout=30) == 0
    finally:
        server.stop()
    lines = [
        json.loads(line)
        for line in server.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    requests = [line for line in lines if line.get("message") == "request"]
    assert {r["operation"] for r in requests} >= {"CreateKey", "GenerateDataKey", "ListKeys"}
    assert all(
        {"ts", "level", "request_id", "operation", "principal", "status", "duration_s"} <= r.keys()
        for r in requests
    )
    assert any(r["error_code"] == "InvalidSignatureException" for r in requests)
    text = server.log_path.read_text()
    for secret in (credentials.secret_access_key, data_key["Plaintext"].hex()):
        assert secret not in text
    import base64

    assert base64.b64encode(data_key["Plaintext"]).decode() not in text
