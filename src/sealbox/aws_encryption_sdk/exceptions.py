"""The legacy API's exceptions: the reference's names and tree, each also a SealboxError.

So ``except aws_encryption_sdk.exceptions.DecryptKeyError`` and
``except sealbox.errors.SealboxError`` both catch what this package raises. Like the
reference's, every class takes any positional arguments (``Exception`` style); the
Sealbox ``code`` is keyword-only. Errors Sealbox's pipeline raises are translated into
these classes at the API boundary (:mod:`sealbox.aws_encryption_sdk._bridge.errors`),
keeping their message and code and chaining the original.

Tree::

    AWSEncryptionSDKClientError (also sealbox.errors.SealboxError)
    ├── SerializationError
    │   └── CustomMaximumValueExceeded
    │       └── MaxEncryptedDataKeysExceeded
    ├── UnknownIdentityError, NotSupportedError, InvalidAlgorithmError, InvalidKeyIdError,
    │   InvalidDataKeyError, InvalidProviderIdError, ConfigMismatchError,
    │   UnknownRegionError, MalformedArnError
    ├── MasterKeyProviderError, MasterKeyError, IncorrectMasterKeyError
    ├── GenerateKeyError, EncryptKeyError, DecryptKeyError
    ├── ActionNotAllowedError
    └── CacheError
        └── CacheKeyError

    InvalidTag, InvalidSignature (sealbox.errors.AuthenticationError and pyca's classes)
"""

from __future__ import annotations

from typing import TypeVar

from cryptography import exceptions as _pyca

from sealbox.errors import AuthenticationError, ErrorCode, SealboxError

_E = TypeVar("_E", bound="AWSEncryptionSDKClientError")


class AWSEncryptionSDKClientError(SealboxError):
    """Base of the legacy tree."""

    default_code = ErrorCode.INVALID_ARGUMENT

    def __init__(self, *args: object, code: ErrorCode | None = None) -> None:
        Exception.__init__(self, *args)
        self.code = code if code is not None else self.default_code

    @property
    def message(self) -> str:
        return str(self)

    def with_hint(self, hint: str) -> AWSEncryptionSDKClientError:
        return build(type(self), f"{self.message} {hint}", code=self.code)


def build(cls: type[_E], message: str, *, code: ErrorCode | None = None) -> _E:
    """An instance of ``cls`` with ``message``, whatever its constructor's signature."""
    error = cls.__new__(cls)
    AWSEncryptionSDKClientError.__init__(error, message, code=code)
    return error


class SerializationError(AWSEncryptionSDKClientError):
    """A message (or part of one) could not be read or written."""

    default_code = ErrorCode.HEADER_INVALID


class CustomMaximumValueExceeded(SerializationError):
    """A value exceeds a limit the caller configured."""

    default_code = ErrorCode.BODY_TOO_LARGE


class MaxEncryptedDataKeysExceeded(CustomMaximumValueExceeded):
    """More encrypted data keys than ``max_encrypted_data_keys``."""

    default_code = ErrorCode.EDK_LIMIT_EXCEEDED

    def __init__(self, num_keys: int, max_keys: int, *, code: ErrorCode | None = None) -> None:
        super().__init__(
            "Number of encrypted data keys found larger than configured value: "
            f"{num_keys:d} > {max_keys:d}",
            code=code,
        )


class UnknownIdentityError(AWSEncryptionSDKClientError):
    """An unknown identifier."""


class NotSupportedError(AWSEncryptionSDKClientError):
    """An unsupported identifier or operation."""


class MasterKeyProviderError(AWSEncryptionSDKClientError):
    """A master key provider failed."""

    default_code = ErrorCode.KEYRING_FAILURE


class MasterKeyError(AWSEncryptionSDKClientError):
    """A master key failed."""

    default_code = ErrorCode.KEYRING_FAILURE


class InvalidAlgorithmError(AWSEncryptionSDKClientError):
    """An invalid algorithm definition."""


class InvalidKeyIdError(AWSEncryptionSDKClientError):
    """A key id this provider cannot use."""


class InvalidDataKeyError(AWSEncryptionSDKClientError):
    """A data key of the wrong shape or length."""

    default_code = ErrorCode.KEYRING_FAILURE


class InvalidProviderIdError(AWSEncryptionSDKClientError):
    """An invalid provider id."""


class IncorrectMasterKeyError(AWSEncryptionSDKClientError):
    """An operation asked of the wrong master key."""

    default_code = ErrorCode.NO_DECRYPTABLE_KEY


class GenerateKeyError(AWSEncryptionSDKClientError):
    """A master key could not generate a data key."""

    default_code = ErrorCode.KEYRING_FAILURE


class EncryptKeyError(AWSEncryptionSDKClientError):
    """A master key could not encrypt a data key."""

    default_code = ErrorCode.KEYRING_FAILURE


class DecryptKeyError(AWSEncryptionSDKClientError):
    """No master key could decrypt a data key."""

    default_code = ErrorCode.NO_DECRYPTABLE_KEY


class ActionNotAllowedError(AWSEncryptionSDKClientError):
    """The configuration (commitment or signature policy) forbids the action."""

    default_code = ErrorCode.POLICY_FORBIDS_SUITE


class ConfigMismatchError(AWSEncryptionSDKClientError):
    """A config of the wrong type, or one that contradicts its object."""


class UnknownRegionError(AWSEncryptionSDKClientError):
    """A region that cannot be determined."""


class MalformedArnError(AWSEncryptionSDKClientError):
    """A string that is not a well-formed ARN."""


class CacheError(AWSEncryptionSDKClientError):
    """A materials cache failed."""


class CacheKeyError(CacheError):
    """No entry for this cache key (the cache's KeyError)."""


# The reference lets pyca's InvalidTag and InvalidSignature escape from decryption (a
# wrong raw AES key, an altered frame, a bad signature). Ours are those classes too, so
# ``except cryptography.exceptions.InvalidTag`` keeps working, and also Sealbox errors.


class InvalidTag(AuthenticationError, _pyca.InvalidTag):
    """An AES-GCM tag did not verify: a wrong wrapping key, or an altered message."""

    default_code = ErrorCode.FRAME_AUTH_FAILED


class InvalidSignature(AuthenticationError, _pyca.InvalidSignature):
    """The message signature did not verify: the message was altered."""

    default_code = ErrorCode.SIGNATURE_INVALID
