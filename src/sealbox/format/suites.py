"""The 11 algorithm suites of the AWS Encryption SDK message format.

spec: framework/algorithm-suites.md. Every suite uses AES-GCM with a 12-byte
IV and a 16-byte tag. Names are the reference package's ``Algorithm`` names so
that porting code is mechanical.
"""

from __future__ import annotations

from enum import Enum, IntEnum

from sealbox.errors import ErrorCode, MalformedMessageError, UsageError

IV_LENGTH = 12
TAG_LENGTH = 16


class CommitmentPolicy(Enum):
    """Which suites a client may encrypt with and accept on decrypt.

    spec: framework/commitment-policy.md. The default is the strictest.
    """

    FORBID_ENCRYPT_ALLOW_DECRYPT = "forbid-encrypt-allow-decrypt"
    REQUIRE_ENCRYPT_ALLOW_DECRYPT = "require-encrypt-allow-decrypt"
    REQUIRE_ENCRYPT_REQUIRE_DECRYPT = "require-encrypt-require-decrypt"

    def allows_encrypt(self, algorithm: Algorithm) -> bool:
        if self is CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT:
            return not algorithm.is_committing
        return algorithm.is_committing

    def allows_decrypt(self, algorithm: Algorithm) -> bool:
        if self is CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT:
            return algorithm.is_committing
        return True

    @property
    def default_algorithm(self) -> Algorithm:
        # Under FORBID the reference package defaults to 0x0378 (the spec says
        # 0x0078); we follow the reference so that porting changes nothing.
        if self is CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT:
            return Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384
        return Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384


class SignatureCurve(Enum):
    """ECDSA curves used for message signatures, with their hash and sizes."""

    P256 = ("secp256r1", "sha256", 33)
    P384 = ("secp384r1", "sha384", 49)

    def __init__(self, curve_name: str, hash_name: str, compressed_point_length: int) -> None:
        self.curve_name = curve_name
        self.hash_name = hash_name
        self.compressed_point_length = compressed_point_length


class Algorithm(Enum):
    """An algorithm suite: (id, message version, key bytes, KDF hash, curve, commits)."""

    AES_128_GCM_IV12_TAG16 = (0x0014, 1, 16, None, None, False)
    AES_192_GCM_IV12_TAG16 = (0x0046, 1, 24, None, None, False)
    AES_256_GCM_IV12_TAG16 = (0x0078, 1, 32, None, None, False)
    AES_128_GCM_IV12_TAG16_HKDF_SHA256 = (0x0114, 1, 16, "sha256", None, False)
    AES_192_GCM_IV12_TAG16_HKDF_SHA256 = (0x0146, 1, 24, "sha256", None, False)
    AES_256_GCM_IV12_TAG16_HKDF_SHA256 = (0x0178, 1, 32, "sha256", None, False)
    AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256 = (
        0x0214,
        1,
        16,
        "sha256",
        SignatureCurve.P256,
        False,
    )
    AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 = (
        0x0346,
        1,
        24,
        "sha384",
        SignatureCurve.P384,
        False,
    )
    AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 = (
        0x0378,
        1,
        32,
        "sha384",
        SignatureCurve.P384,
        False,
    )
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY = (0x0478, 2, 32, "sha512", None, True)
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 = (
        0x0578,
        2,
        32,
        "sha512",
        SignatureCurve.P384,
        True,
    )

    def __init__(
        self,
        suite_id: int,
        message_version: int,
        key_length: int,
        kdf_hash: str | None,
        signature: SignatureCurve | None,
        is_committing: bool,
    ) -> None:
        self.suite_id = suite_id
        self.message_version = message_version
        #: plaintext data key length == encryption key length for every suite
        self.key_length = key_length
        #: hashlib name of the HKDF hash, or None for the identity KDF
        self.kdf_hash = kdf_hash
        self.signature = signature
        self.is_committing = is_committing

    @property
    def is_signing(self) -> bool:
        return self.signature is not None

    @property
    def message_id_length(self) -> int:
        return 16 if self.message_version == 1 else 32

    @property
    def commitment_length(self) -> int:
        return 32 if self.is_committing else 0

    @classmethod
    def from_id(cls, suite_id: int) -> Algorithm:
        try:
            return _BY_ID[suite_id]
        except KeyError:
            raise MalformedMessageError(
                f"unknown algorithm suite 0x{suite_id:04X}: not one of the 11 message-format suites",
                code=ErrorCode.UNKNOWN_SUITE,
            ) from None

    @classmethod
    def from_name(cls, name: str) -> Algorithm:
        """Look a suite up by its enum name or hex id ("0x0578")."""
        normalized = name.strip().upper()
        if normalized in cls.__members__:
            return cls[normalized]
        try:
            return cls.from_id(int(normalized, 16))
        except (ValueError, MalformedMessageError):
            raise UsageError(
                f"unknown algorithm suite {name!r}; use a name such as "
                "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 or an id such as 0x0578",
                code=ErrorCode.UNKNOWN_SUITE,
            ) from None


_BY_ID: dict[int, Algorithm] = {member.suite_id: member for member in Algorithm}


class ContentType(IntEnum):
    NON_FRAMED = 0x01
    FRAMED = 0x02
