"""The README's examples (aws/aws-encryption-sdk-python, README.rst): EncryptionSDKClient,
StrictAwsKmsMasterKeyProvider over keys in several regions, DiscoveryAwsKmsMasterKeyProvider
with a DiscoveryFilter, encrypt/decrypt with and without an encryption context, and
streaming a file with ``client.stream``. The README's key ARNs and account ids are
parameters.

Every function is one documented example, copied as written apart from its imports:
the module (``aws_encryption_sdk`` or ``sealbox.aws_encryption_sdk``) is the first
parameter, named ``aws_encryption_sdk`` so the body reads as in the original, and each
``from aws_encryption_sdk.X import Y`` becomes ``Y = submodule(aws_encryption_sdk,
"X").Y``. Type hints are added for mypy, ruff formats the code, and an example that
returns nothing returns its message (marked ``# added``) so that the tests can open it
with the other module.
"""

# The examples' imported names keep their CamelCase (N806) and their comments their length (E501).
# ruff: noqa: N806

from __future__ import annotations

import filecmp
from types import ModuleType
from typing import Any

from tests.aws_sdk.modules import submodule


def readme_encrypt_decrypt(aws_encryption_sdk: ModuleType, key_ids: list[str]) -> Any:
    """README.rst, "Encryption and Decryption" (the README's key ARNs are ``key_ids``)."""
    CommitmentPolicy = submodule(aws_encryption_sdk, "identifiers").CommitmentPolicy

    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )

    kms_key_provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=key_ids)
    my_plaintext = b"This is some super secret data!  Yup, sure is!"

    my_ciphertext, encryptor_header = client.encrypt(
        source=my_plaintext, key_provider=kms_key_provider
    )

    decrypted_plaintext, decryptor_header = client.decrypt(
        source=my_ciphertext, key_provider=kms_key_provider
    )

    assert my_plaintext == decrypted_plaintext
    assert encryptor_header.encryption_context == decryptor_header.encryption_context
    return my_ciphertext  # added


def readme_encryption_context(aws_encryption_sdk: ModuleType, key_ids: list[str]) -> Any:
    """README.rst, "You can provide an encryption context"."""
    CommitmentPolicy = submodule(aws_encryption_sdk, "identifiers").CommitmentPolicy

    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )

    kms_key_provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=key_ids)
    my_plaintext = b"This is some super secret data!  Yup, sure is!"

    my_ciphertext, encryptor_header = client.encrypt(
        source=my_plaintext,
        key_provider=kms_key_provider,
        encryption_context={"not really": "a secret", "but adds": "some authentication"},
    )

    decrypted_plaintext, decryptor_header = client.decrypt(
        source=my_ciphertext, key_provider=kms_key_provider
    )

    assert my_plaintext == decrypted_plaintext
    assert encryptor_header.encryption_context == decryptor_header.encryption_context
    return my_ciphertext  # added


def readme_discovery_provider(aws_encryption_sdk: ModuleType, account_ids: list[str]) -> Any:
    """README.rst, "DiscoveryAwsKmsMasterKeyProvider" (the README's accounts are ``account_ids``)."""
    DiscoveryFilter = submodule(aws_encryption_sdk, "key_providers.kms").DiscoveryFilter

    discovery_filter = DiscoveryFilter(account_ids=account_ids, partition="aws")
    kms_key_provider = aws_encryption_sdk.DiscoveryAwsKmsMasterKeyProvider(
        discovery_filter=discovery_filter
    )
    return kms_key_provider  # added


def readme_streaming(aws_encryption_sdk: ModuleType, key_ids: list[str]) -> None:
    """README.rst, "Streaming" (run in a directory holding ``my-secret-data.dat``)."""
    CommitmentPolicy = submodule(aws_encryption_sdk, "identifiers").CommitmentPolicy

    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )

    kms_key_provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=key_ids)
    plaintext_filename = "my-secret-data.dat"
    ciphertext_filename = "my-encrypted-data.ct"

    with open(plaintext_filename, "rb") as pt_file, open(ciphertext_filename, "wb") as ct_file:
        with client.stream(mode="e", source=pt_file, key_provider=kms_key_provider) as encryptor:
            for chunk in encryptor:
                ct_file.write(chunk)

    new_plaintext_filename = "my-decrypted-data.dat"

    with open(ciphertext_filename, "rb") as ct_file, open(new_plaintext_filename, "wb") as pt_file:
        with client.stream(mode="d", source=ct_file, key_provider=kms_key_provider) as decryptor:
            for chunk in decryptor:
                pt_file.write(chunk)

    assert filecmp.cmp(plaintext_filename, new_plaintext_filename)
    assert encryptor.header.encryption_context == decryptor.header.encryption_context
