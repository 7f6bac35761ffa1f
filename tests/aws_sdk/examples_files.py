"""The developer guide's two streaming examples ("AWS Encryption SDK for Python example
code": the 2.x+ versions of aws/aws-encryption-sdk-python's
examples/src/legacy/basic_file_encryption_with_raw_key_provider.py and
basic_file_encryption_with_multiple_providers.py): RawMasterKeyProvider subclasses with
AES and RSA keys, alone and beside a KMS provider, streaming files with ``client.stream``.

Each example module is a function of the module under test that returns the example's
two names, its provider class and ``cycle_file``.

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

import filecmp
import os
from types import ModuleType, SimpleNamespace
from typing import Any

from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.aws_sdk.modules import submodule


def raw_aes_file(aws_encryption_sdk: ModuleType) -> SimpleNamespace:
    """Developer guide, "Encrypting and decrypting byte streams": a RawMasterKeyProvider
    subclass with random AES keys, ``client.stream`` over files, ``decrypt-unsigned``
    (examples/src/legacy/basic_file_encryption_with_raw_key_provider.py). Returns the
    example module's two names."""
    identifiers = submodule(aws_encryption_sdk, "identifiers")
    Algorithm, CommitmentPolicy = identifiers.Algorithm, identifiers.CommitmentPolicy
    EncryptionKeyType, WrappingAlgorithm = (
        identifiers.EncryptionKeyType,
        identifiers.WrappingAlgorithm,
    )
    WrappingKey = submodule(aws_encryption_sdk, "internal.crypto.wrapping_keys").WrappingKey
    RawMasterKeyProvider = submodule(aws_encryption_sdk, "key_providers.raw").RawMasterKeyProvider

    class StaticRandomMasterKeyProvider(RawMasterKeyProvider):  # type: ignore[misc,valid-type]
        """Randomly generates 256-bit keys for each unique key ID."""

        provider_id = "static-random"

        def __init__(self, **kwargs: Any) -> None:  # pylint: disable=unused-argument
            """Initialize empty map of keys."""
            self._static_keys: dict[bytes, bytes] = {}

        def _get_raw_key(self, key_id: bytes) -> Any:
            """Returns a static, randomly-generated symmetric key for the specified key ID.
            :param str key_id: Key ID
            :returns: Wrapping key that contains the specified static key
            :rtype: :class:`aws_encryption_sdk.internal.crypto.WrappingKey`
            """
            try:
                static_key = self._static_keys[key_id]
            except KeyError:
                static_key = os.urandom(32)
                self._static_keys[key_id] = static_key
            return WrappingKey(
                wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
                wrapping_key=static_key,
                wrapping_key_type=EncryptionKeyType.SYMMETRIC,
            )

    def cycle_file(source_plaintext_filename: str) -> tuple[str, str]:
        """Encrypts and then decrypts a file under a custom static master key provider.
        :param str source_plaintext_filename: Filename of file to encrypt
        """
        # Set up an encryption client with an explicit commitment policy. Note that if you do not explicitly choose a
        # commitment policy, REQUIRE_ENCRYPT_REQUIRE_DECRYPT is used by default.
        client = aws_encryption_sdk.EncryptionSDKClient(
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
        )

        # Create a static random master key provider
        key_id = os.urandom(8)
        master_key_provider = StaticRandomMasterKeyProvider()
        master_key_provider.add_master_key(key_id)

        ciphertext_filename = source_plaintext_filename + ".encrypted"
        cycled_plaintext_filename = source_plaintext_filename + ".decrypted"

        # Encrypt the plaintext source data
        # We can use an unsigning algorithm suite here under the assumption that the contexts that encrypt
        # and decrypt are equally trusted.
        with (
            open(source_plaintext_filename, "rb") as plaintext,
            open(ciphertext_filename, "wb") as ciphertext,
        ):
            with client.stream(
                algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
                mode="e",
                source=plaintext,
                key_provider=master_key_provider,
            ) as encryptor:
                for chunk in encryptor:
                    ciphertext.write(chunk)

        # Decrypt the ciphertext
        # We can use the recommended "decrypt-unsigned" streaming mode since we encrypted with an unsigned algorithm suite.
        with (
            open(ciphertext_filename, "rb") as ciphertext,
            open(cycled_plaintext_filename, "wb") as plaintext,
        ):
            with client.stream(
                mode="decrypt-unsigned", source=ciphertext, key_provider=master_key_provider
            ) as decryptor:
                for chunk in decryptor:
                    plaintext.write(chunk)

        # Verify that the "cycled" (encrypted, then decrypted) plaintext is identical to the source
        # plaintext
        assert filecmp.cmp(source_plaintext_filename, cycled_plaintext_filename)

        # Verify that the encryption context used in the decrypt operation includes all key pairs from
        # the encrypt operation
        #
        # In production, always use a meaningful encryption context. In this sample, we omit the
        # encryption context (no key pairs).
        assert all(
            pair in decryptor.header.encryption_context.items()
            for pair in encryptor.header.encryption_context.items()
        )
        return ciphertext_filename, cycled_plaintext_filename

    return SimpleNamespace(
        StaticRandomMasterKeyProvider=StaticRandomMasterKeyProvider, cycle_file=cycle_file
    )


def kms_and_raw_rsa_file(aws_encryption_sdk: ModuleType) -> SimpleNamespace:
    """Developer guide, "Encrypting and decrypting byte streams with multiple master key
    providers": a KMS provider plus a RawMasterKeyProvider subclass with RSA keys
    (examples/src/legacy/basic_file_encryption_with_multiple_providers.py)."""
    identifiers = submodule(aws_encryption_sdk, "identifiers")
    CommitmentPolicy = identifiers.CommitmentPolicy
    EncryptionKeyType, WrappingAlgorithm = (
        identifiers.EncryptionKeyType,
        identifiers.WrappingAlgorithm,
    )
    WrappingKey = submodule(aws_encryption_sdk, "internal.crypto.wrapping_keys").WrappingKey
    RawMasterKeyProvider = submodule(aws_encryption_sdk, "key_providers.raw").RawMasterKeyProvider

    class StaticRandomMasterKeyProvider(RawMasterKeyProvider):  # type: ignore[misc,valid-type]
        """Randomly generates and provides 4096-bit RSA keys consistently per unique key id."""

        provider_id = "static-random"

        def __init__(self, **kwargs: Any) -> None:  # pylint: disable=unused-argument
            """Initialize empty map of keys."""
            self._static_keys: dict[bytes, bytes] = {}

        def _get_raw_key(self, key_id: bytes) -> Any:
            """Retrieves a static, randomly generated, RSA key for the specified key id.

            :param str key_id: User-defined ID for the static key
            :returns: Wrapping key that contains the specified static key
            :rtype: :class:`aws_encryption_sdk.internal.crypto.WrappingKey`
            """
            try:
                static_key = self._static_keys[key_id]
            except KeyError:
                private_key = rsa.generate_private_key(
                    public_exponent=65537, key_size=4096, backend=default_backend()
                )
                static_key = private_key.private_bytes(
                    encoding=serialization.Encoding.PEM,
                    format=serialization.PrivateFormat.PKCS8,
                    encryption_algorithm=serialization.NoEncryption(),
                )
                self._static_keys[key_id] = static_key
            return WrappingKey(
                wrapping_algorithm=WrappingAlgorithm.RSA_OAEP_SHA1_MGF1,
                wrapping_key=static_key,
                wrapping_key_type=EncryptionKeyType.PRIVATE,
            )

    def cycle_file(
        key_arn: str, source_plaintext_filename: str, botocore_session: Any = None
    ) -> tuple[str, str, str]:
        """Encrypts and then decrypts a file using an AWS KMS master key provider and a custom static master
        key provider. Both master key providers are used to encrypt the plaintext file, so either one alone
        can decrypt it.

        :param str key_arn: Amazon Resource Name (ARN) of the AWS KMS customer master key (CMK)
        (http://docs.aws.amazon.com/kms/latest/developerguide/viewing-keys.html)
        :param str source_plaintext_filename: Filename of file to encrypt
        :param botocore_session: existing botocore session instance
        :type botocore_session: botocore.session.Session
        """
        # "Cycled" means encrypted and then decrypted
        ciphertext_filename = source_plaintext_filename + ".encrypted"
        cycled_kms_plaintext_filename = source_plaintext_filename + ".kms.decrypted"
        cycled_static_plaintext_filename = source_plaintext_filename + ".static.decrypted"

        # Set up an encryption client with an explicit commitment policy. Note that if you do not explicitly choose a
        # commitment policy, REQUIRE_ENCRYPT_REQUIRE_DECRYPT is used by default.
        client = aws_encryption_sdk.EncryptionSDKClient(
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
        )

        # Create an AWS KMS master key provider
        kms_kwargs = dict(key_ids=[key_arn])
        if botocore_session is not None:
            kms_kwargs["botocore_session"] = botocore_session
        kms_master_key_provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(**kms_kwargs)

        # Create a static master key provider and add a master key to it
        static_key_id = os.urandom(8)
        static_master_key_provider = StaticRandomMasterKeyProvider()
        static_master_key_provider.add_master_key(static_key_id)

        # Add the static master key provider to the AWS KMS master key provider
        #   The resulting master key provider uses AWS KMS master keys to generate (and encrypt)
        #   data keys and static master keys to create an additional encrypted copy of each data key.
        kms_master_key_provider.add_master_key_provider(static_master_key_provider)

        # Encrypt plaintext with both AWS KMS and static master keys
        with (
            open(source_plaintext_filename, "rb") as plaintext,
            open(ciphertext_filename, "wb") as ciphertext,
        ):
            with client.stream(
                source=plaintext, mode="e", key_provider=kms_master_key_provider
            ) as encryptor:
                for chunk in encryptor:
                    ciphertext.write(chunk)

        # Decrypt the ciphertext with only the AWS KMS master key
        # Buffer the data in memory before writing to disk. This ensures verfication of the digital signature before returning plaintext.
        with (
            open(ciphertext_filename, "rb") as ciphertext,
            open(cycled_kms_plaintext_filename, "wb") as plaintext,
        ):
            with client.stream(
                source=ciphertext,
                mode="d",
                key_provider=aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(**kms_kwargs),
            ) as kms_decryptor:
                plaintext.write(kms_decryptor.read())

        # Decrypt the ciphertext with only the static master key
        # Buffer the data in memory before writing to disk to ensure verfication of the signature before returning plaintext.
        with (
            open(ciphertext_filename, "rb") as ciphertext,
            open(cycled_static_plaintext_filename, "wb") as plaintext,
        ):
            with client.stream(
                source=ciphertext, mode="d", key_provider=static_master_key_provider
            ) as static_decryptor:
                plaintext.write(static_decryptor.read())

        # Verify that the "cycled" (encrypted, then decrypted) plaintext is identical to the source plaintext
        assert filecmp.cmp(source_plaintext_filename, cycled_kms_plaintext_filename)
        assert filecmp.cmp(source_plaintext_filename, cycled_static_plaintext_filename)

        # Verify that the encryption context in the decrypt operation includes all key pairs from the
        # encrypt operation.
        #
        # In production, always use a meaningful encryption context. In this sample, we omit the
        # encryption context (no key pairs).
        assert all(
            pair in kms_decryptor.header.encryption_context.items()
            for pair in encryptor.header.encryption_context.items()
        )
        assert all(
            pair in static_decryptor.header.encryption_context.items()
            for pair in encryptor.header.encryption_context.items()
        )
        return (
            ciphertext_filename,
            cycled_kms_plaintext_filename,
            cycled_static_plaintext_filename,
        )

    return SimpleNamespace(
        StaticRandomMasterKeyProvider=StaticRandomMasterKeyProvider, cycle_file=cycle_file
    )
