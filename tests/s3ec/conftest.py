"""Issue 14's world: moto's S3 server and a Sealbox KMS, both on 127.0.0.1, and keyrings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sealbox.keyrings import AwsKmsKeyring, PaddingScheme, RawAESKeyring, RawRSAKeyring
from tests.moto_s3 import moto_s3_server, s3_client
from tests.server.harness import DEV_ACCOUNT, REGION, Credentials, InProcessServer, build_service

BUCKET = "s3ec-objects"


@dataclass(frozen=True)
class World:
    s3_endpoint: str
    kms: InProcessServer
    alice: Credentials
    key_arn: str
    other_key_arn: str
    aes_key: bytes
    rsa_private: rsa.RSAPrivateKey

    def s3(self) -> Any:
        return s3_client(self.s3_endpoint, BUCKET)

    def kms_client(self, region: str | None = None) -> Any:
        return self.kms.client(self.alice, region or REGION)

    def kms_keyring(self, key_id: str | None = None) -> AwsKmsKeyring:
        return AwsKmsKeyring(
            generator_key_id=key_id or self.key_arn, client_supplier=self.kms_client
        )

    def aes_keyring(self, key: bytes | None = None) -> RawAESKeyring:
        return RawAESKeyring(key_namespace="s3ec", key_name="aes", wrapping_key=key or self.aes_key)

    def rsa_keyring(self, private: rsa.RSAPrivateKey | None = None) -> RawRSAKeyring:
        key = private or self.rsa_private
        return RawRSAKeyring(
            key_namespace="s3ec",
            key_name="rsa",
            padding_scheme=PaddingScheme.OAEP_SHA1_MGF1,
            public_key=key.public_key(),
            private_key=key,
        )

    def rsa_private_pem(self) -> str:
        return self.rsa_private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def ruby_request(self, **fields: Any) -> dict[str, Any]:
        """The connection fields of a request to tests/interop/ruby_s3ec.rb."""
        return {
            "s3_endpoint": self.s3_endpoint,
            "kms_endpoint": self.kms.endpoint,
            "region": REGION,
            "access_key_id": self.alice.access_key_id,
            "secret_access_key": self.alice.secret_access_key,
            "bucket": BUCKET,
            **fields,
        }


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    kms = InProcessServer(build_service(tmp_path_factory.mktemp("s3ec-kms")))
    try:
        with moto_s3_server() as endpoint:
            s3_client(endpoint, BUCKET)
            alice = kms.credentials(DEV_ACCOUNT, "alice")
            client = kms.client(alice, REGION)
            arns = [client.create_key()["KeyMetadata"]["Arn"] for _ in range(2)]
            yield World(
                s3_endpoint=endpoint,
                kms=kms,
                alice=alice,
                key_arn=arns[0],
                other_key_arn=arns[1],
                aes_key=os.urandom(32),
                rsa_private=rsa.generate_private_key(public_exponent=65537, key_size=2048),
            )
    finally:
        kms.stop()


@pytest.fixture
def s3(world: World) -> Any:
    return world.s3()


@pytest.fixture
def object_key(request: pytest.FixtureRequest) -> str:
    """An object key of this test's own."""
    return f"{request.node.name}/{os.urandom(4).hex()}"
