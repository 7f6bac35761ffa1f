"""docs/s3.md's migration example, run as written: objects stored the "blog pattern" way
(GenerateDataKey, AES-GCM by hand, the wrapped key in metadata) move to the S3
encryption client format and read back through it."""

from __future__ import annotations

import os
from base64 import b64decode, b64encode

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealbox.s3ec import S3EncryptionClient
from tests.s3ec.conftest import BUCKET, World


def test_the_documented_migration(world: World, object_key: str) -> None:
    s3, kms, key_arn, bucket = world.s3(), world.kms_client(), world.key_arn, BUCKET
    data = os.urandom(10_000)

    # before: the blog pattern
    data_key = kms.generate_data_key(KeyId=key_arn, KeySpec="AES_256")
    nonce = os.urandom(12)
    s3.put_object(
        Bucket=bucket,
        Key=object_key,
        Body=AESGCM(data_key["Plaintext"]).encrypt(nonce, data, None),
        Metadata={
            "wrapped-key": b64encode(data_key["CiphertextBlob"]).decode(),
            "nonce": b64encode(nonce).decode(),
        },
    )

    # after: docs/s3.md's client and migrate()
    s3ec = S3EncryptionClient(s3_client=s3, keyring=world.kms_keyring(key_arn))

    def migrate(bucket: str, key: str) -> None:
        old = s3.get_object(Bucket=bucket, Key=key)
        wrapped = b64decode(old["Metadata"]["wrapped-key"])
        nonce = b64decode(old["Metadata"]["nonce"])
        plaintext = AESGCM(kms.decrypt(CiphertextBlob=wrapped)["Plaintext"]).decrypt(
            nonce, old["Body"].read(), None
        )
        s3ec.put_object(Bucket=bucket, Key=key, Body=plaintext, EncryptionContext={"object": key})

    migrate(bucket, object_key)
    metadata = s3.head_object(Bucket=bucket, Key=object_key)["Metadata"]
    assert "wrapped-key" not in metadata and metadata["x-amz-c"] == "115"
    got = s3ec.get_object(Bucket=bucket, Key=object_key, EncryptionContext={"object": object_key})
    with got["Body"] as body:
        assert body.read() == data
