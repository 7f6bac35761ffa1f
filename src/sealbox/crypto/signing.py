"""ECDSA message signatures and the verification-key codecs they need.

spec: data-format/message-footer.md, framework/transitive-requirements.md.
The verification key travels in the encryption context as standard Base64 of
the SEC 1 compressed point. Signatures are DER; any DER length is accepted
and so are high-s signatures (the reference flips s to reach a fixed length).
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from sealbox.errors import AuthenticationError, ErrorCode, MalformedMessageError
from sealbox.format.suites import SignatureCurve

_CURVES: dict[SignatureCurve, ec.EllipticCurve] = {
    SignatureCurve.P256: ec.SECP256R1(),
    SignatureCurve.P384: ec.SECP384R1(),
}
_HASHES: dict[SignatureCurve, hashes.HashAlgorithm] = {
    SignatureCurve.P256: hashes.SHA256(),
    SignatureCurve.P384: hashes.SHA384(),
}

SigningKey = ec.EllipticCurvePrivateKey
VerificationKey = ec.EllipticCurvePublicKey


def generate_signing_key(curve: SignatureCurve) -> SigningKey:
    return ec.generate_private_key(_CURVES[curve])


def encode_verification_key(key: VerificationKey) -> str:
    """Base64 of the compressed point: the ``aws-crypto-public-key`` value."""
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    return base64.b64encode(point).decode("ascii")


def decode_point(curve: SignatureCurve, point: bytes) -> VerificationKey:
    """Decode a SEC 1 point (compressed or uncompressed); reject points not on ``curve``."""
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[curve], point)
    except (ValueError, UnsupportedAlgorithm):
        raise MalformedMessageError(
            f"not a valid {curve.curve_name} point", code=ErrorCode.HEADER_INVALID
        ) from None


def decode_verification_key(curve: SignatureCurve, value: str) -> VerificationKey:
    """Decode an ``aws-crypto-public-key`` value: Base64 of a compressed point on ``curve``."""
    try:
        point = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        point = b""
    if len(point) != curve.compressed_point_length or point[0] not in (2, 3):
        raise MalformedMessageError(
            f"aws-crypto-public-key is not a Base64 compressed {curve.curve_name} point",
            code=ErrorCode.HEADER_INVALID,
        )
    return decode_point(curve, point)


def sign_digest(key: SigningKey, curve: SignatureCurve, digest: bytes) -> bytes:
    """DER ECDSA signature over a digest computed with the curve's hash."""
    return key.sign(digest, ec.ECDSA(Prehashed(_HASHES[curve])))


def verify_digest(
    key: VerificationKey, curve: SignatureCurve, digest: bytes, signature: bytes
) -> None:
    """Raise ``SIGNATURE_INVALID`` unless ``signature`` (DER) verifies over ``digest``."""
    try:
        key.verify(signature, digest, ec.ECDSA(Prehashed(_HASHES[curve])))
    except (InvalidSignature, ValueError):
        raise AuthenticationError(
            "the message signature did not verify (the message was altered)",
            code=ErrorCode.SIGNATURE_INVALID,
        ) from None
