"""ECDSA message signatures and the point/signature codecs they need.

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
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from sealbox.errors import AuthenticationError, ErrorCode, MalformedMessageError, UsageError
from sealbox.format.suites import SignatureCurve

_CURVES: dict[SignatureCurve, ec.EllipticCurve] = {
    SignatureCurve.P256: ec.SECP256R1(),
    SignatureCurve.P384: ec.SECP384R1(),
}
_HASHES: dict[SignatureCurve, hashes.HashAlgorithm] = {
    SignatureCurve.P256: hashes.SHA256(),
    SignatureCurve.P384: hashes.SHA384(),
}
_ORDER_BYTES: dict[SignatureCurve, int] = {SignatureCurve.P256: 32, SignatureCurve.P384: 48}

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


def der_to_p1363(curve: SignatureCurve, signature: bytes) -> bytes:
    """DER ``ECDSA-Sig-Value`` → fixed-width ``r ‖ s`` (as HSMs and JOSE use)."""
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        raise UsageError("not a DER ECDSA signature") from None
    width = _ORDER_BYTES[curve]
    if not (0 < r < 1 << (8 * width) and 0 < s < 1 << (8 * width)):
        raise UsageError(f"signature integers do not fit {width} bytes")
    return r.to_bytes(width, "big") + s.to_bytes(width, "big")


def p1363_to_der(curve: SignatureCurve, signature: bytes) -> bytes:
    """Fixed-width ``r ‖ s`` → DER; the length must be exactly twice the order size."""
    width = _ORDER_BYTES[curve]
    if len(signature) != 2 * width:
        raise UsageError(
            f"a {curve.curve_name} r‖s signature is {2 * width} bytes, got {len(signature)}"
        )
    r = int.from_bytes(signature[:width], "big")
    s = int.from_bytes(signature[width:], "big")
    return encode_dss_signature(r, s)
