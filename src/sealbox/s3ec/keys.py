"""Sealbox's keyrings, used the S3 encryption client's way.

The S3 format wraps data keys differently from the Encryption SDK's message format, so
the client takes the key a keyring holds and wraps with it as AWS's S3 clients do:

* :class:`~sealbox.keyrings.AwsKmsKeyring` → ``kms+context`` with its generator key
  (on read, with its first key); :class:`~sealbox.keyrings.AwsKmsDiscoveryKeyring`
  reads only, with whatever key the object names (its discovery filter applies);
* :class:`~sealbox.keyrings.RawAESKeyring` → ``AES/GCM``;
* :class:`~sealbox.keyrings.RawRSAKeyring` → ``RSA-OAEP-SHA1`` (whatever padding the
  keyring itself was given: the S3 format fixes OAEP with SHA-1);
* :class:`~sealbox.keyrings.MultiKeyring` → its keyrings in order, each tried on read;
  an object holds one wrapped key, so its generator alone writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sealbox.errors import UsageError
from sealbox.keyrings.aws_kms import AwsKmsDiscoveryKeyring, AwsKmsKeyring
from sealbox.keyrings.kms_clients import parse_key_arn
from sealbox.keyrings.multi import MultiKeyring
from sealbox.keyrings.raw_aes import RawAESKeyring, wrapping_key_of
from sealbox.keyrings.raw_rsa import RawRSAKeyring, key_pair_of
from sealbox.s3ec.wrapping import AesWrapper, KeyWrapper, KmsWrapper, RsaWrapper


def wrappers_for(keyring: Any, material_description: Mapping[str, str]) -> list[KeyWrapper]:
    """The wrapping keys of ``keyring``: the first one writes, any of them may read."""
    if isinstance(keyring, MultiKeyring):
        members = [keyring.generator, *keyring.children] if keyring.generator else keyring.children
        return [w for member in members for w in wrappers_for(member, material_description)]
    if isinstance(keyring, AwsKmsKeyring):
        keys = [keyring.generator_key_id] if keyring.generator_key_id else []
        return [
            KmsWrapper(
                key_id=key_id,
                clients=keyring.kms_client,
                grant_tokens=tuple(keyring.grant_tokens),
            )
            for key_id in (*keys, *keyring.key_ids)
        ]
    if isinstance(keyring, AwsKmsDiscoveryKeyring):
        found = keyring.discovery_filter

        def admits(key_arn: object) -> bool:
            arn = parse_key_arn(key_arn) if isinstance(key_arn, str) else None
            return arn is not None and (found is None or found.admits(arn))

        return [
            KmsWrapper(
                key_id=None,
                clients=keyring.kms_client,
                grant_tokens=tuple(keyring.grant_tokens),
                admits=admits,
            )
        ]
    if isinstance(keyring, RawAESKeyring):
        return [AesWrapper(wrapping_key_of(keyring), material_description)]
    if isinstance(keyring, RawRSAKeyring):
        public, private = key_pair_of(keyring)
        return [RsaWrapper(public, private, material_description)]
    raise UsageError(
        f"{keyring!r} is not a keyring the S3 encryption client can use: pass an "
        "AwsKmsKeyring, AwsKmsDiscoveryKeyring, RawAESKeyring, RawRSAKeyring or a "
        "MultiKeyring of them"
    )
