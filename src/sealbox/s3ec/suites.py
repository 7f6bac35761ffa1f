"""The content ciphers of the S3 encryption client format.

spec: s3-encryption/data-format/content-metadata.md, encryption.md, key-derivation.md.
An object's content is encrypted under one data key with one of these; the name is
what the object's metadata records (``x-amz-cek-alg``, or ``x-amz-c`` in the V3
format) and, for the V2 raw keyrings, what the wrapped key is bound to.
"""

from __future__ import annotations

from enum import Enum

from sealbox.format.suites import CommitmentPolicy

TAG_LENGTH = 16
DATA_KEY_LENGTH = 32
GCM_IV_LENGTH = 12
CBC_IV_LENGTH = 16
#: The committing suite's message id (``x-amz-i``) and key commitment (``x-amz-d``): 224 bits.
MESSAGE_ID_LENGTH = 28
COMMITMENT_LENGTH = 28
#: GCM's limit for one (IV, key): 2^32 - 2 blocks of 16 bytes.
GCM_MAX_CONTENT_LENGTH = (2**32 - 2) * 16


class ContentCipher(Enum):
    """How the object's bytes are encrypted. The value is the metadata's name for it."""

    #: Legacy (V1 and early V2 objects): unauthenticated CBC; read only when opted in.
    AES_CBC = "AES/CBC/PKCS5Padding"
    #: The V2 format: AES-256-GCM, the 16-byte tag appended to the body, no AAD.
    AES_GCM = "AES/GCM/NoPadding"
    #: The V3 format: the data key is committed (HKDF-SHA512 derives the content key
    #: and a commitment stored beside the object), then AES-256-GCM.
    AES_GCM_COMMIT = "115"

    @property
    def suite_id(self) -> int:
        return {"AES/CBC/PKCS5Padding": 0x0070, "AES/GCM/NoPadding": 0x0072, "115": 0x0073}[
            self.value
        ]

    @property
    def is_legacy(self) -> bool:
        return self is ContentCipher.AES_CBC

    @property
    def is_committing(self) -> bool:
        return self is ContentCipher.AES_GCM_COMMIT

    @property
    def iv_length(self) -> int:
        return CBC_IV_LENGTH if self is ContentCipher.AES_CBC else GCM_IV_LENGTH


def cipher_for_writing(policy: CommitmentPolicy) -> ContentCipher:
    """The content cipher a client with ``policy`` writes."""
    if policy is CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT:
        return ContentCipher.AES_GCM
    return ContentCipher.AES_GCM_COMMIT


def policy_allows_reading(policy: CommitmentPolicy, cipher: ContentCipher) -> bool:
    return cipher.is_committing or policy is not CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
