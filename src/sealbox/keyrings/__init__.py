"""Keyrings: where data keys are generated, wrapped and unwrapped."""

from sealbox.keyrings.aws_kms import AwsKmsDiscoveryKeyring, AwsKmsKeyring, DiscoveryFilter
from sealbox.keyrings.aws_kms_rsa import AwsKmsRsaKeyring
from sealbox.keyrings.base import Keyring
from sealbox.keyrings.multi import MultiKeyring
from sealbox.keyrings.raw_aes import RawAESKeyring
from sealbox.keyrings.raw_rsa import PaddingScheme, RawRSAKeyring

__all__ = [
    "AwsKmsDiscoveryKeyring",
    "AwsKmsKeyring",
    "AwsKmsRsaKeyring",
    "DiscoveryFilter",
    "Keyring",
    "MultiKeyring",
    "PaddingScheme",
    "RawAESKeyring",
    "RawRSAKeyring",
]
