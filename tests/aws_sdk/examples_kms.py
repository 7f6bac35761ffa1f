"""The KMS examples of aws/aws-encryption-sdk-python's examples/src/legacy/
(one_kms_cmk.py, discovery_kms_provider.py, multiple_kms_cmk.py) and of the developer
guide's "AWS Encryption SDK for Python example code" page, which shows the 2.x+ versions
of examples/src/legacy/basic_encryption.py (``cycle_string``) and
data_key_caching_basic.py (``encrypt_with_caching``).

Every function is one documented example, copied as written apart from its imports:
the module (``aws_encryption_sdk`` or ``sealbox.aws_encryption_sdk``) is the first
parameter, named ``aws_encryption_sdk`` so the body reads as in the original, and each
``from aws_encryption_sdk.X import Y`` becomes ``Y = submodule(aws_encryption_sdk,
"X").Y``. Type hints are added for mypy, ruff formats the code, and an example that
returns nothing returns its message (marked ``# added``) so that the tests can open it
with the other module.
"""

# The examples' imported names keep their CamelCase (N806) and their comments their length (E501).
# ruff: noqa: N806, E501

from __future__ import annotations

from types import ModuleType
from typing import Any

from tests.aws_sdk.modules import submodule


def one_kms_cmk(
    aws_encryption_sdk: ModuleType,
    key_arn: str,
    source_plaintext: bytes,
    botocore_session: Any = None,
) -> Any:
    """examples/src/legacy/one_kms_cmk.py, ``encrypt_decrypt``."""
    CommitmentPolicy = aws_encryption_sdk.CommitmentPolicy

    kwargs = dict(key_ids=[key_arn])

    if botocore_session is not None:
        kwargs["botocore_session"] = botocore_session

    # Set up an encryption client with an explicit commitment policy. Note that if you do not explicitly choose a
    # commitment policy, REQUIRE_ENCRYPT_REQUIRE_DECRYPT is used by default.
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )

    # Create master key provider using the ARN of the key and the session (botocore_session)
    kms_key_provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(**kwargs)

    # Encrypt the plaintext using the AWS Encryption SDK. It returns the encrypted message and the header. Note: in
    # order for decrypt to succeed, the key_ids value must be the key ARN of the CMK.
    ciphertext, encrypted_message_header = client.encrypt(
        source=source_plaintext, key_provider=kms_key_provider
    )

    # Decrypt the encrypted message using the AWS Encryption SDK. It returns the decrypted message and the header
    plaintext, decrypted_message_header = client.decrypt(
        source=ciphertext, key_provider=kms_key_provider
    )

    # Check if the original message and the decrypted message are the same
    assert source_plaintext == plaintext

    # Check if the headers of the encrypted message and decrypted message match
    assert all(
        pair in encrypted_message_header.encryption_context.items()
        for pair in decrypted_message_header.encryption_context.items()
    )
    return ciphertext  # added


def discovery_kms_provider(
    aws_encryption_sdk: ModuleType,
    key_arn: str,
    source_plaintext: bytes,
    botocore_session: Any = None,
) -> Any:
    """examples/src/legacy/discovery_kms_provider.py, ``encrypt_decrypt``."""
    CommitmentPolicy = aws_encryption_sdk.CommitmentPolicy
    arn_from_str = submodule(aws_encryption_sdk, "internal.arn").arn_from_str
    DiscoveryFilter = submodule(aws_encryption_sdk, "key_providers.kms").DiscoveryFilter

    encrypt_kwargs = dict(key_ids=[key_arn])

    if botocore_session is not None:
        encrypt_kwargs["botocore_session"] = botocore_session

    # Set up an encryption client with an explicit commitment policy. Note that if you do not explicitly choose a
    # commitment policy, REQUIRE_ENCRYPT_REQUIRE_DECRYPT is used by default.
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )

    # Create strict master key provider that is only allowed to encrypt and decrypt using the ARN of the provided key.
    strict_key_provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(**encrypt_kwargs)

    # Encrypt the plaintext using the AWS Encryption SDK. It returns the encrypted message and the header
    ciphertext, encrypted_message_header = client.encrypt(
        source=source_plaintext, key_provider=strict_key_provider
    )

    # Create a second master key provider in discovery mode that does not explicitly list the key used to encrypt.
    # Note: The discovery_filter argument is optional; if you omit this, the AWS Encryption SDK attempts to
    # decrypt any ciphertext it receives.
    arn = arn_from_str(key_arn)
    decrypt_kwargs = dict(
        discovery_filter=DiscoveryFilter(account_ids=[arn.account_id], partition=arn.partition)
    )
    if botocore_session is not None:
        encrypt_kwargs["botocore_session"] = botocore_session
    discovery_key_provider = aws_encryption_sdk.DiscoveryAwsKmsMasterKeyProvider(**decrypt_kwargs)

    # Decrypt the encrypted message using the AWS Encryption SDK. It returns the decrypted message and the header.
    plaintext, decrypted_message_header = client.decrypt(
        source=ciphertext, key_provider=discovery_key_provider
    )

    # Verify that the original message and the decrypted message are the same
    assert source_plaintext == plaintext

    # Verify that the encryption context of the encrypted message and decrypted message match
    assert all(
        pair in encrypted_message_header.encryption_context.items()
        for pair in decrypted_message_header.encryption_context.items()
    )
    return ciphertext  # added


def multiple_kms_cmk(
    aws_encryption_sdk: ModuleType,
    key_arns: list[str],
    source_plaintext: bytes,
    botocore_session: Any = None,
) -> Any:
    """examples/src/legacy/multiple_kms_cmk.py, ``encrypt_decrypt``."""
    CommitmentPolicy = aws_encryption_sdk.CommitmentPolicy

    encrypt_kwargs = dict(key_ids=key_arns)

    if botocore_session is not None:
        encrypt_kwargs["botocore_session"] = botocore_session

    # Set up an encryption client with an explicit commitment policy. Note that if you do not explicitly choose a
    # commitment policy, REQUIRE_ENCRYPT_REQUIRE_DECRYPT is used by default.
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )

    # Create strict master key provider that is only allowed to encrypt and decrypt using the ARN of the provided key.
    strict_encrypt_key_provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(**encrypt_kwargs)

    # Encrypt the plaintext using the AWS Encryption SDK. It returns the encrypted message and the header
    ciphertext, encrypted_message_header = client.encrypt(
        source=source_plaintext, key_provider=strict_encrypt_key_provider
    )

    # For each original master key, create a strict key provider that only lists that key and decrypt the encrypted
    # message using that provider. Note: in order for decrypt to succeed, the key_ids value must be the key ARN of the
    # CMK.
    for key_arn in key_arns:
        decrypt_kwargs = dict(key_ids=[key_arn])
        if botocore_session is not None:
            encrypt_kwargs["botocore_session"] = botocore_session

        strict_decrypt_key_provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
            **decrypt_kwargs
        )
        plaintext, decrypted_message_header = client.decrypt(
            source=ciphertext, key_provider=strict_decrypt_key_provider
        )

        # Verify that the original message and the decrypted message are the same
        assert source_plaintext == plaintext

        # Verify that the encryption context of the encrypted message and decrypted message match
        assert all(
            pair in encrypted_message_header.encryption_context.items()
            for pair in decrypted_message_header.encryption_context.items()
        )
    return ciphertext  # added


def cycle_string(
    aws_encryption_sdk: ModuleType,
    key_arn: str,
    source_plaintext: bytes,
    botocore_session: Any = None,
) -> Any:
    """Developer guide, "Encrypting and decrypting strings" (examples/src/legacy/basic_encryption.py)."""
    CommitmentPolicy = aws_encryption_sdk.CommitmentPolicy

    # Set up an encryption client with an explicit commitment policy. If you do not explicitly choose a
    # commitment policy, REQUIRE_ENCRYPT_REQUIRE_DECRYPT is used by default.
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )

    # Create an AWS KMS master key provider
    kms_kwargs = dict(key_ids=[key_arn])
    if botocore_session is not None:
        kms_kwargs["botocore_session"] = botocore_session
    master_key_provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(**kms_kwargs)

    # Encrypt the plaintext source data
    ciphertext, encryptor_header = client.encrypt(
        source=source_plaintext, key_provider=master_key_provider
    )

    # Decrypt the ciphertext
    cycled_plaintext, decrypted_header = client.decrypt(
        source=ciphertext, key_provider=master_key_provider
    )

    # Verify that the "cycled" (encrypted, then decrypted) plaintext is identical to the source plaintext
    assert cycled_plaintext == source_plaintext

    # Verify that the encryption context used in the decrypt operation includes all key pairs from
    # the encrypt operation. (The SDK can add pairs, so don't require an exact match.)
    #
    # In production, always use a meaningful encryption context. In this sample, we omit the
    # encryption context (no key pairs).
    assert all(
        pair in decrypted_header.encryption_context.items()
        for pair in encryptor_header.encryption_context.items()
    )
    return ciphertext  # added


def encrypt_with_caching(
    aws_encryption_sdk: ModuleType, kms_cmk_arn: str, max_age_in_cache: float, cache_capacity: int
) -> Any:
    """Developer guide, "Using data key caching to encrypt messages"
    (examples/src/legacy/data_key_caching_basic.py)."""
    CommitmentPolicy = aws_encryption_sdk.CommitmentPolicy

    # Data to be encrypted
    my_data = "My plaintext data"

    # Security thresholds
    #   Max messages (or max bytes per) data key are optional
    MAX_ENTRY_MESSAGES = 100

    # Create an encryption context
    encryption_context = {"purpose": "test"}

    # Set up an encryption client with an explicit commitment policy. Note that if you do not explicitly choose a
    # commitment policy, REQUIRE_ENCRYPT_REQUIRE_DECRYPT is used by default.
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )

    # Create a master key provider for the KMS customer master key (CMK)
    key_provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[kms_cmk_arn])

    # Create a local cache
    cache = aws_encryption_sdk.LocalCryptoMaterialsCache(cache_capacity)

    # Create a caching CMM
    caching_cmm = aws_encryption_sdk.CachingCryptoMaterialsManager(
        master_key_provider=key_provider,
        cache=cache,
        max_age=max_age_in_cache,
        max_messages_encrypted=MAX_ENTRY_MESSAGES,
    )

    # When the call to encrypt data specifies a caching CMM,
    # the encryption operation uses the data key cache specified
    # in the caching CMM
    encrypted_message, _header = client.encrypt(
        source=my_data, materials_manager=caching_cmm, encryption_context=encryption_context
    )

    return encrypted_message
