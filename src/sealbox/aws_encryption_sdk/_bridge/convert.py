"""Conversions between the legacy API's structures and Sealbox's: suites, EDKs, headers, keys.

The message bytes are Sealbox's; only the Python objects differ. Signing and
verification keys travel in legacy materials as DER (PKCS #8 private keys,
SubjectPublicKeyInfo public keys), as the reference encodes them.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealbox.aws_encryption_sdk.exceptions import InvalidAlgorithmError
from sealbox.aws_encryption_sdk.identifiers import (
    AlgorithmSuite,
    ContentType,
    ObjectType,
    SerializationVersion,
)
from sealbox.aws_encryption_sdk.structures import EncryptedDataKey, MasterKeyInfo, MessageHeader
from sealbox.crypto.signing import SigningKey, VerificationKey
from sealbox.format import header as sealbox_header
from sealbox.format.suites import IV_LENGTH
from sealbox.format.suites import Algorithm as SealboxAlgorithm
from sealbox.format.suites import ContentType as SealboxContentType


def to_sealbox_algorithm(algorithm: object) -> SealboxAlgorithm:
    """A legacy suite (or a Sealbox one) as Sealbox's."""
    if isinstance(algorithm, AlgorithmSuite):
        return algorithm.sealbox
    if isinstance(algorithm, SealboxAlgorithm):
        return algorithm
    raise TypeError(
        f"algorithm must be an aws_encryption_sdk.identifiers.Algorithm member, not {algorithm!r}"
    )


def optional_sealbox_algorithm(algorithm: object) -> SealboxAlgorithm | None:
    return None if algorithm is None else to_sealbox_algorithm(algorithm)


def to_legacy_algorithm(algorithm: SealboxAlgorithm | AlgorithmSuite) -> AlgorithmSuite:
    if isinstance(algorithm, AlgorithmSuite):
        return algorithm
    return AlgorithmSuite.from_sealbox(algorithm)


def edk_to_legacy(edk: sealbox_header.EncryptedDataKey) -> EncryptedDataKey:
    return EncryptedDataKey(MasterKeyInfo(edk.provider_id, edk.provider_info), edk.ciphertext)


def edk_to_sealbox(edk: EncryptedDataKey) -> sealbox_header.EncryptedDataKey:
    if not isinstance(edk, EncryptedDataKey):
        raise InvalidAlgorithmError(f"{edk!r} is not an aws_encryption_sdk EncryptedDataKey")
    info = edk.key_provider
    return sealbox_header.EncryptedDataKey(info.provider_id, info.key_info, edk.encrypted_data_key)


def header_to_legacy(header: sealbox_header.MessageHeader) -> MessageHeader:
    """The reference's ``MessageHeader`` for a header Sealbox wrote or read."""
    algorithm = AlgorithmSuite.from_sealbox(header.algorithm)
    version_1 = header.version == 1
    return MessageHeader(
        version=SerializationVersion(header.version),
        algorithm=algorithm,
        message_id=header.message_id,
        encryption_context=dict(header.encryption_context),
        encrypted_data_keys={edk_to_legacy(edk) for edk in header.encrypted_data_keys},
        content_type=(
            ContentType.FRAMED_DATA
            if header.content_type is SealboxContentType.FRAMED
            else ContentType.NO_FRAMING
        ),
        frame_length=header.frame_length,
        type=ObjectType.CUSTOMER_AE_DATA if version_1 else None,
        content_aad_length=0 if version_1 else None,
        header_iv_length=IV_LENGTH if version_1 else None,
        commitment_key=header.commitment if algorithm.is_committing() else None,
    )


def signing_key_to_bytes(key: SigningKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def signing_key_from_bytes(data: bytes) -> SigningKey:
    key = serialization.load_der_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InvalidAlgorithmError("the materials' signing_key is not an ECDSA private key")
    return key


def verification_key_to_bytes(key: VerificationKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def verification_key_from_bytes(data: bytes) -> VerificationKey:
    key = serialization.load_der_public_key(data)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidAlgorithmError("the materials' verification_key is not an ECDSA public key")
    return key
