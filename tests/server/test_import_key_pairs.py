"""Imported key material for key pairs and HMAC keys: the openssl flow of docs/kms.md run
as written (openssl and the aws CLI), a private key of every key spec wrapped with each
wrapping algorithm and then used, HMAC known answers, and AWS's refusals."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, padding, rsa

from tests.server.harness import (
    AWS,
    DEV_ACCOUNT,
    REGION,
    InProcessServer,
    error_of,
    module_kms,
    module_server,
)
from tests.server.test_import import import_material, wrap

DOCS = Path(__file__).resolve().parents[2] / "docs" / "kms.md"
ECC_VARIANT = {  # the docs' RSA_2048 flow -> its ECC_NIST_P256 variant, as the docs say
    "KEY_SPEC=RSA_2048": "KEY_SPEC=ECC_NIST_P256",
    "SIGNING_ALGORITHM=RSASSA_PKCS1_V1_5_SHA_256": "SIGNING_ALGORITHM=ECDSA_SHA_256",
    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out private.pem": (
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out private.pem"
    ),
}
CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
ECDSA = {"ECC_NIST_P384": hashes.SHA384, "ECC_NIST_P521": hashes.SHA512}
ML_DSA: dict[str, Callable[[], Any]] = {
    "ML_DSA_44": mldsa.MLDSA44PrivateKey.generate,
    "ML_DSA_65": mldsa.MLDSA65PrivateKey.generate,
    "ML_DSA_87": mldsa.MLDSA87PrivateKey.generate,
}
ALGORITHMS = {"ENCRYPT_DECRYPT": "EncryptionAlgorithms", "SIGN_VERIFY": "SigningAlgorithms"}
ALGORITHMS["KEY_AGREEMENT"] = "KeyAgreementAlgorithms"
HMAC = {"HMAC_224": (hashlib.sha224, 28, 64), "HMAC_256": (hashlib.sha256, 32, 64)}
HMAC |= {"HMAC_384": (hashlib.sha384, 48, 128), "HMAC_512": (hashlib.sha512, 64, 128)}


server = module_server("byok-pairs")
kms = module_kms


def generate(spec: str) -> Any:
    if spec.startswith("RSA_"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(spec[4:]))
    if spec in CURVES:
        return ec.generate_private_key(CURVES[spec]())
    return ML_DSA[spec]()


def pkcs8(private: Any) -> bytes:
    return bytes(
        private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def spki(private: Any) -> bytes:
    return bytes(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def external(kms: Any, spec: str, usage: str) -> dict[str, Any]:
    made: dict[str, Any] = kms.create_key(Origin="EXTERNAL", KeySpec=spec, KeyUsage=usage)[
        "KeyMetadata"
    ]
    return made


def documented_flow() -> str:
    """The shell block of docs/kms.md's import section, exactly as a reader copies it."""
    found = re.search(r"```sh\n(# Bring your own key pair.*?)```", DOCS.read_text(), re.S)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256"])
def test_the_documented_openssl_flow(
    server: InProcessServer, kms: Any, tmp_path: Path, spec: str
) -> None:
    script = documented_flow()
    if spec != "RSA_2048":
        for rsa_line, ecc_line in ECC_VARIANT.items():
            assert script.count(rsa_line) == 1 and ecc_line in DOCS.read_text()
            script = script.replace(rsa_line, ecc_line)
    credentials = server.credentials(DEV_ACCOUNT, "docs")
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "PATH": f"{Path(AWS).parent}{os.pathsep}{os.environ['PATH']}",
        "AWS_ENDPOINT_URL_KMS": server.endpoint,
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script + 'echo "KEY_ID=$KEY_ID"\n'],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Verified OK" in done.stdout
    key_id = re.findall(r"KEY_ID=(\S+)", done.stdout)[-1]
    described = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (described["KeySpec"], described["Origin"], described["KeyState"]) == (
        spec,
        "EXTERNAL",
        "Enabled",
    )
    assert described["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert "CurrentKeyMaterialId" not in described  # as AWS: symmetric keys only
    private = serialization.load_der_private_key((tmp_path / "key.der").read_bytes(), None)
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == spki(private)


def _check_usable(kms: Any, key: dict[str, Any], private: Any) -> None:
    """The key does its usage's work with the imported private key."""
    spec, usage, key_id = key["KeySpec"], key["KeyUsage"], key["KeyId"]
    message = b"imported and working"
    if usage == "ENCRYPT_DECRYPT":
        oaep = padding.OAEP(
            mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None
        )
        blob = kms.encrypt(
            KeyId=key_id, Plaintext=message, EncryptionAlgorithm="RSAES_OAEP_SHA_256"
        )
        assert private.decrypt(blob["CiphertextBlob"], oaep) == message
        mine = private.public_key().encrypt(message, oaep)
        opened = kms.decrypt(
            KeyId=key_id, CiphertextBlob=mine, EncryptionAlgorithm="RSAES_OAEP_SHA_256"
        )
        assert opened["Plaintext"] == message
    elif usage == "KEY_AGREEMENT":
        peer = ec.generate_private_key(CURVES[spec]())
        derived = kms.derive_shared_secret(
            KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=spki(peer)
        )
        assert derived["SharedSecret"] == peer.exchange(ec.ECDH(), private.public_key())
        assert derived["KeyOrigin"] == "EXTERNAL"
    else:
        algorithm = key["SigningAlgorithms"][0]
        signature = kms.sign(
            KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm=algorithm
        )["Signature"]
        public = private.public_key()
        if spec in ML_DSA:
            public.verify(signature, message)
        elif spec.startswith("RSA_"):
            public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            public.verify(signature, message, ec.ECDSA(ECDSA.get(spec, hashes.SHA256)()))
        verified = kms.verify(
            KeyId=key_id,
            Message=message,
            MessageType="RAW",
            Signature=signature,
            SigningAlgorithm=algorithm,
        )
        assert verified["SignatureValid"] is True
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == spki(private)


@pytest.mark.parametrize(
    ("spec", "usage", "algorithm", "wrapping_spec"),
    [
        ("RSA_2048", "ENCRYPT_DECRYPT", "RSA_AES_KEY_WRAP_SHA_1", "RSA_2048"),
        ("RSA_3072", "SIGN_VERIFY", "RSA_AES_KEY_WRAP_SHA_256", "RSA_3072"),
        ("RSA_4096", "SIGN_VERIFY", "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"),
        ("ECC_NIST_P384", "KEY_AGREEMENT", "RSAES_OAEP_SHA_256", "RSA_2048"),
        ("ECC_NIST_P521", "SIGN_VERIFY", "RSAES_OAEP_SHA_1", "RSA_3072"),
        ("ECC_SECG_P256K1", "SIGN_VERIFY", "RSA_AES_KEY_WRAP_SHA_1", "RSA_2048"),
        ("ML_DSA_44", "SIGN_VERIFY", "RSAES_OAEP_SHA_256", "RSA_2048"),
        ("ML_DSA_65", "SIGN_VERIFY", "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"),
        ("ML_DSA_87", "SIGN_VERIFY", "RSAES_OAEP_SHA_1", "RSA_2048"),
    ],
)
def test_a_private_key_of_every_spec_imports_and_works(
    kms: Any, spec: str, usage: str, algorithm: str, wrapping_spec: str
) -> None:
    key = external(kms, spec, usage)
    assert key["KeyState"] == "PendingImport"
    pending = f"{key['Arn']} is pending import."
    assert error_of(kms.get_public_key, KeyId=key["KeyId"]) == ("KMSInvalidStateException", pending)
    private = generate(spec)
    imported = import_material(
        kms, key["KeyId"], pkcs8(private), algorithm=algorithm, spec=wrapping_spec
    )
    _check_usable(kms, key, private)

    # deleted, the key waits for the same material; reimported, it works again
    kms.delete_imported_key_material(KeyId=key["KeyId"])
    described = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert described["KeyState"] == "PendingImport" and "ExpirationModel" not in described
    field = ALGORITHMS[usage]  # listed from the spec, material or not
    assert key[field] and described[field] == key[field]
    assert error_of(kms.get_public_key, KeyId=key["KeyId"]) == ("KMSInvalidStateException", pending)
    again = import_material(
        kms, key["KeyId"], pkcs8(private), algorithm=algorithm, spec=wrapping_spec
    )
    assert again["KeyMaterialId"] == imported["KeyMaterialId"]
    _check_usable(kms, key, private)


def test_hmac_material_gives_pythons_hmac(kms: Any) -> None:
    message = b"known answer"
    for spec, (digest, shortest, longest) in HMAC.items():
        for size, algorithm in (
            (shortest, "RSAES_OAEP_SHA_256"),
            (longest, "RSA_AES_KEY_WRAP_SHA_1"),
        ):
            key = external(kms, spec, "GENERATE_VERIFY_MAC")["KeyId"]
            material = os.urandom(size)
            import_material(kms, key, material, algorithm=algorithm)
            mac_algorithm = f"HMAC_SHA_{spec[5:]}"
            mac = kms.generate_mac(KeyId=key, Message=message, MacAlgorithm=mac_algorithm)["Mac"]
            assert mac == hmac.new(material, message, digest).digest()
            verified = kms.verify_mac(
                KeyId=key, Message=message, Mac=mac, MacAlgorithm=mac_algorithm
            )
            assert verified["MacValid"] is True


def _refusal(kms: Any, key: str, material: bytes, **options: Any) -> tuple[str, str]:
    """ImportKeyMaterial's error for ``material`` (RSAES_OAEP_SHA_256 unless ``algorithm``)."""
    algorithm = options.pop("algorithm", "RSAES_OAEP_SHA_256")
    parameters = kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm=algorithm, WrappingKeySpec=options.pop("spec", "RSA_2048")
    )
    return error_of(
        kms.import_key_material,
        KeyId=key,
        ImportToken=parameters["ImportToken"],
        EncryptedKeyMaterial=wrap(parameters["PublicKey"], algorithm, material),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        **options,
    )


@pytest.mark.parametrize("spec", sorted(HMAC))
def test_hmac_material_out_of_range_is_refused(kms: Any, spec: str) -> None:
    key = external(kms, spec, "GENERATE_VERIFY_MAC")["KeyId"]
    _, shortest, longest = HMAC[spec]
    for size in (shortest - 1, longest + 1):
        assert _refusal(kms, key, os.urandom(size), algorithm="RSA_AES_KEY_WRAP_SHA_256") == (
            "IncorrectKeyMaterialException",
            f"{spec} key material must be {shortest} to {longest} bytes long, not {size}.",
        )
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_material_of_another_spec_or_form_is_refused(kms: Any) -> None:
    def wrong(spec: str) -> str:
        return f"The key material is not a DER-encoded PKCS#8 private key of key spec {spec}."

    p256 = external(kms, "ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]
    p384 = pkcs8(generate("ECC_NIST_P384"))
    assert _refusal(kms, p256, p384) == ("IncorrectKeyMaterialException", wrong("ECC_NIST_P256"))
    secg = pkcs8(generate("ECC_SECG_P256K1"))  # the same size, another curve
    assert _refusal(kms, p256, secg) == ("IncorrectKeyMaterialException", wrong("ECC_NIST_P256"))
    sec1 = generate("ECC_NIST_P256").private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert _refusal(kms, p256, sec1) == ("IncorrectKeyMaterialException", wrong("ECC_NIST_P256"))
    assert _refusal(kms, p256, os.urandom(100))[0] == "IncorrectKeyMaterialException"
    rsa_2048 = external(kms, "RSA_2048", "SIGN_VERIFY")["KeyId"]
    wrap_aes = {"algorithm": "RSA_AES_KEY_WRAP_SHA_256"}
    rsa_3072 = pkcs8(generate("RSA_3072"))
    assert _refusal(kms, rsa_2048, rsa_3072, **wrap_aes)[1] == wrong("RSA_2048")
    pkcs1 = generate("RSA_2048").private_bytes(  # what GitHub and `openssl genrsa` (1.x) give
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert _refusal(kms, rsa_2048, pkcs1, **wrap_aes)[1] == wrong("RSA_2048")
    ml_dsa = external(kms, "ML_DSA_44", "SIGN_VERIFY")["KeyId"]
    assert _refusal(kms, ml_dsa, pkcs8(generate("ML_DSA_65")))[1] == wrong("ML_DSA_44")
    assert _refusal(kms, ml_dsa, p384)[1] == wrong("ML_DSA_44")
    for key in (p256, rsa_2048, ml_dsa):
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_an_rsa_private_key_needs_rsa_aes_key_wrap(kms: Any) -> None:
    key = external(kms, "RSA_2048", "SIGN_VERIFY")["KeyId"]
    material = pkcs8(generate("RSA_2048"))
    parameters = kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_4096"
    )
    with pytest.raises(ValueError):  # 1,190-odd bytes: more than RSA-OAEP encrypts (446)
        wrap(parameters["PublicKey"], "RSAES_OAEP_SHA_256", material)
    # what fits under RSAES_OAEP is refused as AWS refuses bad material, with the reason
    code, message = _refusal(kms, key, material[:400], spec="RSA_4096")
    assert code == "IncorrectKeyMaterialException"
    assert message == (
        "RSA private key material can be imported only with the wrapping algorithm "
        "RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256, not RSAES_OAEP_SHA_256."
    )
    import_material(kms, key, material, algorithm="RSA_AES_KEY_WRAP_SHA_1")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


@pytest.mark.parametrize(
    ("spec", "usage"), [("ECC_NIST_P256", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC")]
)
def test_asymmetric_and_hmac_material_never_changes(kms: Any, spec: str, usage: str) -> None:
    key = external(kms, spec, usage)
    arn = key["Arn"]

    def material() -> bytes:
        return pkcs8(generate(spec)) if spec in CURVES else os.urandom(32)

    first = material()
    import_material(kms, key["KeyId"], first, ImportType="NEW_KEY_MATERIAL")
    never = (
        "UnsupportedOperationException",
        f"{arn} has key spec {spec}: its key material cannot change after the first import. "
        "Reimport the same key material (ImportType EXISTING_KEY_MATERIAL).",
    )
    assert _refusal(kms, arn, material(), ImportType="NEW_KEY_MATERIAL") == never
    assert _refusal(kms, arn, first, ImportType="NEW_KEY_MATERIAL") == never
    code, message = _refusal(kms, arn, material())  # ImportType omitted: EXISTING_KEY_MATERIAL
    assert code == "IncorrectKeyMaterialException" and "previously imported" in message
    for name, value in (("KeyMaterialId", "0" * 64), ("KeyMaterialDescription", "mine")):
        assert _refusal(kms, arn, first, **{name: value}) == (
            "UnsupportedOperationException",
            f"{name} is only usable with symmetric encryption keys; {arn} has key spec {spec}.",
        )
    # deleted material is still the key's: only it comes back
    kms.delete_imported_key_material(KeyId=arn)
    assert _refusal(kms, arn, material(), ImportType="NEW_KEY_MATERIAL") == never
    import_material(kms, arn, first, ImportType="EXISTING_KEY_MATERIAL")
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
    assert error_of(kms.rotate_key_on_demand, KeyId=arn)[0] == "UnsupportedOperationException"
