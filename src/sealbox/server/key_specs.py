"""The key specs Sealbox serves: which KeyUsage each allows, how long its material is,
and the algorithms DescribeKey lists for it.

AWS's asymmetric and post-quantum specs are known here so that CreateKey can tell
"not supported yet" from "no such spec".
"""

from __future__ import annotations

from dataclasses import dataclass

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
GENERATE_VERIFY_MAC = "GENERATE_VERIFY_MAC"


@dataclass(frozen=True)
class KeySpec:
    name: str
    usages: tuple[str, ...]
    material_bytes: int
    #: DescribeKey's algorithm lists: (field, algorithms)
    algorithms: tuple[str, tuple[str, ...]]

    @property
    def mac_algorithm(self) -> str | None:
        field, names = self.algorithms
        return names[0] if field == "MacAlgorithms" else None

    @property
    def rotates(self) -> bool:
        """Automatic and on-demand rotation are for symmetric encryption keys only."""
        return self.name == SYMMETRIC_DEFAULT


SPECS: dict[str, KeySpec] = {
    SYMMETRIC_DEFAULT: KeySpec(
        SYMMETRIC_DEFAULT, (ENCRYPT_DECRYPT,), 32, ("EncryptionAlgorithms", (SYMMETRIC_DEFAULT,))
    ),
    **{
        f"HMAC_{bits}": KeySpec(
            f"HMAC_{bits}",
            (GENERATE_VERIFY_MAC,),
            bits // 8,
            ("MacAlgorithms", (f"HMAC_SHA_{bits}",)),
        )
        for bits in (224, 256, 384, 512)
    },
}

#: Specs AWS offers that Sealbox does not serve yet.
NOT_YET = frozenset(
    (
        "RSA_2048",
        "RSA_3072",
        "RSA_4096",
        "ECC_NIST_P256",
        "ECC_NIST_P384",
        "ECC_NIST_P521",
        "ECC_SECG_P256K1",
        "ML_DSA_44",
        "ML_DSA_65",
        "ML_DSA_87",
        "SM2",
    )
)


def spec_of(name: str) -> KeySpec:
    """The spec of a stored key (every stored key has one of ``SPECS``)."""
    return SPECS[name]
