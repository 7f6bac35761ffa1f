"""The key specs Sealbox serves: which KeyUsage each allows, the algorithms DescribeKey lists
for each usage, and what kind of material backs it.

AWS's specs that Sealbox does not serve are known here so that CreateKey can tell
"not supported" from "no such spec".
"""

from __future__ import annotations

from dataclasses import dataclass

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
GENERATE_VERIFY_MAC = "GENERATE_VERIFY_MAC"
SIGN_VERIFY = "SIGN_VERIFY"
KEY_AGREEMENT = "KEY_AGREEMENT"

RSA_ENCRYPTION = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
RSA_SIGNING = (
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
)

#: the field of DescribeKey and GetPublicKey that lists a usage's algorithms
ALGORITHM_FIELDS = {
    ENCRYPT_DECRYPT: "EncryptionAlgorithms",
    SIGN_VERIFY: "SigningAlgorithms",
    GENERATE_VERIFY_MAC: "MacAlgorithms",
    KEY_AGREEMENT: "KeyAgreementAlgorithms",
}


@dataclass(frozen=True)
class KeySpec:
    name: str
    #: "symmetric", "hmac", "rsa", "ecc" or "ml-dsa"
    family: str
    #: KeyUsage -> the algorithms a key of that usage offers
    usages: dict[str, tuple[str, ...]]
    #: bytes of random material (symmetric and HMAC keys); 0 for key pairs
    material_bytes: int = 0

    def algorithms(self, usage: str) -> tuple[str, tuple[str, ...]]:
        """DescribeKey's (field, algorithms) for a key of this spec and ``usage``."""
        return ALGORITHM_FIELDS[usage], self.usages[usage]

    @property
    def asymmetric(self) -> bool:
        return self.family in ("rsa", "ecc", "ml-dsa")

    @property
    def rotates(self) -> bool:
        """Automatic and on-demand rotation are for symmetric encryption keys only."""
        return self.name == SYMMETRIC_DEFAULT

    @property
    def costly(self) -> bool:
        """Private-key operations cost milliseconds of CPU: run them in the work pool."""
        return self.family in ("rsa", "ml-dsa")


def _specs(*specs: KeySpec) -> dict[str, KeySpec]:
    return {spec.name: spec for spec in specs}


_ECDSA = {"P256": "ECDSA_SHA_256", "P384": "ECDSA_SHA_384", "P521": "ECDSA_SHA_512"}

SPECS: dict[str, KeySpec] = _specs(
    KeySpec(SYMMETRIC_DEFAULT, "symmetric", {ENCRYPT_DECRYPT: (SYMMETRIC_DEFAULT,)}, 32),
    *(
        KeySpec(f"HMAC_{bits}", "hmac", {GENERATE_VERIFY_MAC: (f"HMAC_SHA_{bits}",)}, bits // 8)
        for bits in (224, 256, 384, 512)
    ),
    *(
        KeySpec(f"RSA_{bits}", "rsa", {ENCRYPT_DECRYPT: RSA_ENCRYPTION, SIGN_VERIFY: RSA_SIGNING})
        for bits in (2048, 3072, 4096)
    ),
    *(
        KeySpec(
            f"ECC_NIST_{curve}",
            "ecc",
            {SIGN_VERIFY: (algorithm,), KEY_AGREEMENT: ("ECDH",)},
        )
        for curve, algorithm in _ECDSA.items()
    ),
    KeySpec("ECC_SECG_P256K1", "ecc", {SIGN_VERIFY: ("ECDSA_SHA_256",)}),
    *(
        KeySpec(f"ML_DSA_{level}", "ml-dsa", {SIGN_VERIFY: ("ML_DSA_SHAKE_256",)})
        for level in (44, 65, 87)
    ),
)

#: Specs AWS offers that Sealbox does not serve: what CreateKey adds to AWS's answer
#: ("KeySpec X is not supported in this Region", which AWS gives for SM2 outside China).
NOT_SERVED = {
    "SM2": "",
    "ECC_NIST_EDWARDS25519": " (Sealbox does not offer Ed25519 keys yet)",
    **dict.fromkeys(
        ("ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"),
        " (Sealbox does not offer ML-KEM keys, Encapsulate and Decapsulate yet)",
    ),
}


def spec_of(name: str) -> KeySpec:
    """The spec of a stored key (every stored key has one of ``SPECS``)."""
    return SPECS[name]
