"""Signing keys (RSA, ECC, ML-DSA with KeyUsage SIGN_VERIFY): CreateKey's rules, GetPublicKey,
and Sign/Verify with every signing algorithm, RAW, DIGEST and EXTERNAL_MU messages, each
signature checked outside Sealbox (openssl and pyca, with the key GetPublicKey returns)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, padding, utils

from tests.server.asymmetric_support import Keys, openssl
from tests.server.harness import DEV_ACCOUNT, InProcessServer, aws_cli, build_service, error_of

SIGNING = {
    **{
        (f"RSA_{bits}", f"{scheme}_SHA_{sha}"): sha
        for bits in (2048, 3072, 4096)
        for scheme in ("RSASSA_PSS", "RSASSA_PKCS1_V1_5")
        for sha in (256, 384, 512)
    },
    ("ECC_NIST_P256", "ECDSA_SHA_256"): 256,
    ("ECC_NIST_P384", "ECDSA_SHA_384"): 384,
    ("ECC_NIST_P521", "ECDSA_SHA_512"): 512,
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"): 256,
}
PYCA_HASH: dict[int, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    256: hashes.SHA256,
    384: hashes.SHA384,
    512: hashes.SHA512,
}
MESSAGE = b"release 1.2.3 \x00\xff"


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("signing")


@pytest.fixture(scope="module")
def server(directory: Path) -> Iterator[InProcessServer]:
    running = InProcessServer(build_service(directory))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def kms(server: InProcessServer) -> Any:
    return server.client(server.credentials(DEV_ACCOUNT, "alice"))


@pytest.fixture(scope="module")
def keys(kms: Any) -> Keys:
    return Keys(kms)


def _pyca_verify(public: Any, algorithm: str, sha: int, signature: bytes, message: bytes) -> None:
    digest = PYCA_HASH[sha]()
    if algorithm.startswith("ECDSA"):
        public.verify(signature, message, ec.ECDSA(digest))
    elif algorithm.startswith("RSASSA_PSS"):
        public.verify(
            signature, message, padding.PSS(padding.MGF1(digest), digest.digest_size), digest
        )
    else:
        public.verify(signature, message, padding.PKCS1v15(), digest)


def _openssl_verify(pem: Path, algorithm: str, sha: int, signature: bytes, tmp: Path) -> bool:
    (tmp / "message").write_bytes(MESSAGE)
    (tmp / "signature").write_bytes(signature)
    pss = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"]
    options = pss if algorithm.startswith("RSASSA_PSS") else []
    done = openssl("dgst", f"-sha{sha}", *options, "-verify", str(pem),
                   "-signature", str(tmp / "signature"), str(tmp / "message"))  # fmt: skip
    return done.returncode == 0 and b"Verified OK" in done.stdout


@pytest.mark.parametrize(("spec", "algorithm"), sorted(SIGNING))
def test_every_signing_algorithm_verifies_outside(
    keys: Keys, kms: Any, tmp_path: Path, spec: str, algorithm: str
) -> None:
    key = keys(spec, "SIGN_VERIFY")
    assert algorithm in key["SigningAlgorithms"] and "EncryptionAlgorithms" not in key
    sha = SIGNING[spec, algorithm]
    public, pem = keys.public(spec, "SIGN_VERIFY"), keys.public_pem(spec, "SIGN_VERIFY", tmp_path)
    digest = hashlib.new(f"sha{sha}", MESSAGE).digest()
    for message, message_type in ((MESSAGE, "RAW"), (digest, "DIGEST")):
        signed = kms.sign(KeyId=key["KeyId"], Message=message, MessageType=message_type,
                          SigningAlgorithm=algorithm)  # fmt: skip
        assert (signed["KeyId"], signed["SigningAlgorithm"]) == (key["Arn"], algorithm)
        signature = signed["Signature"]
        _pyca_verify(public, algorithm, sha, signature, MESSAGE)
        assert _openssl_verify(pem, algorithm, sha, signature, tmp_path)
        # a signature of either message type verifies as the other (the same digest is signed)
        for other, other_type in ((MESSAGE, "RAW"), (digest, "DIGEST")):
            assert kms.verify(KeyId=key["KeyId"], Message=other, MessageType=other_type,
                              Signature=signature, SigningAlgorithm=algorithm)["SignatureValid"]  # fmt: skip
        forged = bytes([signature[0] ^ 1]) + signature[1:]
        assert error_of(kms.verify, KeyId=key["KeyId"], Message=MESSAGE, Signature=forged,
                        SigningAlgorithm=algorithm)[0] == "KMSInvalidSignatureException"  # fmt: skip
        with pytest.raises(InvalidSignature):
            _pyca_verify(public, algorithm, sha, signature, MESSAGE + b"!")


def test_ecdsa_signatures_are_der(keys: Keys, kms: Any) -> None:
    key = keys("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]
    signature = kms.sign(KeyId=key, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    r, s = utils.decode_dss_signature(signature)  # raises unless DER SEQUENCE { r, s }
    assert utils.encode_dss_signature(r, s) == signature


@pytest.mark.parametrize("level", [44, 65, 87])
def test_ml_dsa_raw_and_external_mu_verify_with_pyca(keys: Keys, kms: Any, level: int) -> None:
    spec = f"ML_DSA_{level}"
    key = keys(spec, "SIGN_VERIFY")
    assert key["SigningAlgorithms"] == ["ML_DSA_SHAKE_256"]
    public = keys.public(spec, "SIGN_VERIFY")
    assert isinstance(public, getattr(mldsa, f"MLDSA{level}PublicKey"))
    raw = kms.sign(KeyId=key["KeyId"], Message=MESSAGE, SigningAlgorithm="ML_DSA_SHAKE_256")
    public.verify(raw["Signature"], MESSAGE)
    hasher = mldsa.MLDSAMuHasher(public)
    hasher.update(MESSAGE)
    mu = hasher.finalize()
    external = kms.sign(KeyId=key["KeyId"], Message=mu, MessageType="EXTERNAL_MU",
                        SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]  # fmt: skip
    public.verify(external, MESSAGE)  # signing mu is signing the message
    assert kms.verify(KeyId=key["KeyId"], Message=MESSAGE, Signature=external,
                      SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"]  # fmt: skip
    assert error_of(kms.sign, KeyId=key["KeyId"], Message=hashlib.sha256(MESSAGE).digest(),
                    MessageType="DIGEST", SigningAlgorithm="ML_DSA_SHAKE_256") == (
        "ValidationException", f"Message type DIGEST is incompatible with key spec {spec}.",
    )  # fmt: skip
    assert error_of(kms.sign, KeyId=key["KeyId"], Message=mu[:32], MessageType="EXTERNAL_MU",
                    SigningAlgorithm="ML_DSA_SHAKE_256") == (
        "ValidationException", "Digest is invalid length for algorithm ML_DSA_SHAKE_256.",
    )  # fmt: skip


def test_aws_answers_for_wrong_requests(keys: Keys, kms: Any) -> None:
    p256 = keys("ECC_NIST_P256", "SIGN_VERIFY")
    rsa = keys("RSA_2048", "SIGN_VERIFY")
    sign = kms.sign
    assert error_of(sign, KeyId=p256["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_384") == (
        "InvalidKeyUsageException",
        "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.",
    )
    assert error_of(sign, KeyId=rsa["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256") == (
        "InvalidKeyUsageException",
        "Algorithm ECDSA_SHA_256 is incompatible with key spec RSA_2048.",
    )
    assert error_of(sign, KeyId=p256["KeyId"], Message=bytes(31), MessageType="DIGEST",
                    SigningAlgorithm="ECDSA_SHA_256") == (
        "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256.",
    )  # fmt: skip
    assert error_of(sign, KeyId=p256["KeyId"], Message=bytes(64), MessageType="EXTERNAL_MU",
                    SigningAlgorithm="ECDSA_SHA_256") == (
        "ValidationException", "Message type EXTERNAL_MU is incompatible with key spec ECC_NIST_P256.",
    )  # fmt: skip
    code, message = error_of(sign, KeyId=p256["KeyId"], Message=bytes(4097),
                             SigningAlgorithm="ECDSA_SHA_256")  # fmt: skip
    assert code == "ValidationException" and "less than or equal to 4096" in message
    assert sign(KeyId=p256["KeyId"], Message=bytes(4096), SigningAlgorithm="ECDSA_SHA_256")
    encrypting = keys("RSA_2048", "ENCRYPT_DECRYPT")
    assert error_of(sign, KeyId=encrypting["KeyId"], Message=b"m",
                    SigningAlgorithm="RSASSA_PSS_SHA_256") == (
        "InvalidKeyUsageException",
        f"{encrypting['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for Sign.",
    )  # fmt: skip
    symmetric = kms.create_key()["KeyMetadata"]
    assert error_of(kms.verify, KeyId=symmetric["KeyId"], Message=b"m", Signature=b"s",
                    SigningAlgorithm="ECDSA_SHA_256")[0] == "InvalidKeyUsageException"  # fmt: skip
    assert error_of(kms.get_public_key, KeyId=symmetric["KeyId"])[0] == (
        "UnsupportedOperationException"
    )
    # asymmetric keys take no part in symmetric operations and do not rotate
    assert error_of(kms.generate_data_key, KeyId=p256["KeyId"], KeySpec="AES_256")[0] == (
        "InvalidKeyUsageException"
    )
    assert error_of(kms.enable_key_rotation, KeyId=p256["KeyId"])[0] == (
        "UnsupportedOperationException"
    )
    assert kms.get_key_rotation_status(KeyId=p256["KeyId"])["KeyRotationEnabled"] is False


@pytest.mark.parametrize(
    ("spec", "usage"),
    [
        ("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
        ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
        ("RSA_2048", "KEY_AGREEMENT"),
        ("ML_DSA_65", "ENCRYPT_DECRYPT"),
        ("RSA_3072", "GENERATE_VERIFY_MAC"),
    ],
)
def test_create_key_refuses_usages_the_spec_lacks(kms: Any, spec: str, usage: str) -> None:
    assert error_of(kms.create_key, KeySpec=spec, KeyUsage=usage) == (
        "ValidationException",
        f"KeyUsage {usage} is not compatible with KeySpec {spec}",
    )
    assert error_of(kms.create_key, KeySpec=spec) == (
        "ValidationException",
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
    )


def test_get_public_key_and_describe_key_fields(keys: Keys, kms: Any) -> None:
    for spec, usage, field, algorithms in [
        ("RSA_2048", "ENCRYPT_DECRYPT", "EncryptionAlgorithms", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
        ("ECC_NIST_P384", "KEY_AGREEMENT", "KeyAgreementAlgorithms", ["ECDH"]),
        ("ECC_NIST_P384", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_384"]),
    ]:  # fmt: skip
        key = keys(spec, usage)
        public = kms.get_public_key(KeyId=key["KeyId"])
        shown = {k: v for k, v in public.items() if k not in ("ResponseMetadata", "PublicKey")}
        assert shown == {"KeyId": key["Arn"], "KeySpec": spec, "CustomerMasterKeySpec": spec,
                         "KeyUsage": usage, field: algorithms}  # fmt: skip
        assert key[field] == algorithms and "CurrentKeyMaterialId" not in key
        assert keys.public(spec, usage) is not None  # DER SubjectPublicKeyInfo
    disabled = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.disable_key(KeyId=disabled["KeyId"])
    assert error_of(kms.get_public_key, KeyId=disabled["KeyId"]) == (
        "DisabledException",
        f"{disabled['Arn']} is disabled.",
    )
    assert error_of(kms.sign, KeyId=disabled["KeyId"], Message=b"m",
                    SigningAlgorithm="ECDSA_SHA_256")[0] == "DisabledException"  # fmt: skip


def test_private_keys_are_stored_only_wrapped(
    server: InProcessServer, keys: Keys, directory: Path
) -> None:
    key = keys("ECC_NIST_P256", "SIGN_VERIFY")
    entry = server.service.key(key["KeyId"])
    assert entry is not None and entry.record.current_material_id is not None
    der = server.service.material(entry, entry.record.current_material_id)
    assert der is not None and der.startswith(b"\x30")
    stored = b"".join(path.read_bytes() for path in directory.rglob("*") if path.is_file())
    assert len(stored) > 0 and der not in stored and der[-32:] not in stored


def test_policies_grants_and_audit_cover_signing(
    server: InProcessServer, keys: Keys, kms: Any
) -> None:
    key = keys("ECC_NIST_P256", "SIGN_VERIFY")
    bob = server.credentials(DEV_ACCOUNT, "bob", admin=False)
    as_bob = server.client(bob)
    call = {"KeyId": key["KeyId"], "Message": b"m", "SigningAlgorithm": "ECDSA_SHA_256"}
    assert error_of(as_bob.sign, **call)[0] == "AccessDeniedException"
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=f"arn:aws:iam::{DEV_ACCOUNT}:user/bob",
                             Operations=["Sign", "GetPublicKey"])  # fmt: skip
    assert as_bob.sign(**call)["Signature"]
    assert as_bob.get_public_key(KeyId=key["KeyId"])["PublicKey"]
    assert error_of(as_bob.verify, **call, Signature=b"s")[0] == "AccessDeniedException"
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=grant["GrantId"])
    server.put_user_policy(DEV_ACCOUNT, "bob", "pss-only", [
        {"Effect": "Allow", "Action": "kms:Sign", "Resource": "*",
         "Condition": {"StringEquals": {"kms:SigningAlgorithm": "RSASSA_PSS_SHA_256",
                                        "kms:MessageType": "DIGEST"}}},
    ])  # fmt: skip
    assert error_of(as_bob.sign, **call)[0] == "AccessDeniedException"
    rsa = keys("RSA_2048", "SIGN_VERIFY")["KeyId"]
    digest = hashlib.sha256(b"m").digest()
    assert as_bob.sign(KeyId=rsa, Message=digest, MessageType="DIGEST",
                       SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]  # fmt: skip
    assert error_of(as_bob.sign, KeyId=rsa, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")[
        0
    ] == ("AccessDeniedException")
    audit = server.service.store.audit
    for name in ("Sign", "Verify", "GetPublicKey"):
        assert list(audit.query(event_name=name)), f"no audit record of {name}"


def test_the_aws_cli_signs_and_openssl_verifies(
    server: InProcessServer, keys: Keys, tmp_path: Path
) -> None:
    key = keys("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]
    aws = aws_cli(server, server.credentials(DEV_ACCOUNT, "carol"))
    (tmp_path / "message").write_bytes(MESSAGE)
    message = f"fileb://{tmp_path / 'message'}"
    signed = aws(
        "sign", "--key-id", key, "--message", message, "--signing-algorithm", "ECDSA_SHA_256"
    )
    assert signed.returncode == 0, signed.stderr
    signature = base64.b64decode(json.loads(signed.stdout)["Signature"])
    public = aws("get-public-key", "--key-id", key)
    assert public.returncode == 0, public.stderr
    der = base64.b64decode(json.loads(public.stdout)["PublicKey"])
    (tmp_path / "public.der").write_bytes(der)
    pem = openssl("pkey", "-pubin", "-inform", "DER", "-in", str(tmp_path / "public.der"))
    assert pem.returncode == 0, pem.stderr
    (tmp_path / "public.pem").write_bytes(pem.stdout)
    assert _openssl_verify(tmp_path / "public.pem", "ECDSA_SHA_256", 256, signature, tmp_path)
    (tmp_path / "signature").write_bytes(signature)
    ok = aws("verify", "--key-id", key, "--message", message, "--signing-algorithm", "ECDSA_SHA_256",
             "--signature", f"fileb://{tmp_path / 'signature'}")  # fmt: skip
    assert ok.returncode == 0 and json.loads(ok.stdout)["SignatureValid"] is True
    (tmp_path / "forged").write_bytes(bytes(72))
    bad = aws("verify", "--key-id", key, "--message", message, "--signing-algorithm", "ECDSA_SHA_256",
              "--signature", f"fileb://{tmp_path / 'forged'}")  # fmt: skip
    assert bad.returncode != 0 and "KMSInvalidSignatureException" in bad.stderr
