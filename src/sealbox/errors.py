"""Sealbox's one exception tree.

Every error Sealbox raises on purpose is a :class:`SealboxError` with a stable
``code`` (a member of :class:`ErrorCode`, which is also a ``str``). Programs
branch on ``code``; people read ``str(error)``, which says what was wrong and,
where there is one, the fix.

Library branch::

    SealboxError
    ├── UsageError (also ValueError)      a bad argument, flag or configuration
    ├── KeyringError                      a keyring could not wrap or unwrap a data key
    └── MessageError                      a message could not be decrypted
        ├── MalformedMessageError         the bytes are not a well-formed message
        ├── AuthenticationError           a tag, commitment or signature did not verify
        ├── LimitExceededError            a configured limit was hit before doing the work
        ├── PolicyError                   the message is well formed but refused by policy
        └── NoDecryptableKeyError         no keyring could decrypt any encrypted data key

Decryption failures caused by keys, tags and signatures carry distinct codes
but are otherwise indistinguishable: their messages never include key bytes,
padding details or partial plaintext.

The KMS service adds its own branch (``sealbox.server.errors``): ``KmsError``
and one subclass per AWS error, each carrying the AWS ``__type`` and HTTP status.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable error codes. Never renamed; new ones may be added."""

    # usage
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    INVALID_SOURCE = "INVALID_SOURCE"
    RESERVED_ENCRYPTION_CONTEXT_KEY = "RESERVED_ENCRYPTION_CONTEXT_KEY"
    ENCRYPTION_CONTEXT_TOO_LARGE = "ENCRYPTION_CONTEXT_TOO_LARGE"
    INVALID_FRAME_LENGTH = "INVALID_FRAME_LENGTH"
    INVALID_KEY = "INVALID_KEY"
    STREAM_STATE = "STREAM_STATE"
    # keyrings (encrypt side and configuration)
    KEYRING_FAILURE = "KEYRING_FAILURE"
    NO_ENCRYPTION_KEY = "NO_ENCRYPTION_KEY"
    # malformed messages
    TRUNCATED = "TRUNCATED"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    BASE64_INPUT = "BASE64_INPUT"
    UNKNOWN_SUITE = "UNKNOWN_SUITE"
    EDK_COUNT_ZERO = "EDK_COUNT_ZERO"
    HEADER_INVALID = "HEADER_INVALID"
    FRAME_SEQUENCE = "FRAME_SEQUENCE"
    FINAL_FRAME_TOO_LONG = "FINAL_FRAME_TOO_LONG"
    SIGNATURE_MISSING = "SIGNATURE_MISSING"
    TRAILING_DATA = "TRAILING_DATA"
    # authentication
    HEADER_AUTH_FAILED = "HEADER_AUTH_FAILED"
    COMMITMENT_MISMATCH = "COMMITMENT_MISMATCH"
    FRAME_AUTH_FAILED = "FRAME_AUTH_FAILED"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    # limits
    EDK_LIMIT_EXCEEDED = "EDK_LIMIT_EXCEEDED"
    HEADER_TOO_LARGE = "HEADER_TOO_LARGE"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    # policy
    POLICY_FORBIDS_SUITE = "POLICY_FORBIDS_SUITE"
    SIGNED_MESSAGE_FORBIDDEN = "SIGNED_MESSAGE_FORBIDDEN"
    ENCRYPTION_CONTEXT_MISMATCH = "ENCRYPTION_CONTEXT_MISMATCH"
    # keys
    NO_DECRYPTABLE_KEY = "NO_DECRYPTABLE_KEY"
    # the KMS service (the AWS error type is on the exception)
    KMS_ERROR = "KMS_ERROR"
    # S3 encryption client objects
    OBJECT_METADATA_INVALID = "OBJECT_METADATA_INVALID"
    CONTENT_AUTH_FAILED = "CONTENT_AUTH_FAILED"
    LEGACY_FORMAT_FORBIDDEN = "LEGACY_FORMAT_FORBIDDEN"
    UNAUTHENTICATED_RANGE_FORBIDDEN = "UNAUTHENTICATED_RANGE_FORBIDDEN"


class SealboxError(Exception):
    """Base of every error Sealbox raises on purpose."""

    default_code: ErrorCode = ErrorCode.INVALID_ARGUMENT

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.code: ErrorCode = code if code is not None else self.default_code

    @property
    def message(self) -> str:
        return str(self.args[0])

    def with_hint(self, hint: str) -> SealboxError:
        """A copy of this error whose message ends with ``hint``."""
        return type(self)(f"{self.message} {hint}", code=self.code)


class UsageError(SealboxError, ValueError):
    """A bad argument, flag or configuration value."""

    default_code = ErrorCode.INVALID_ARGUMENT


class KeyringError(SealboxError):
    """A keyring could not produce or wrap a data key."""

    default_code = ErrorCode.KEYRING_FAILURE


class MessageError(SealboxError):
    """A message could not be decrypted. ``code`` says why."""

    default_code = ErrorCode.HEADER_INVALID


class MalformedMessageError(MessageError):
    """The input is not a well-formed message."""


class AuthenticationError(MessageError):
    """A header tag, key commitment, frame tag or signature did not verify."""


class LimitExceededError(MessageError):
    """A configured limit was exceeded; detected before the expensive work."""


class PolicyError(MessageError):
    """The message is well formed but this client's configuration refuses it."""


class NoDecryptableKeyError(MessageError):
    """No keyring could decrypt any of the message's encrypted data keys.

    ``causes`` holds one entry per keyring (or per attempt) that was tried.
    """

    default_code = ErrorCode.NO_DECRYPTABLE_KEY

    def __init__(
        self,
        message: str,
        *,
        causes: Sequence[str | SealboxError] = (),
        code: ErrorCode | None = None,
    ) -> None:
        self.summary = message
        self.causes: tuple[str | SealboxError, ...] = tuple(causes)
        if self.causes:
            message = message + "\n" + "\n".join(f"  - {cause}" for cause in self.causes)
        super().__init__(message, code=code)

    def with_hint(self, hint: str) -> NoDecryptableKeyError:
        return NoDecryptableKeyError(f"{self.summary} {hint}", causes=self.causes, code=self.code)


def truncated(what: str) -> MalformedMessageError:
    """The error for input that ends before ``what`` is complete."""
    return MalformedMessageError(
        f"message is truncated: the input ends inside {what}", code=ErrorCode.TRUNCATED
    )
