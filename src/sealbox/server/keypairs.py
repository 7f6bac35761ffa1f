"""Key pairs as AWS KMS uses them: generation (stored as PKCS#8 DER), the public key as DER
SubjectPublicKeyInfo, signing, RSA-OAEP encryption and ECDH. Pure pyca/cryptography, no
service state: the operations check keys, usages and algorithms before calling here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, padding, rsa, utils

from sealbox.server.errors import ValidationException

PrivateKey = Any  # rsa / ec / ML-DSA private keys: pyca's classes share no base
PublicKey = Any

_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
_ML_DSA: dict[str, Callable[[], Any]] = {
    "ML_DSA_44": mldsa.MLDSA44PrivateKey.generate,
    "ML_DSA_65": mldsa.MLDSA65PrivateKey.generate,
    "ML_DSA_87": mldsa.MLDSA87PrivateKey.generate,
}
MU_BYTES = 64  # an ML-DSA external mu


def generate(spec: str) -> bytes:
    """A new private key of ``spec``, PKCS#8 DER (RSA_4096 takes about a second of CPU)."""
    private: PrivateKey
    if spec.startswith("RSA_"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=int(spec[4:]))
    elif spec in _CURVES:
        private = ec.generate_private_key(_CURVES[spec]())
    elif spec == "ECC_NIST_EDWARDS25519":  # offered by GenerateDataKeyPair only
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        private = _ML_DSA[spec]()
    return private_der(private)


def private_der(private: PrivateKey) -> bytes:
    return bytes(
        private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def load_private(der: bytes) -> PrivateKey:
    """A stored private key. Stored keys are Sealbox's own, authenticated by the root key's
    unwrap, so pyca's RSA consistency check (0.4 s for RSA-4096) proves nothing here."""
    return serialization.load_der_private_key(
        der, password=None, unsafe_skip_rsa_key_validation=True
    )


def public_der(key: PrivateKey | PublicKey) -> bytes:
    public = key.public_key() if hasattr(key, "public_key") else key
    return bytes(
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


# -- signing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningAlgorithm:
    name: str
    hash: Callable[[], hashes.HashAlgorithm] | None  # None: ML-DSA (SHAKE-256 inside)
    scheme: str  # "pss", "pkcs1", "ecdsa" or "ml-dsa"

    @property
    def digest_bytes(self) -> int:
        return self.hash().digest_size if self.hash is not None else MU_BYTES


_SHA = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
SIGNING: dict[str, SigningAlgorithm] = {
    **{
        f"RSASSA_PSS_SHA_{bits}": SigningAlgorithm(f"RSASSA_PSS_SHA_{bits}", sha, "pss")
        for bits, sha in _SHA.items()
    },
    **{
        f"RSASSA_PKCS1_V1_5_SHA_{bits}": SigningAlgorithm(
            f"RSASSA_PKCS1_V1_5_SHA_{bits}", sha, "pkcs1"
        )
        for bits, sha in _SHA.items()
    },
    **{
        f"ECDSA_SHA_{bits}": SigningAlgorithm(f"ECDSA_SHA_{bits}", sha, "ecdsa")
        for bits, sha in _SHA.items()
    },
    "ML_DSA_SHAKE_256": SigningAlgorithm("ML_DSA_SHAKE_256", None, "ml-dsa"),
}


def check_message(
    algorithm: SigningAlgorithm, key_spec: str, message: bytes, message_type: str
) -> None:
    """AWS's rules for the Message of Sign and Verify (ValidationException otherwise): a
    DIGEST as long as the algorithm's hash (not for ML-DSA), a 64-byte EXTERNAL_MU (ML-DSA
    only); a RAW message's 4,096-byte limit is the model's."""
    if message_type == "RAW":
        return
    if (message_type == "DIGEST") == (algorithm.scheme == "ml-dsa"):
        raise ValidationException(
            f"Message type {message_type} is incompatible with key spec {key_spec}."
        )
    if len(message) != algorithm.digest_bytes:  # not secret: lengths
        raise ValidationException(f"Digest is invalid length for algorithm {algorithm.name}.")


def _digest(algorithm: SigningAlgorithm, message: bytes, message_type: str) -> bytes:
    if message_type == "DIGEST":
        return message
    assert algorithm.hash is not None
    hasher = hashes.Hash(algorithm.hash())
    hasher.update(message)
    return hasher.finalize()


def _rsa_padding(algorithm: SigningAlgorithm) -> padding.AsymmetricPadding:
    assert algorithm.hash is not None
    if algorithm.scheme == "pss":  # AWS: MGF1 with the same hash, salt as long as the digest
        return padding.PSS(padding.MGF1(algorithm.hash()), algorithm.hash().digest_size)
    return padding.PKCS1v15()


def sign(
    private: PrivateKey, algorithm: SigningAlgorithm, message: bytes, message_type: str
) -> bytes:
    """The signature AWS KMS returns: DER for ECDSA, raw for RSA and ML-DSA."""
    if algorithm.scheme == "ml-dsa":
        return bytes(
            private.sign_mu(message) if message_type == "EXTERNAL_MU" else private.sign(message)
        )
    assert algorithm.hash is not None
    prehashed = utils.Prehashed(algorithm.hash())
    digest = _digest(algorithm, message, message_type)
    if algorithm.scheme == "ecdsa":
        return bytes(private.sign(digest, ec.ECDSA(prehashed)))
    return bytes(private.sign(digest, _rsa_padding(algorithm), prehashed))


def verify(
    public: PublicKey,
    algorithm: SigningAlgorithm,
    message: bytes,
    message_type: str,
    signature: bytes,
) -> bool:
    try:
        if algorithm.scheme == "ml-dsa":
            if message_type == "EXTERNAL_MU":
                public.verify_mu(signature, message)
            else:
                public.verify(signature, message)
            return True
        assert algorithm.hash is not None
        prehashed = utils.Prehashed(algorithm.hash())
        digest = _digest(algorithm, message, message_type)
        if algorithm.scheme == "ecdsa":
            public.verify(signature, digest, ec.ECDSA(prehashed))
        else:
            public.verify(signature, digest, _rsa_padding(algorithm), prehashed)
        return True
    except (InvalidSignature, ValueError):
        return False


# -- RSA encryption -----------------------------------------------------------------------

_OAEP_HASHES = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}


def _oaep(algorithm: str) -> padding.OAEP:
    digest = _OAEP_HASHES[algorithm]
    return padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)


def oaep_limit(public: rsa.RSAPublicKey, algorithm: str) -> int:
    """The longest plaintext RSA-OAEP takes: k - 2·hLen - 2 bytes."""
    return public.key_size // 8 - 2 * _OAEP_HASHES[algorithm]().digest_size - 2


def rsa_encrypt(public: rsa.RSAPublicKey, algorithm: str, plaintext: bytes) -> bytes:
    return public.encrypt(plaintext, _oaep(algorithm))


def rsa_decrypt(private: rsa.RSAPrivateKey, algorithm: str, ciphertext: bytes) -> bytes | None:
    """The plaintext, or None if the ciphertext is not this key's under ``algorithm``."""
    try:
        return private.decrypt(ciphertext, _oaep(algorithm))
    except ValueError:
        return None


# -- key agreement ------------------------------------------------------------------------


def load_peer_public(der: bytes) -> PublicKey | None:
    """A DER SubjectPublicKeyInfo, or None if it is not one."""
    try:
        return serialization.load_der_public_key(der)
    except (ValueError, TypeError):
        return None


def ecdh(private: ec.EllipticCurvePrivateKey, peer: ec.EllipticCurvePublicKey) -> bytes:
    """The raw ECDH shared secret (the x coordinate), as AWS returns it."""
    return private.exchange(ec.ECDH(), peer)
