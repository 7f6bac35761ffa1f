"""The legacy API's identifiers: algorithm suites, commitment policy, wrapping algorithms.

``CommitmentPolicy`` is Sealbox's own enum (same member names; its values are strings
where the reference's are 0, 1, 2). ``Algorithm`` cannot be Sealbox's: the reference's
``is_committing()`` and ``is_signing()`` are methods, Sealbox's are attributes. So
:class:`AlgorithmSuite` carries the reference's attributes and maps to Sealbox's suite
through :attr:`AlgorithmSuite.sealbox` (and back with :meth:`AlgorithmSuite.from_sealbox`).
"""

from __future__ import annotations

import struct
from enum import Enum
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.ciphers import algorithms, modes
from cryptography.hazmat.primitives.kdf import hkdf

from sealbox._version import __version__
from sealbox.format.body import FINAL_FRAME_LABEL, REGULAR_FRAME_LABEL, SINGLE_BLOCK_LABEL
from sealbox.format.suites import Algorithm as SealboxAlgorithm
from sealbox.format.suites import CommitmentPolicy

__all__ = [
    "USER_AGENT_SUFFIX",
    "Algorithm",
    "AlgorithmSuite",
    "AuthenticationSuite",
    "CommitmentPolicy",
    "ContentAADString",
    "ContentType",
    "EncryptionKeyType",
    "EncryptionSuite",
    "EncryptionType",
    "KDFSuite",
    "ObjectType",
    "SequenceIdentifier",
    "SerializationVersion",
    "WrappingAlgorithm",
    "__version__",
]

USER_AGENT_SUFFIX = f"Sealbox/{__version__}"


class EncryptionSuite(Enum):
    """The AES-GCM part of a suite: (cipher, mode, data key bytes, IV bytes, tag bytes)."""

    AES_128_GCM_IV12_TAG16 = (algorithms.AES, modes.GCM, 16, 12, 16)
    AES_192_GCM_IV12_TAG16 = (algorithms.AES, modes.GCM, 24, 12, 16)
    AES_256_GCM_IV12_TAG16 = (algorithms.AES, modes.GCM, 32, 12, 16)

    def __init__(
        self, algorithm: Any, mode: Any, data_key_length: int, iv_length: int, auth_length: int
    ) -> None:
        self.algorithm = algorithm
        self.mode = mode
        self.data_key_length = data_key_length
        self.iv_length = iv_length
        self.auth_length = self.tag_len = auth_length
        self.auth_key_length = 0


class KDFSuite(Enum):
    """The key derivation part of a suite: (KDF, input length, hash)."""

    NONE = (None, None, None)
    HKDF_SHA256 = (hkdf.HKDF, None, hashes.SHA256)
    HKDF_SHA384 = (hkdf.HKDF, None, hashes.SHA384)
    HKDF_SHA512 = (hkdf.HKDF, None, hashes.SHA512)

    def __init__(self, algorithm: Any, input_length: int | None, hash_algorithm: Any) -> None:
        self.algorithm = algorithm
        self._input_length = input_length
        self.hash_algorithm = hash_algorithm

    def input_length(self, encryption: EncryptionSuite) -> int:
        return encryption.data_key_length if self._input_length is None else self._input_length


class AuthenticationSuite(Enum):
    """The signature part of a suite: (curve, hash, the reference's signature length)."""

    NONE = (None, None, 0)
    SHA256_ECDSA_P256 = (ec.SECP256R1, hashes.SHA256, 71)
    SHA256_ECDSA_P384 = (ec.SECP384R1, hashes.SHA384, 103)

    def __init__(self, algorithm: Any, hash_algorithm: Any, signature_length: int) -> None:
        self.algorithm = algorithm
        self.hash_algorithm = hash_algorithm
        self.signature_length = signature_length


_E128, _E192, _E256 = (
    EncryptionSuite.AES_128_GCM_IV12_TAG16,
    EncryptionSuite.AES_192_GCM_IV12_TAG16,
    EncryptionSuite.AES_256_GCM_IV12_TAG16,
)
_P256, _P384 = AuthenticationSuite.SHA256_ECDSA_P256, AuthenticationSuite.SHA256_ECDSA_P384


class AlgorithmSuite(Enum):
    """The 11 suites, by the reference's names: (id, encryption, message version, KDF, signature)."""

    AES_128_GCM_IV12_TAG16 = (0x0014, _E128, 1, KDFSuite.NONE, AuthenticationSuite.NONE)
    AES_192_GCM_IV12_TAG16 = (0x0046, _E192, 1, KDFSuite.NONE, AuthenticationSuite.NONE)
    AES_256_GCM_IV12_TAG16 = (0x0078, _E256, 1, KDFSuite.NONE, AuthenticationSuite.NONE)
    AES_128_GCM_IV12_TAG16_HKDF_SHA256 = (
        0x0114,
        _E128,
        1,
        KDFSuite.HKDF_SHA256,
        AuthenticationSuite.NONE,
    )
    AES_192_GCM_IV12_TAG16_HKDF_SHA256 = (
        0x0146,
        _E192,
        1,
        KDFSuite.HKDF_SHA256,
        AuthenticationSuite.NONE,
    )
    AES_256_GCM_IV12_TAG16_HKDF_SHA256 = (
        0x0178,
        _E256,
        1,
        KDFSuite.HKDF_SHA256,
        AuthenticationSuite.NONE,
    )
    AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256 = (0x0214, _E128, 1, KDFSuite.HKDF_SHA256, _P256)
    AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 = (0x0346, _E192, 1, KDFSuite.HKDF_SHA384, _P384)
    AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 = (0x0378, _E256, 1, KDFSuite.HKDF_SHA384, _P384)
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY = (
        0x0478,
        _E256,
        2,
        KDFSuite.HKDF_SHA512,
        AuthenticationSuite.NONE,
    )
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 = (0x0578, _E256, 2, KDFSuite.HKDF_SHA512, _P384)

    def __init__(
        self,
        algorithm_id: int,
        encryption: EncryptionSuite,
        message_format_version: int,
        kdf: KDFSuite,
        authentication: AuthenticationSuite,
    ) -> None:
        self.algorithm_id = algorithm_id
        self.encryption = encryption
        self.message_format_version = message_format_version
        self.kdf = kdf
        self.authentication = authentication
        self.allowed = True
        self.encryption_algorithm = encryption.algorithm
        self.encryption_mode = encryption.mode
        self.data_key_len = encryption.data_key_length
        self.iv_len = encryption.iv_length
        self.auth_key_len = encryption.auth_key_length
        self.auth_len = self.tag_len = encryption.auth_length
        self.kdf_type = kdf.algorithm
        self.kdf_hash_type = kdf.hash_algorithm
        self.signing_algorithm_info = authentication.algorithm
        self.signing_hash_type = authentication.hash_algorithm
        self.signature_len = authentication.signature_length
        self.header_auth_iv = bytes(self.iv_len)

    @property
    def kdf_input_len(self) -> int:
        return self.kdf.input_length(self.encryption)

    @property
    def sealbox(self) -> SealboxAlgorithm:
        """The same suite as Sealbox's :class:`sealbox.Algorithm`."""
        return SealboxAlgorithm.from_id(self.algorithm_id)

    @classmethod
    def from_sealbox(cls, algorithm: SealboxAlgorithm) -> AlgorithmSuite:
        return _BY_ID[algorithm.suite_id]

    @classmethod
    def get_by_id(cls, algorithm_id: int) -> AlgorithmSuite:
        """The suite with ``algorithm_id``; KeyError if there is none, as in the reference."""
        return _BY_ID[algorithm_id]

    def id_as_bytes(self) -> bytes:
        return struct.pack(">H", self.algorithm_id)

    def safe_to_cache(self) -> bool:
        return self.kdf is not KDFSuite.NONE

    def is_committing(self) -> bool:
        return self.message_format_version == 2

    def is_signing(self) -> bool:
        return self.signing_algorithm_info is not None

    def message_id_length(self) -> int:
        return 16 if self.message_format_version == 1 else 32

    def algorithm_suite_data_length(self) -> int:
        return 32 if self.is_committing() else 0


Algorithm = AlgorithmSuite
_BY_ID: dict[int, AlgorithmSuite] = {suite.algorithm_id: suite for suite in AlgorithmSuite}


class EncryptionType(Enum):
    """Symmetric or asymmetric wrapping."""

    SYMMETRIC = 0
    ASYMMETRIC = 1


class EncryptionKeyType(Enum):
    """What a raw wrapping key is."""

    SYMMETRIC = 0
    PUBLIC = 1
    PRIVATE = 2


class WrappingAlgorithm(Enum):
    """How a raw master key wraps data keys: (type, AES suite or None, padding, hash, MGF)."""

    AES_128_GCM_IV12_TAG16_NO_PADDING = (
        EncryptionType.SYMMETRIC,
        AlgorithmSuite.AES_128_GCM_IV12_TAG16,
        None,
        None,
        None,
    )
    AES_192_GCM_IV12_TAG16_NO_PADDING = (
        EncryptionType.SYMMETRIC,
        AlgorithmSuite.AES_192_GCM_IV12_TAG16,
        None,
        None,
        None,
    )
    AES_256_GCM_IV12_TAG16_NO_PADDING = (
        EncryptionType.SYMMETRIC,
        AlgorithmSuite.AES_256_GCM_IV12_TAG16,
        None,
        None,
        None,
    )
    RSA_PKCS1 = (EncryptionType.ASYMMETRIC, None, padding.PKCS1v15, None, None)
    RSA_OAEP_SHA1_MGF1 = (EncryptionType.ASYMMETRIC, None, padding.OAEP, hashes.SHA1, padding.MGF1)
    RSA_OAEP_SHA256_MGF1 = (
        EncryptionType.ASYMMETRIC,
        None,
        padding.OAEP,
        hashes.SHA256,
        padding.MGF1,
    )
    RSA_OAEP_SHA384_MGF1 = (
        EncryptionType.ASYMMETRIC,
        None,
        padding.OAEP,
        hashes.SHA384,
        padding.MGF1,
    )
    RSA_OAEP_SHA512_MGF1 = (
        EncryptionType.ASYMMETRIC,
        None,
        padding.OAEP,
        hashes.SHA512,
        padding.MGF1,
    )

    def __init__(
        self,
        encryption_type: EncryptionType,
        algorithm: AlgorithmSuite | None,
        padding_type: Any,
        padding_algorithm: Any,
        padding_mgf: Any,
    ) -> None:
        self.encryption_type = encryption_type
        # The reference stores the ``rsa`` module here for RSA; nothing reads it but itself.
        self.algorithm = algorithm
        self.padding: padding.AsymmetricPadding | None
        if padding_type is padding.OAEP:
            self.padding = padding.OAEP(
                mgf=padding_mgf(algorithm=padding_algorithm()),
                algorithm=padding_algorithm(),
                label=None,
            )
        else:
            self.padding = None if padding_type is None else padding_type()


class ObjectType(Enum):
    CUSTOMER_AE_DATA = 128


class SequenceIdentifier(Enum):
    SEQUENCE_NUMBER_END = 0xFFFFFFFF


class SerializationVersion(Enum):
    V1 = 1
    V2 = 2


class ContentType(Enum):
    NO_FRAMING = 1
    FRAMED_DATA = 2


class ContentAADString(Enum):
    FRAME_STRING_ID = REGULAR_FRAME_LABEL
    FINAL_FRAME_STRING_ID = FINAL_FRAME_LABEL
    NON_FRAMED_STRING_ID = SINGLE_BLOCK_LABEL
