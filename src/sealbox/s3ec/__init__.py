"""An S3 encryption client: objects in the format of AWS's Amazon S3 Encryption Clients.

:class:`S3EncryptionClient` wraps a boto3 S3 client and Sealbox's keyrings. See
docs/s3.md for the format, the choice between it and Encryption SDK messages, and
interoperability with the Java, Go, .NET, C++, PHP and Ruby clients.
"""

from __future__ import annotations

from sealbox.format.suites import CommitmentPolicy
from sealbox.s3ec.client import S3EncryptionClient
from sealbox.s3ec.envelope import INSTRUCTION_SUFFIX, Envelope, FormatVersion, Wrapping
from sealbox.s3ec.suites import ContentCipher

__all__ = [
    "INSTRUCTION_SUFFIX",
    "CommitmentPolicy",
    "ContentCipher",
    "Envelope",
    "FormatVersion",
    "S3EncryptionClient",
    "Wrapping",
]
