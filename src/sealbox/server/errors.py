"""The KMS service's errors: one class per AWS ``__type``, with its HTTP status.

Every error a request can meet is one of these and is answered as
``{"__type": ..., "message": ...}``; anything else is a bug, answered as a
``KMSInternalException`` with :data:`UNEXPECTED` as its message. The tree (every
class is also a :class:`sealbox.errors.SealboxError`)::

    SealboxError
    ├── KmsError                          answered to a client; never raised itself
    │   ├── KMSInternalException          500: a fault inside the service, or sealed
    │   │   └── AuditFailure              500: the audit record could not be made durable
    │   ├── DependencyTimeoutException    503
    │   ├── DryRunOperationException      400: the success answer to DryRun=true
    │   └── ClientError                   400: the caller can fix it
    │       ├── AccessDeniedException, NotFoundException, ValidationException, …
    │       │   (the KMS model's errors, one class each, below)
    │       └── IncompleteSignatureException, InvalidSignatureException, …
    │           (AWS's common authentication and protocol errors)
    ├── RootKeyError, UnwrapError         the root of trust (rootkey/core.py): the
    │                                     service stays sealed, with the reason logged
    ├── StartupError                      bootstrap.py: the service cannot start here
    ├── BackupError                       backup.py: a backup that cannot be read or restored
    └── UsageError                        a wrong flag or file given to ``sealbox``
"""

from __future__ import annotations

from typing import ClassVar

from sealbox.errors import ErrorCode, SealboxError

UNEXPECTED = "An internal error occurred. Try again; if it persists, see the service log."


class KmsError(SealboxError):
    """An error answered to a KMS client. Abstract: raise one of its subclasses, which
    name the AWS ``__type`` and HTTP status."""

    aws_type: ClassVar[str]
    status: ClassVar[int]
    default_code = ErrorCode.KMS_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message, code=ErrorCode.KMS_ERROR)

    def with_hint(self, hint: str) -> KmsError:
        return type(self)(f"{self.message} {hint}")


class KMSInternalException(KmsError):
    """A fault inside the service (HTTP 500)."""

    aws_type = "KMSInternalException"
    status = 500


class DependencyTimeoutException(KmsError):
    aws_type = "DependencyTimeoutException"
    status = 503


class DryRunOperationException(KmsError):
    """The success answer to a request with DryRun=true."""

    aws_type = "DryRunOperationException"
    status = 400  # as AWS answers it (the model gives no status)


class ClientError(KmsError):
    """A client error (HTTP 400). Authentication and protocol errors are AWS common
    errors outside the KMS model; the rest are modelled KMS errors."""

    status = 400


class AccessDeniedException(ClientError):
    aws_type = "AccessDeniedException"


class AlreadyExistsException(ClientError):
    aws_type = "AlreadyExistsException"


class DisabledException(ClientError):
    aws_type = "DisabledException"


class ExpiredImportTokenException(ClientError):
    aws_type = "ExpiredImportTokenException"


class IncompleteSignatureException(ClientError):
    aws_type = "IncompleteSignatureException"


class IncorrectKeyException(ClientError):
    aws_type = "IncorrectKeyException"


class IncorrectKeyMaterialException(ClientError):
    aws_type = "IncorrectKeyMaterialException"


class InvalidAliasNameException(ClientError):
    aws_type = "InvalidAliasNameException"


class InvalidArnException(ClientError):
    aws_type = "InvalidArnException"


class InvalidCiphertextException(ClientError):
    aws_type = "InvalidCiphertextException"


class InvalidGrantIdException(ClientError):
    aws_type = "InvalidGrantIdException"


class InvalidGrantTokenException(ClientError):
    aws_type = "InvalidGrantTokenException"


class InvalidImportTokenException(ClientError):
    aws_type = "InvalidImportTokenException"


class InvalidKeyUsageException(ClientError):
    aws_type = "InvalidKeyUsageException"


class InvalidMarkerException(ClientError):
    aws_type = "InvalidMarkerException"


class InvalidSignatureException(ClientError):
    aws_type = "InvalidSignatureException"


class KMSInvalidMacException(ClientError):
    aws_type = "KMSInvalidMacException"


class KMSInvalidSignatureException(ClientError):
    aws_type = "KMSInvalidSignatureException"


class KMSInvalidStateException(ClientError):
    aws_type = "KMSInvalidStateException"


class LimitExceededException(ClientError):
    aws_type = "LimitExceededException"


class MalformedPolicyDocumentException(ClientError):
    aws_type = "MalformedPolicyDocumentException"


class MissingAuthenticationTokenException(ClientError):
    aws_type = "MissingAuthenticationTokenException"


class NotAuthorizedException(ClientError):
    """Not in the KMS model, yet AWS's answer (HTTP 400, no message) to an alias name
    under the reserved ``alias/aws/`` prefix in CreateAlias, UpdateAlias, DeleteAlias."""

    aws_type = "NotAuthorizedException"


class NotFoundException(ClientError):
    aws_type = "NotFoundException"


class SerializationException(ClientError):
    aws_type = "SerializationException"


class TagException(ClientError):
    aws_type = "TagException"


class ThrottlingException(ClientError):
    aws_type = "ThrottlingException"


class UnknownOperationException(ClientError):
    aws_type = "UnknownOperationException"


class UnrecognizedClientException(ClientError):
    aws_type = "UnrecognizedClientException"


class UnsupportedOperationException(ClientError):
    aws_type = "UnsupportedOperationException"


class ValidationException(ClientError):
    aws_type = "ValidationException"
