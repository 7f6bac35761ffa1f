"""Wycheproof cases (core and ESDK tiers) through Sealbox's own crypto wrappers.

Each loader checks the file's ``numberOfTests`` so a truncated file cannot pass.
Decisions on 'acceptable' cases and on inputs our formats never use are pinned here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from sealbox.crypto.aead import GCM
from sealbox.crypto.kdf import hkdf
from sealbox.crypto.signing import decode_point, verify_digest
from sealbox.errors import (
    AuthenticationError,
    ErrorCode,
    MalformedMessageError,
    SealboxError,
    UsageError,
)
from sealbox.format.suites import SignatureCurve
from sealbox.keyrings.raw_rsa import PaddingScheme
from tests.helpers import load_json

Case = tuple[dict[str, Any], dict[str, Any]]


def cases(name: str) -> list[Case]:
    data = load_json(f"wycheproof/testvectors_v1/{name}.json")
    found = [(group, test) for group in data["testGroups"] for test in group["tests"]]
    assert len(found) == data["numberOfTests"], f"{name} is truncated"
    return found


def ids(found: list[Case]) -> Iterator[str]:
    return (f"tc{test['tcId']}-{test['result']}" for _, test in found)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


GCM_CASES = cases("aes_gcm_test")


def test_gcm_counts() -> None:
    assert sum(1 for group, _ in GCM_CASES if group["ivSize"] == 96) == 197
    assert all(group["tagSize"] == 128 for group, _ in GCM_CASES)


@pytest.mark.parametrize(("group", "test"), GCM_CASES, ids=list(ids(GCM_CASES)))
def test_aes_gcm(group: dict[str, Any], test: dict[str, Any]) -> None:
    gcm = GCM(h(test["key"]))
    iv, aad, msg = h(test["iv"]), h(test["aad"]), h(test["msg"])
    sealed = h(test["ct"]) + h(test["tag"])
    if group["ivSize"] != 96:
        # Every format we read or write uses 96-bit IVs; anything else is refused up front.
        with pytest.raises(UsageError):
            gcm.decrypt(iv, sealed, aad)
        with pytest.raises(UsageError):
            gcm.encrypt(iv, msg, aad)
        return
    if test["result"] == "valid":
        assert gcm.encrypt(iv, msg, aad) == sealed
        assert gcm.decrypt(iv, sealed, aad) == msg
        out = bytearray(len(msg))
        gcm.decrypt_into(iv, sealed, aad, memoryview(out))
        assert out == msg
    else:
        with pytest.raises(AuthenticationError):
            gcm.decrypt(iv, sealed, aad)


HKDF_CASES = [
    (name, *case) for name in ("sha256", "sha384", "sha512") for case in cases(f"hkdf_{name}_test")
]


def test_hkdf_counts() -> None:
    assert len(HKDF_CASES) == 252


@pytest.mark.parametrize(
    ("hash_name", "group", "test"), HKDF_CASES, ids=[f"{n}-{t['tcId']}" for n, _, t in HKDF_CASES]
)
def test_hkdf(hash_name: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    def derive() -> bytes:
        return hkdf(
            hash_name,
            h(test["ikm"]),
            salt=h(test["salt"]),
            info=h(test["info"]),
            length=int(test["size"]),
        )

    if test["result"] == "valid":
        assert derive() == h(test["okm"])
    else:
        with pytest.raises(UsageError):
            derive()


CURVES = {"secp256r1": SignatureCurve.P256, "secp384r1": SignatureCurve.P384}
ECDSA_CASES = [
    (encoding, *case)
    for curve, digest in (("secp256r1", "sha256"), ("secp384r1", "sha384"))
    for encoding, suffix in (("der", ""), ("p1363", "_p1363"))
    for case in cases(f"ecdsa_{curve}_{digest}{suffix}_test")
]


def p1363_to_der(curve: SignatureCurve, signature: bytes) -> bytes:
    """Fixed-width ``r ‖ s`` (the p1363 files) → DER, the only encoding messages carry."""
    width = curve.compressed_point_length - 1
    if len(signature) != 2 * width:
        raise UsageError(
            f"a {curve.curve_name} r‖s signature is {2 * width} bytes, got {len(signature)}"
        )
    r = int.from_bytes(signature[:width], "big")
    s = int.from_bytes(signature[width:], "big")
    return encode_dss_signature(r, s)


def test_ecdsa_counts() -> None:
    assert sum(e == "der" for e, _, _ in ECDSA_CASES) == 988
    assert sum(e == "p1363" for e, _, _ in ECDSA_CASES) == 542


@pytest.mark.parametrize(
    ("encoding", "group", "test"),
    ECDSA_CASES,
    ids=[f"{e}-{g['publicKey']['curve']}-{t['tcId']}" for e, g, t in ECDSA_CASES],
)
def test_ecdsa_verify(encoding: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    curve = CURVES[group["publicKey"]["curve"]]
    key = decode_point(curve, h(group["publicKey"]["uncompressed"]))
    digest = hashlib.new(curve.hash_name, h(test["msg"])).digest()

    def verify() -> None:
        signature = h(test["sig"])
        if encoding == "p1363":
            signature = p1363_to_der(curve, signature)
        verify_digest(key, curve, digest, signature)

    if test["result"] == "valid":
        verify()
    else:
        with pytest.raises(SealboxError) as caught:
            verify()
        assert caught.value.code in (ErrorCode.SIGNATURE_INVALID, ErrorCode.INVALID_ARGUMENT)


ECPOINT_CASES = [
    case for curve in ("secp256r1", "secp384r1") for case in cases(f"ecdh_{curve}_ecpoint_test")
]


def test_ecpoint_counts() -> None:
    assert len(ECPOINT_CASES) == 1145


@pytest.mark.parametrize(
    ("group", "test"), ECPOINT_CASES, ids=[f"{g['curve']}-{t['tcId']}" for g, t in ECPOINT_CASES]
)
def test_point_decoding(group: dict[str, Any], test: dict[str, Any]) -> None:
    curve = CURVES[group["curve"]]
    private = ec.derive_private_key(
        int(test["private"], 16), decode_point(curve, _generator(curve)).curve
    )

    def shared() -> bytes:
        return private.exchange(ec.ECDH(), decode_point(curve, h(test["public"])))

    # 'acceptable' here is a compressed point: the form aws-crypto-public-key uses, so we accept it.
    if test["result"] in ("valid", "acceptable"):
        assert shared() == h(test["shared"])
    else:
        with pytest.raises((MalformedMessageError, ValueError)):
            shared()


def _generator(curve: SignatureCurve) -> bytes:
    key = ec.derive_private_key(
        1, ec.SECP256R1() if curve is SignatureCurve.P256 else ec.SECP384R1()
    )
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


OAEP = {
    "SHA-1": PaddingScheme.OAEP_SHA1_MGF1,
    "SHA-256": PaddingScheme.OAEP_SHA256_MGF1,
    "SHA-384": PaddingScheme.OAEP_SHA384_MGF1,
    "SHA-512": PaddingScheme.OAEP_SHA512_MGF1,
}
RSA_CASES = [
    case
    for name in (
        "rsa_oaep_2048_sha1_mgf1sha1_test",
        "rsa_oaep_2048_sha256_mgf1sha256_test",
        "rsa_oaep_2048_sha384_mgf1sha384_test",
        "rsa_oaep_2048_sha512_mgf1sha512_test",
        "rsa_pkcs1_2048_test",
    )
    for case in cases(name)
]
_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def _private(group: dict[str, Any]) -> rsa.RSAPrivateKey:
    der = group["privateKeyPkcs8"]
    if der not in _KEYS:
        key = serialization.load_der_private_key(h(der), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        _KEYS[der] = key
    return _KEYS[der]


@pytest.mark.parametrize(
    ("group", "test"),
    RSA_CASES,
    ids=[f"{g['type']}-{g.get('sha')}-{t['tcId']}" for g, t in RSA_CASES],
)
def test_rsa_keyring_paddings(group: dict[str, Any], test: dict[str, Any]) -> None:
    scheme = PaddingScheme.PKCS1 if group["type"] == "RsaesPkcs1Decrypt" else OAEP[group["sha"]]

    def decrypt() -> bytes:
        return _private(group).decrypt(h(test["ct"]), scheme.padding())

    if test.get("label"):
        # The message format always uses an empty OAEP label, so labelled ciphertexts never open.
        with pytest.raises(ValueError):
            decrypt()
    elif test["result"] == "valid":
        assert decrypt() == h(test["msg"])
    elif scheme is PaddingScheme.PKCS1:
        # OpenSSL implicit rejection: a bad PKCS#1 ciphertext yields pseudo-random bytes
        # (or an error) - never the message and never a padding-specific error.
        try:
            result = decrypt()
        except ValueError:
            return
        assert result != h(test["msg"]) or test["msg"] == ""
    else:
        with pytest.raises(ValueError):
            decrypt()
