"""AwsKmsRsaKeyring against a live Sealbox service (RSA keys, Encrypt/Decrypt with
RSAES_OAEP_SHA_1/256), and both ways with AWS's Material Providers Library when it is
installed (`aws-cryptographic-material-providers`)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import sealbox
from sealbox import Algorithm, CommitmentPolicy
from sealbox.errors import ErrorCode, KeyringError, NoDecryptableKeyError, UsageError
from sealbox.format.header import EncryptedDataKey
from sealbox.keyrings import AwsKmsRsaKeyring, MultiKeyring, RawAESKeyring
from sealbox.keyrings.aws_kms_rsa import EncryptionAlgorithm, mrk_match
from sealbox.keyrings.kms_clients import KmsArn, parse_key_arn
from sealbox.keyrings.raw_rsa import PublicKeyInput
from sealbox.materials import DecryptionMaterials, EncryptionMaterials
from tests.server.harness import (
    DEV_ACCOUNT,
    InProcessServer,
    module_kms,
    module_server,
)

UNSIGNED = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
client = sealbox.EncryptionClient()


server = module_server("kms-rsa")
kms = module_kms


class RsaKey:
    """One KMS RSA encryption key: its ARN and public key (DER, as GetPublicKey gives it)."""

    def __init__(self, kms: Any, spec: str) -> None:
        self.arn: str = kms.create_key(KeySpec=spec, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"][
            "Arn"
        ]
        self.der: bytes = kms.get_public_key(KeyId=self.arn)["PublicKey"]

    @property
    def pem(self) -> bytes:
        return serialization.load_der_public_key(self.der).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def key(kms: Any) -> RsaKey:
    return RsaKey(kms, "RSA_2048")


@pytest.fixture(scope="module")
def other_key(kms: Any) -> RsaKey:
    return RsaKey(kms, "RSA_2048")


def audit_records(server: InProcessServer, event_name: str) -> list[dict[str, Any]]:
    rows = server.service.store.audit.query(event_name=event_name)
    return [json.loads(row.record) for row in rows]


def keyring(
    key: RsaKey, kms: Any, algorithm: EncryptionAlgorithm = "RSAES_OAEP_SHA_256"
) -> AwsKmsRsaKeyring:
    return AwsKmsRsaKeyring(
        key_id=key.arn, encryption_algorithm=algorithm, public_key=key.pem, kms_client=kms
    )


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [
        ("RSA_2048", "RSAES_OAEP_SHA_256"),
        ("RSA_2048", "RSAES_OAEP_SHA_1"),
        ("RSA_3072", "RSAES_OAEP_SHA_256"),
    ],
)
def test_encrypt_needs_only_the_public_key_and_decrypt_asks_kms(
    server: InProcessServer, kms: Any, spec: str, algorithm: EncryptionAlgorithm
) -> None:
    rsa_key = RsaKey(kms, spec)
    encrypt_only = AwsKmsRsaKeyring(
        key_id=rsa_key.arn,
        encryption_algorithm=algorithm,
        public_key=rsa_key.der,
        client_supplier=lambda region: pytest.fail("encrypt must not reach KMS"),
    )
    before = len(audit_records(server, "Decrypt"))
    message, header = client.encrypt(
        source=b"sealed by a public key",
        keyring=encrypt_only,
        encryption_context={"order": "17"},
        algorithm=UNSIGNED,
    )
    (edk,) = header.encrypted_data_keys
    assert (edk.provider_id, edk.provider_info.decode()) == ("aws-kms-rsa", rsa_key.arn)
    assert len(edk.ciphertext) == int(spec[4:]) // 8  # the bare RSA-OAEP output

    decrypting = AwsKmsRsaKeyring(
        key_id=rsa_key.arn, encryption_algorithm=algorithm, kms_client=kms
    )
    assert client.decrypt(source=message, keyring=decrypting)[0] == b"sealed by a public key"
    calls = audit_records(server, "Decrypt")[before:]
    assert len(calls) == 1
    sent = calls[0]["requestParameters"]
    assert sent["keyId"] == rsa_key.arn and sent["encryptionAlgorithm"] == algorithm
    assert "encryptionContext" not in sent  # KMS takes none with an asymmetric key


def test_the_wrapped_key_carries_the_digest_of_the_encryption_context(
    kms: Any, key: RsaKey
) -> None:
    """spec: the SHA-384 of the context serialized as in the header, then the data key."""
    context = {"b": "2", "a": "1"}
    serialized = b"\x00\x02" + b"\x00\x01a\x00\x011" + b"\x00\x01b\x00\x012"  # sorted by key
    for ctx, canonical in ((context, serialized), ({}, b"")):
        _, header = client.encrypt(
            source=b"x", keyring=keyring(key, kms), encryption_context=ctx, algorithm=UNSIGNED
        )
        opened = kms.decrypt(
            KeyId=key.arn,
            CiphertextBlob=header.encrypted_data_keys[0].ciphertext,
            EncryptionAlgorithm="RSAES_OAEP_SHA_256",
        )["Plaintext"]
        assert len(opened) == 48 + 32
        assert opened[:48] == hashlib.sha384(canonical).digest()


def test_a_data_key_wrapped_for_another_context_does_not_decrypt(kms: Any, key: RsaKey) -> None:
    ring = keyring(key, kms)
    wrapped = ring.on_encrypt(EncryptionMaterials(UNSIGNED, {"tenant": "a"}))
    edks = wrapped.encrypted_data_keys
    other = DecryptionMaterials(UNSIGNED, {"tenant": "b"})
    with pytest.raises(NoDecryptableKeyError) as caught:
        ring.on_decrypt(other, edks)
    assert "did not return a data key for this message's algorithm suite and encryption" in str(
        caught.value
    )
    assert other.plaintext_data_key is None
    same = ring.on_decrypt(DecryptionMaterials(UNSIGNED, {"tenant": "a"}), edks)
    assert same.plaintext_data_key == wrapped.plaintext_data_key
    # another suite's key length is refused the same way
    with pytest.raises(NoDecryptableKeyError, match="did not return a data key"):
        ring.on_decrypt(
            DecryptionMaterials(Algorithm.AES_128_GCM_IV12_TAG16, {"tenant": "a"}), edks
        )


def test_signing_suites_are_refused_both_ways(kms: Any, key: RsaKey) -> None:
    ring = keyring(key, kms)
    with pytest.raises(UsageError, match="signing algorithm suite") as caught:
        client.encrypt(source=b"x", keyring=ring)  # the default suite signs
    assert "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384" in str(caught.value)
    assert "algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY" in str(caught.value)
    edks = ring.on_encrypt(EncryptionMaterials(UNSIGNED, {})).encrypted_data_keys
    signed = DecryptionMaterials(Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, {})
    with pytest.raises(NoDecryptableKeyError, match="signing algorithm suite"):
        ring.on_decrypt(signed, edks)


def test_only_edks_of_this_key_are_tried(
    server: InProcessServer, kms: Any, key: RsaKey, other_key: RsaKey
) -> None:
    message, _ = client.encrypt(source=b"x", keyring=keyring(other_key, kms), algorithm=UNSIGNED)
    before = len(audit_records(server, "Decrypt"))
    with pytest.raises(NoDecryptableKeyError, match="none of the message's encrypted data keys"):
        client.decrypt(source=message, keyring=keyring(key, kms))
    assert len(audit_records(server, "Decrypt")) == before

    # an EDK that names this key but was wrapped under another: KMS refuses it
    edk = keyring(other_key, kms).on_encrypt(EncryptionMaterials(UNSIGNED, {}))
    forged = EncryptedDataKey(
        "aws-kms-rsa", key.arn.encode(), edk.encrypted_data_keys[0].ciphertext
    )
    with pytest.raises(NoDecryptableKeyError, match="InvalidCiphertextException"):
        keyring(key, kms).on_decrypt(DecryptionMaterials(UNSIGNED, {}), [forged])

    # spec: an aws-kms-rsa EDK whose provider info is no key ARN fails OnDecrypt
    junk = EncryptedDataKey("aws-kms-rsa", b"alias/not-a-key", b"\x00" * 256)
    with pytest.raises(NoDecryptableKeyError, match="not a KMS key ARN"):
        keyring(key, kms).on_decrypt(DecryptionMaterials(UNSIGNED, {}), [junk, forged])


def test_in_a_multi_keyring_it_wraps_the_generators_data_key(kms: Any, key: RsaKey) -> None:
    raw = RawAESKeyring(key_namespace="app", key_name="k", wrapping_key=bytes(32))
    both = MultiKeyring(generator=raw, children=[keyring(key, kms)])
    message, header = client.encrypt(source=b"both", keyring=both, algorithm=UNSIGNED)
    assert [e.provider_id for e in header.encrypted_data_keys] == ["app", "aws-kms-rsa"]
    assert client.decrypt(source=message, keyring=keyring(key, kms))[0] == b"both"


def test_grant_tokens_reach_kms(server: InProcessServer, kms: Any, key: RsaKey) -> None:
    bob = server.credentials(DEV_ACCOUNT, "bob", admin=False)
    token = kms.create_grant(KeyId=key.arn, GranteePrincipal=bob.arn, Operations=["Decrypt"])[
        "GrantToken"
    ]
    bobs = server.client(bob)
    message, _ = client.encrypt(source=b"granted", keyring=keyring(key, kms), algorithm=UNSIGNED)
    granted = AwsKmsRsaKeyring(
        key_id=key.arn,
        encryption_algorithm="RSAES_OAEP_SHA_256",
        kms_client=bobs,
        grant_tokens=[token],
    )
    assert client.decrypt(source=message, keyring=granted)[0] == b"granted"
    forged = AwsKmsRsaKeyring(
        key_id=key.arn,
        encryption_algorithm="RSAES_OAEP_SHA_256",
        kms_client=bobs,
        grant_tokens=["not-a-token"],
    )
    with pytest.raises(NoDecryptableKeyError, match="InvalidGrantTokenException"):
        client.decrypt(source=message, keyring=forged)


def test_public_keys_as_pem_der_or_pyca_and_configuration_errors(key: RsaKey) -> None:
    loaded = serialization.load_der_public_key(key.der)
    assert isinstance(loaded, rsa.RSAPublicKey)
    publics: list[PublicKeyInput] = [key.pem, key.der, loaded]
    for public in publics:
        ring = AwsKmsRsaKeyring(
            key_id=key.arn, encryption_algorithm="RSAES_OAEP_SHA_1", public_key=public
        )
        assert ring.on_encrypt(EncryptionMaterials(UNSIGNED, {})).encrypted_data_keys
    arn = key.arn
    for bad_id, said in (
        ("alias/orders", "is an alias"),
        (arn.replace(":key/", ":alias/"), "is an alias"),
        (arn.rsplit("/", 1)[1], "not a key ARN"),
        ("", "non-empty"),
    ):
        with pytest.raises(UsageError, match=said):
            AwsKmsRsaKeyring(key_id=bad_id, encryption_algorithm="RSAES_OAEP_SHA_256")
    with pytest.raises(UsageError, match="RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256"):
        AwsKmsRsaKeyring(key_id=arn, encryption_algorithm="SYMMETRIC_DEFAULT")  # type: ignore[arg-type]
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    with pytest.raises(UsageError, match="1024-bit modulus") as caught:
        AwsKmsRsaKeyring(key_id=arn, encryption_algorithm="RSAES_OAEP_SHA_256", public_key=small)
    assert caught.value.code is ErrorCode.INVALID_KEY
    with pytest.raises(UsageError, match="not both"):
        AwsKmsRsaKeyring(
            key_id=arn,
            encryption_algorithm="RSAES_OAEP_SHA_256",
            kms_client=object(),
            client_supplier=lambda region: None,
        )
    no_public = AwsKmsRsaKeyring(key_id=arn, encryption_algorithm="RSAES_OAEP_SHA_256")
    with pytest.raises(KeyringError, match="no public key") as refused:
        no_public.on_encrypt(EncryptionMaterials(UNSIGNED, {}))
    assert refused.value.code is ErrorCode.NO_ENCRYPTION_KEY


def _arn(text: str) -> KmsArn:
    arn = parse_key_arn(text)
    assert arn is not None
    return arn


def test_multi_region_ids_match_across_regions_only() -> None:
    """spec: aws-kms-mrk-match-for-decrypt.md."""
    east = _arn("arn:aws:kms:us-east-1:111122223333:key/mrk-1234")
    assert mrk_match(east, _arn("arn:aws:kms:us-west-2:111122223333:key/mrk-1234"))
    assert not mrk_match(east, _arn("arn:aws:kms:us-west-2:444455556666:key/mrk-1234"))
    assert not mrk_match(east, _arn("arn:aws:kms:us-west-2:111122223333:key/mrk-9999"))
    single = _arn("arn:aws:kms:us-east-1:111122223333:key/1234")
    assert mrk_match(single, single)
    assert not mrk_match(single, _arn("arn:aws:kms:us-west-2:111122223333:key/1234"))


# --- interoperability with AWS's Material Providers Library ---------------------------------


@pytest.fixture(scope="module")
def mpl() -> Any:
    """The MPL's modules (untyped; imported by name so that mypy need not know them). A dev
    dependency: its absence is a failure, not a skip."""
    from importlib import import_module

    client_module = import_module("aws_cryptographic_material_providers.mpl")
    config = import_module("aws_cryptographic_material_providers.mpl.config")
    models = import_module("aws_cryptographic_material_providers.mpl.models")
    providers = client_module.AwsCryptographicMaterialProviders(config.MaterialProvidersConfig())
    return providers, models


class MplKeyring:
    """A Sealbox keyring whose wrapping and unwrapping are done by an MPL keyring,
    so that whole messages cross between the two implementations."""

    def __init__(self, mpl: Any, keyring: Any) -> None:
        self._providers, self._models = mpl
        self._keyring = keyring

    def _suite(self, algorithm: Algorithm) -> Any:
        return self._models.AlgorithmSuiteIdESDK(f"0x{algorithm.suite_id:04X}")

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        assert materials.plaintext_data_key is None  # used alone, as the generator
        theirs = self._providers.initialize_encryption_materials(
            self._models.InitializeEncryptionMaterialsInput(
                algorithm_suite_id=self._suite(materials.algorithm),
                encryption_context=dict(materials.encryption_context),
                required_encryption_context_keys=sorted(materials.required_encryption_context_keys),
            )
        )
        out = self._keyring.on_encrypt(self._models.OnEncryptInput(materials=theirs)).materials
        materials = materials.with_data_key(bytes(out.plaintext_data_key))
        for edk in out.encrypted_data_keys:
            materials = materials.with_encrypted_data_key(
                EncryptedDataKey(
                    edk.key_provider_id, bytes(edk.key_provider_info), bytes(edk.ciphertext)
                )
            )
        return materials

    def on_decrypt(
        self, materials: DecryptionMaterials, encrypted_data_keys: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        theirs = self._providers.initialize_decryption_materials(
            self._models.InitializeDecryptionMaterialsInput(
                algorithm_suite_id=self._suite(materials.algorithm),
                encryption_context=dict(materials.encryption_context),
                required_encryption_context_keys=sorted(materials.required_encryption_context_keys),
            )
        )
        edks = [
            self._models.EncryptedDataKey(
                key_provider_id=e.provider_id,
                key_provider_info=e.provider_info,
                ciphertext=e.ciphertext,
            )
            for e in encrypted_data_keys
        ]
        try:
            out = self._keyring.on_decrypt(
                self._models.OnDecryptInput(materials=theirs, encrypted_data_keys=edks)
            ).materials
        except Exception as error:  # the MPL's own error types
            raise NoDecryptableKeyError(f"the MPL keyring refused: {error!r}") from None
        return materials.with_data_key(bytes(out.plaintext_data_key))


def mpl_keyring(mpl: Any, key: RsaKey, kms: Any, algorithm: EncryptionAlgorithm) -> MplKeyring:
    providers, models = mpl
    made = providers.create_aws_kms_rsa_keyring(
        models.CreateAwsKmsRsaKeyringInput(
            kms_key_id=key.arn, encryption_algorithm=algorithm, public_key=key.pem, kms_client=kms
        )
    )
    return MplKeyring(mpl, made)


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1"])
def test_messages_cross_between_sealbox_and_the_material_providers_library(
    mpl: Any, kms: Any, key: RsaKey, algorithm: EncryptionAlgorithm
) -> None:
    ours = keyring(key, kms, algorithm)
    theirs = mpl_keyring(mpl, key, kms, algorithm)
    context = {"purpose": "interop", "tenant": "ü"}
    legacy = sealbox.EncryptionClient(
        commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )
    for suite, each in ((UNSIGNED, client), (Algorithm.AES_128_GCM_IV12_TAG16_HKDF_SHA256, legacy)):
        from_them, header = each.encrypt(
            source=b"wrapped by the MPL",
            keyring=theirs,
            encryption_context=context,
            algorithm=suite,
        )
        assert header.encrypted_data_keys[0].provider_info == key.arn.encode()
        assert each.decrypt(source=from_them, keyring=ours)[0] == b"wrapped by the MPL"

        from_us, _ = each.encrypt(
            source=b"wrapped by sealbox", keyring=ours, encryption_context=context, algorithm=suite
        )
        assert each.decrypt(source=from_us, keyring=theirs)[0] == b"wrapped by sealbox"

    # each side holds the other to the encryption context it wrapped with
    edks = ours.on_encrypt(EncryptionMaterials(UNSIGNED, {"tenant": "a"})).encrypted_data_keys
    with pytest.raises(NoDecryptableKeyError, match="MPL keyring refused"):
        theirs.on_decrypt(DecryptionMaterials(UNSIGNED, {"tenant": "b"}), edks)
    edks = theirs.on_encrypt(EncryptionMaterials(UNSIGNED, {"tenant": "a"})).encrypted_data_keys
    with pytest.raises(NoDecryptableKeyError, match="encryption context"):
        ours.on_decrypt(DecryptionMaterials(UNSIGNED, {"tenant": "b"}), edks)


def test_the_mpl_also_refuses_signing_suites(mpl: Any, kms: Any, key: RsaKey) -> None:
    theirs = mpl_keyring(mpl, key, kms, "RSAES_OAEP_SHA_256")
    edks = keyring(key, kms).on_encrypt(EncryptionMaterials(UNSIGNED, {})).encrypted_data_keys
    point = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    )
    signed = DecryptionMaterials(
        Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
        {"aws-crypto-public-key": base64.b64encode(point).decode()},
    )
    with pytest.raises(NoDecryptableKeyError, match="asymmetric signing"):
        theirs.on_decrypt(signed, edks)
