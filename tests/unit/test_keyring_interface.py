"""The keyring interface's first decrypt rule holds for every Sealbox keyring: materials
that already hold a data key come back unchanged, and the keyring is not asked."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from sealbox.format.header import EncryptedDataKey
from sealbox.format.suites import Algorithm
from sealbox.keyrings.aws_kms import AwsKmsDiscoveryKeyring, AwsKmsKeyring
from sealbox.keyrings.aws_kms_rsa import AwsKmsRsaKeyring
from sealbox.keyrings.base import Keyring
from sealbox.keyrings.multi import MultiKeyring
from sealbox.keyrings.raw_aes import RawAESKeyring
from sealbox.keyrings.raw_rsa import PaddingScheme, RawRSAKeyring
from sealbox.materials import DecryptionMaterials

KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _keyrings() -> list[Keyring]:
    aes = RawAESKeyring(key_namespace="ns", key_name="aes", wrapping_key=bytes(32))
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return [
        aes,
        RawRSAKeyring(
            key_namespace="ns",
            key_name="rsa",
            padding_scheme=PaddingScheme.OAEP_SHA256_MGF1,
            private_key=rsa_key,
        ),
        AwsKmsKeyring(generator_key_id=KEY_ARN),
        AwsKmsDiscoveryKeyring(),
        AwsKmsRsaKeyring(key_id=KEY_ARN, encryption_algorithm="RSAES_OAEP_SHA_256"),
        MultiKeyring(generator=aes),
    ]


@pytest.mark.parametrize("keyring", _keyrings(), ids=lambda keyring: type(keyring).__name__)
def test_materials_with_a_data_key_come_back_unchanged(keyring: Keyring) -> None:
    algorithm = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
    materials = DecryptionMaterials(
        algorithm, {"purpose": "test"}, plaintext_data_key=os.urandom(algorithm.key_length)
    )
    # an EDK the keyring would try (and fail on) if it were asked
    edk = EncryptedDataKey("aws-kms", KEY_ARN.encode(), b"\x00" * 64)
    assert keyring.on_decrypt(materials, [edk]) is materials
    assert keyring.on_decrypt(materials=materials, encrypted_data_keys=[edk]) is materials
