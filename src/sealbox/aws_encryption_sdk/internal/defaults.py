"""The legacy API's defaults and limits, with the reference's names."""

from __future__ import annotations

import io

from sealbox.aws_encryption_sdk.identifiers import (
    Algorithm,
    ObjectType,
    SerializationVersion,
)

#: bytes a stream's readline() (and so each iteration step) returns
LINE_LENGTH = io.DEFAULT_BUFFER_SIZE
ENCODING = "utf-8"
FRAME_LENGTH = 4096
MESSAGE_ID_LENGTH = 16
VERSION = SerializationVersion.V1
TYPE = ObjectType.CUSTOMER_AE_DATA
ALGORITHM = Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384
ALGORITHM_COMMIT_KEY = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
ENCODED_SIGNER_KEY = "aws-crypto-public-key"
MAX_MESSAGES_PER_KEY = 2**32
MAX_BYTES_PER_KEY = 2**63 - 1
MAX_FRAME_COUNT = 2**32 - 1
MAX_FRAME_SIZE = 2**31 - 1
MAX_GCM_CONTENT_SIZE = MAX_NON_FRAMED_SIZE = 2**36 - 32
MAX_BYTE_ARRAY_SIZE = 2**16 - 1
