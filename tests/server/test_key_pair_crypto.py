"""RSA encryption keys (Encrypt/Decrypt/ReEncrypt with RSAES_OAEP_SHA_1/256), data key pairs
(GenerateDataKeyPair and its WithoutPlaintext twin) and ECDH (DeriveSharedSecret), each
checked against pyca and openssl with AWS's limits and answers."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from tests.server.asymmetric_support import Keys, openssl
from tests.server.harness import (
    DEV_ACCOUNT,
    InProcessServer,
    aws_cli,
    error_of,
    module_kms,
    module_server,
)

OAEP = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}
# AWS's plaintext limits (k - 2·hLen - 2)
LIMITS = {
    ("RSA_2048", "RSAES_OAEP_SHA_1"): 214,
    ("RSA_2048", "RSAES_OAEP_SHA_256"): 190,
    ("RSA_3072", "RSAES_OAEP_SHA_1"): 342,
    ("RSA_3072", "RSAES_OAEP_SHA_256"): 318,
    ("RSA_4096", "RSAES_OAEP_SHA_1"): 470,
    ("RSA_4096", "RSAES_OAEP_SHA_256"): 446,
}
PAIR_TYPES = {
    "RSA_2048": rsa.RSAPrivateKey,
    "RSA_3072": rsa.RSAPrivateKey,
    "RSA_4096": rsa.RSAPrivateKey,
    "ECC_NIST_P256": ec.EllipticCurvePrivateKey,
    "ECC_NIST_P384": ec.EllipticCurvePrivateKey,
    "ECC_NIST_P521": ec.EllipticCurvePrivateKey,
    "ECC_SECG_P256K1": ec.EllipticCurvePrivateKey,
    "ECC_NIST_EDWARDS25519": ed25519.Ed25519PrivateKey,
}
CURVES = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1}
CURVES["ECC_NIST_P521"] = ec.SECP521R1


server = module_server("pairs")
kms = module_kms


@pytest.fixture(scope="module")
def keys(kms: Any) -> Keys:
    return Keys(kms)


def _oaep(algorithm: str) -> padding.OAEP:
    digest = OAEP[algorithm]
    return padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)


@pytest.mark.parametrize(("spec", "algorithm"), sorted(LIMITS))
def test_rsa_encryption_round_trips_and_limits(
    keys: Keys, kms: Any, spec: str, algorithm: str
) -> None:
    key = keys(spec, "ENCRYPT_DECRYPT")
    limit = LIMITS[spec, algorithm]
    longest = bytes(range(256)) * 2
    encrypted = kms.encrypt(
        KeyId=key["KeyId"], Plaintext=longest[:limit], EncryptionAlgorithm=algorithm
    )
    assert encrypted["EncryptionAlgorithm"] == algorithm and encrypted["KeyId"] == key["Arn"]
    assert len(encrypted["CiphertextBlob"]) == int(spec[4:]) // 8  # the bare RSA-OAEP output
    opened = kms.decrypt(KeyId=key["KeyId"], CiphertextBlob=encrypted["CiphertextBlob"],
                         EncryptionAlgorithm=algorithm)  # fmt: skip
    assert (opened["Plaintext"], opened["EncryptionAlgorithm"]) == (longest[:limit], algorithm)
    assert error_of(kms.encrypt, KeyId=key["KeyId"], Plaintext=longest[: limit + 1],
                    EncryptionAlgorithm=algorithm) == (
        "ValidationException",
        f"Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than {limit} bytes.",
    )  # fmt: skip
    # a ciphertext made outside with the public key decrypts inside
    offline = keys.public(spec, "ENCRYPT_DECRYPT").encrypt(b"made outside", _oaep(algorithm))
    assert kms.decrypt(KeyId=key["Arn"], CiphertextBlob=offline,
                       EncryptionAlgorithm=algorithm)["Plaintext"] == b"made outside"  # fmt: skip


def test_openssl_encrypts_for_the_key(keys: Keys, kms: Any, tmp_path: Path) -> None:
    key = keys("RSA_3072", "ENCRYPT_DECRYPT")["KeyId"]
    pem = keys.public_pem("RSA_3072", "ENCRYPT_DECRYPT", tmp_path)
    done = openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", str(pem),
                   "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
                   "-pkeyopt", "rsa_mgf1_md:sha256", data=b"secret from openssl")  # fmt: skip
    assert done.returncode == 0, done.stderr
    opened = kms.decrypt(
        KeyId=key, CiphertextBlob=done.stdout, EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    )
    assert opened["Plaintext"] == b"secret from openssl"


def test_rsa_encryption_answers_as_aws(keys: Keys, kms: Any) -> None:
    key = keys("RSA_2048", "ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")[
        "CiphertextBlob"
    ]
    assert error_of(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x") == (
        "InvalidKeyUsageException",
        "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.",
    )
    with_context = {"EncryptionAlgorithm": "RSAES_OAEP_SHA_1", "EncryptionContext": {"a": "b"}}
    code, message = error_of(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x", **with_context)
    assert code == "ValidationException" and "EncryptionContext" in message
    # without its algorithm the ciphertext is read as a symmetric one, and is none
    for missing in ({}, {"KeyId": key["KeyId"]}):
        assert error_of(kms.decrypt, CiphertextBlob=blob, **missing)[0] == (
            "InvalidCiphertextException"
        )
    assert error_of(kms.decrypt, KeyId=key["KeyId"], CiphertextBlob=blob,
                    EncryptionAlgorithm="RSAES_OAEP_SHA_256")[0] == "InvalidCiphertextException"  # fmt: skip
    symmetric = kms.create_key()["KeyMetadata"]
    assert error_of(kms.encrypt, KeyId=symmetric["KeyId"], Plaintext=b"x",
                    EncryptionAlgorithm="RSAES_OAEP_SHA_256") == (
        "InvalidKeyUsageException",
        "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.",
    )  # fmt: skip
    assert error_of(kms.generate_data_key, KeyId=key["KeyId"], KeySpec="AES_256") == (
        "InvalidKeyUsageException",
        "You cannot generate a data key with an asymmetric CMK",
    )
    signing = keys("RSA_2048", "SIGN_VERIFY")
    assert error_of(kms.encrypt, KeyId=signing["KeyId"], Plaintext=b"x",
                    EncryptionAlgorithm="RSAES_OAEP_SHA_1") == (
        "InvalidKeyUsageException",
        f"{signing['Arn']} key usage is SIGN_VERIFY which is not valid for Encrypt.",
    )  # fmt: skip


def test_re_encrypt_between_symmetric_and_rsa_keys(keys: Keys, kms: Any) -> None:
    rsa_key = keys("RSA_2048", "ENCRYPT_DECRYPT")
    other = keys("RSA_3072", "ENCRYPT_DECRYPT")
    symmetric = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(
        KeyId=rsa_key["KeyId"], Plaintext=b"moving", EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    )["CiphertextBlob"]
    to_symmetric = kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=rsa_key["KeyId"],
                                  SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256",
                                  DestinationKeyId=symmetric["KeyId"],
                                  DestinationEncryptionContext={"to": "symmetric"})  # fmt: skip
    assert to_symmetric["SourceEncryptionAlgorithm"] == "RSAES_OAEP_SHA_256"
    assert to_symmetric["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert "SourceKeyMaterialId" not in to_symmetric and to_symmetric["DestinationKeyMaterialId"]
    to_rsa = kms.re_encrypt(CiphertextBlob=to_symmetric["CiphertextBlob"],
                            SourceEncryptionContext={"to": "symmetric"},
                            DestinationKeyId=other["KeyId"],
                            DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")  # fmt: skip
    assert (to_rsa["SourceKeyId"], to_rsa["KeyId"]) == (symmetric["Arn"], other["Arn"])
    assert "DestinationKeyMaterialId" not in to_rsa
    assert kms.decrypt(KeyId=other["KeyId"], CiphertextBlob=to_rsa["CiphertextBlob"],
                       EncryptionAlgorithm="RSAES_OAEP_SHA_1")["Plaintext"] == b"moving"  # fmt: skip


@pytest.mark.parametrize("spec", sorted(PAIR_TYPES))
def test_data_key_pairs_load_in_openssl_and_pyca(kms: Any, tmp_path: Path, spec: str) -> None:
    wrapping = kms.create_key()["KeyMetadata"] if spec == "RSA_2048" else _symmetric(kms)
    context = {"purpose": "data key pair"}
    pair = kms.generate_data_key_pair(
        KeyId=wrapping["KeyId"], KeyPairSpec=spec, EncryptionContext=context
    )
    assert (pair["KeyId"], pair["KeyPairSpec"]) == (wrapping["Arn"], spec)
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    assert isinstance(private, PAIR_TYPES[spec])
    assert serialization.load_der_public_key(pair["PublicKey"]).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "private.der").write_bytes(pair["PrivateKeyPlaintext"])
    checked = openssl(
        "pkey", "-inform", "DER", "-in", str(tmp_path / "private.der"), "-pubout", "-outform", "DER"
    )
    assert checked.returncode == 0 and checked.stdout == pair["PublicKey"], checked.stderr
    assert pair["PrivateKeyPlaintext"].startswith(b"\x30")  # PKCS#8 PrivateKeyInfo
    opened = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext=context)
    assert opened["Plaintext"] == pair["PrivateKeyPlaintext"]
    assert error_of(kms.decrypt, CiphertextBlob=pair["PrivateKeyCiphertextBlob"])[0] == (
        "InvalidCiphertextException"
    )
    quiet = kms.generate_data_key_pair_without_plaintext(KeyId=wrapping["KeyId"], KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in quiet and quiet["PublicKey"] != pair["PublicKey"]
    assert kms.decrypt(CiphertextBlob=quiet["PrivateKeyCiphertextBlob"])["Plaintext"].startswith(
        b"\x30"
    )


_SYMMETRIC: dict[str, Any] = {}


def _symmetric(kms: Any) -> dict[str, Any]:
    if "key" not in _SYMMETRIC:
        _SYMMETRIC["key"] = kms.create_key()["KeyMetadata"]
    made: dict[str, Any] = _SYMMETRIC["key"]
    return made


def test_data_key_pair_answers_as_aws(keys: Keys, kms: Any) -> None:
    asymmetric = keys("RSA_2048", "ENCRYPT_DECRYPT")
    assert error_of(
        kms.generate_data_key_pair, KeyId=asymmetric["KeyId"], KeyPairSpec="ECC_NIST_P256"
    ) == (
        "InvalidKeyUsageException",
        "You cannot generate a data key pair with an asymmetric CMK",
    )
    code, message = error_of(
        kms.generate_data_key_pair, KeyId=_symmetric(kms)["KeyId"], KeyPairSpec="SM2"
    )
    assert code == "UnsupportedOperationException" and "China" in message
    assert error_of(kms.generate_data_key_pair, KeyId=_symmetric(kms)["KeyId"],
                    KeyPairSpec="ECC_NIST_P256", DryRun=True)[0] == "DryRunOperationException"  # fmt: skip


@pytest.mark.parametrize("spec", sorted(CURVES))
def test_derive_shared_secret_agrees_with_pyca(keys: Keys, kms: Any, spec: str) -> None:
    key = keys(spec, "KEY_AGREEMENT")
    assert key["KeyAgreementAlgorithms"] == ["ECDH"]
    ours = ec.generate_private_key(CURVES[spec]())
    ours_der = ours.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    derived = kms.derive_shared_secret(
        KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=ours_der
    )
    assert derived["SharedSecret"] == ours.exchange(ec.ECDH(), keys.public(spec, "KEY_AGREEMENT"))
    assert (derived["KeyId"], derived["KeyAgreementAlgorithm"], derived["KeyOrigin"]) == (
        key["Arn"],
        "ECDH",
        "AWS_KMS",
    )


def test_derive_shared_secret_refusals(keys: Keys, kms: Any) -> None:
    key = keys("ECC_NIST_P256", "KEY_AGREEMENT")
    derive = kms.derive_shared_secret
    code, _ = error_of(
        derive, KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=b"InvalidPublicKey"
    )
    assert code == "ValidationException"
    other_curve = ec.generate_private_key(ec.SECP384R1()).public_key()
    der = other_curve.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    code, message = error_of(
        derive, KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=der
    )
    assert code == "ValidationException" and "curve" in message
    signing = keys("ECC_NIST_P256", "SIGN_VERIFY")
    assert error_of(
        derive, KeyId=signing["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=der
    ) == (
        "InvalidKeyUsageException",
        f"{signing['Arn']} key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret.",
    )


def test_the_aws_cli(server: InProcessServer, keys: Keys, kms: Any, tmp_path: Path) -> None:
    aws = aws_cli(server, server.credentials(DEV_ACCOUNT, "carol"))

    def run(*args: str) -> dict[str, Any]:
        done = aws(*args)
        assert done.returncode == 0, done.stderr
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    rsa_key = keys("RSA_2048", "ENCRYPT_DECRYPT")["KeyId"]
    (tmp_path / "plain").write_bytes(b"for the cli")
    encrypted = run("encrypt", "--key-id", rsa_key, "--plaintext", f"fileb://{tmp_path / 'plain'}",
                    "--encryption-algorithm", "RSAES_OAEP_SHA_256")  # fmt: skip
    (tmp_path / "blob").write_bytes(base64.b64decode(encrypted["CiphertextBlob"]))
    decrypted = run("decrypt", "--key-id", rsa_key, "--ciphertext-blob", f"fileb://{tmp_path / 'blob'}",
                    "--encryption-algorithm", "RSAES_OAEP_SHA_256")  # fmt: skip
    assert base64.b64decode(decrypted["Plaintext"]) == b"for the cli"
    pair = run(
        "generate-data-key-pair",
        "--key-id",
        _symmetric(kms)["KeyId"],
        "--key-pair-spec",
        "ECC_NIST_P384",
    )
    private = serialization.load_der_private_key(
        base64.b64decode(pair["PrivateKeyPlaintext"]), None
    )
    assert isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name == "secp384r1"
    agreement = keys("ECC_NIST_P384", "KEY_AGREEMENT")["KeyId"]
    (tmp_path / "peer.der").write_bytes(base64.b64decode(pair["PublicKey"]))
    derived = run("derive-shared-secret", "--key-id", agreement, "--key-agreement-algorithm", "ECDH",
                  "--public-key", f"fileb://{tmp_path / 'peer.der'}")  # fmt: skip
    expected = private.exchange(ec.ECDH(), keys.public("ECC_NIST_P384", "KEY_AGREEMENT"))
    assert base64.b64decode(derived["SharedSecret"]) == expected
    refused = aws("encrypt", "--key-id", rsa_key, "--plaintext", f"fileb://{tmp_path / 'plain'}")
    assert refused.returncode != 0 and "InvalidKeyUsageException" in refused.stderr
