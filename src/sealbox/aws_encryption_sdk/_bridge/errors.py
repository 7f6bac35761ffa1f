"""Sealbox's errors as the reference's exception classes, at the legacy API's boundary.

Client calls and stream reads run inside :func:`translated`. A Sealbox error becomes
the class the reference raises for the same bad input, with the same message and code,
chained to the original (``__cause__``). An error a user's master key or manager raised
in the legacy tree (carried through Sealbox by a keyring error: :func:`carried`) comes
out as itself. Usage errors without a reference counterpart stay Sealbox's
``UsageError`` (a ``ValueError``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sealbox.aws_encryption_sdk import exceptions as legacy
from sealbox.errors import ErrorCode, MessageError, NoDecryptableKeyError, SealboxError

_AS: dict[ErrorCode, type[SealboxError]] = {
    # policy
    ErrorCode.POLICY_FORBIDS_SUITE: legacy.ActionNotAllowedError,
    ErrorCode.SIGNED_MESSAGE_FORBIDDEN: legacy.ActionNotAllowedError,
    # bad arguments the reference finds while serializing
    ErrorCode.INVALID_FRAME_LENGTH: legacy.SerializationError,
    ErrorCode.ENCRYPTION_CONTEXT_TOO_LARGE: legacy.SerializationError,
    # malformed messages
    ErrorCode.UNSUPPORTED_VERSION: legacy.NotSupportedError,
    ErrorCode.UNKNOWN_SUITE: legacy.UnknownIdentityError,
    ErrorCode.TRUNCATED: legacy.SerializationError,
    ErrorCode.BASE64_INPUT: legacy.SerializationError,
    ErrorCode.EDK_COUNT_ZERO: legacy.SerializationError,
    ErrorCode.HEADER_INVALID: legacy.SerializationError,
    ErrorCode.FRAME_SEQUENCE: legacy.SerializationError,
    ErrorCode.FINAL_FRAME_TOO_LONG: legacy.SerializationError,
    ErrorCode.SIGNATURE_MISSING: legacy.SerializationError,
    ErrorCode.TRAILING_DATA: legacy.SerializationError,
    # authentication
    ErrorCode.HEADER_AUTH_FAILED: legacy.SerializationError,
    ErrorCode.COMMITMENT_MISMATCH: legacy.MasterKeyProviderError,
    ErrorCode.FRAME_AUTH_FAILED: legacy.InvalidTag,
    ErrorCode.SIGNATURE_INVALID: legacy.InvalidSignature,
    # limits
    ErrorCode.EDK_LIMIT_EXCEEDED: legacy.MaxEncryptedDataKeysExceeded,
    ErrorCode.HEADER_TOO_LARGE: legacy.CustomMaximumValueExceeded,
    ErrorCode.BODY_TOO_LARGE: legacy.CustomMaximumValueExceeded,
    # keys
    ErrorCode.NO_DECRYPTABLE_KEY: legacy.DecryptKeyError,
    ErrorCode.NO_ENCRYPTION_KEY: legacy.MasterKeyProviderError,
    ErrorCode.KEYRING_FAILURE: legacy.MasterKeyProviderError,
}

#: errors already in the reference's shape
_LEGACY = (legacy.AWSEncryptionSDKClientError, legacy.InvalidTag, legacy.InvalidSignature)


def carried(error: SealboxError) -> SealboxError | None:
    """The legacy error a user's code raised that ``error`` carries through Sealbox, if any:
    its ``__cause__``, or the one cause of a keyring's NoDecryptableKeyError (which keeps
    it even where Sealbox re-raises the keyring's error ``from None``)."""
    if isinstance(error.__cause__, _LEGACY):
        return error.__cause__
    if isinstance(error, NoDecryptableKeyError) and len(error.causes) == 1:
        (cause,) = error.causes
        if isinstance(cause, _LEGACY):
            return cause
    return None


def translate(error: SealboxError) -> SealboxError:
    """The error the legacy API raises for ``error`` (``error`` itself if it needs none)."""
    if isinstance(error, _LEGACY):
        return error
    original = carried(error)
    if original is not None:
        return original
    target = _AS.get(error.code)
    if target is None:
        if not isinstance(error, MessageError):
            return error
        target = legacy.SerializationError
    if issubclass(target, legacy.AWSEncryptionSDKClientError):
        return legacy.build(target, error.message, code=error.code)
    return target(error.message, code=error.code)


@contextmanager
def translated() -> Iterator[None]:
    """Run a block, raising Sealbox errors as the legacy API's."""
    try:
        yield
    except SealboxError as error:
        replacement = translate(error)
        if replacement is error:
            raise
        if replacement is carried(error):  # the user's own error: out as it was raised
            error.__cause__ = None
            error.__suppress_context__ = True
            raise replacement  # noqa: B904 (its context becomes the Sealbox error)
        raise replacement from error
