"""AWS's exact error answers (code and message), one row per case recorded from real AWS.

Source of every row: LocalStack's snapshot tests/aws/services/kms/test_kms.snapshot.json,
whose responses were recorded against AWS (2023-2025); a row names the snapshot entry it
reproduces. Enumeration lists are compared up to their '[': AWS lists the values in an
order of its own. Cases where AWS answers without a message are left out on purpose:
Sealbox keeps a helpful message there."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sealbox.server import lifecycle
from tests.server.harness import DEV_ACCOUNT, REGION, InProcessServer, build_service, error_of

WEST = "eu-west-1"
UUID = "134f2428-cec1-4b25-a1ae-9048164dba47"
MRK = "mrk-d3b95762d3b95762d3b95762d3b95762"
PREFIX = f"arn:aws:kms:{REGION}:{DEV_ACCOUNT}:key/"


@dataclass(frozen=True)
class World:
    """Clients and keys the cases use (key ARNs unless said otherwise)."""

    kms: Any
    west: Any
    symmetric: str
    other: str
    hmac_224: str
    rsa_sign: str
    rsa_encrypt: str
    ecc_sign: str
    ecc_agreement_public: bytes
    pending_import: str
    disabled: str
    rotated_out: str  # has had every on-demand rotation it may have
    west_key_id: str  # a key id of eu-west-1
    west_arn: str
    replica_arn: str  # an mrk- replica in eu-west-1
    blob: bytes  # a ciphertext under ``symmetric``


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    server = InProcessServer(build_service(tmp_path_factory.mktemp("wording")))
    try:
        credentials = server.credentials(DEV_ACCOUNT, "alice")
        kms, west = server.client(credentials), server.client(credentials, WEST)

        def arn(**kwargs: Any) -> str:
            made: str = kms.create_key(**kwargs)["KeyMetadata"]["Arn"]
            return made

        agreement = arn(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")
        disabled, rotated_out = arn(), arn()
        kms.disable_key(KeyId=disabled)
        for _ in range(lifecycle.ON_DEMAND_ROTATION_LIMIT):
            kms.rotate_key_on_demand(KeyId=rotated_out)
        west_key = west.create_key()["KeyMetadata"]
        mrk = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        replica = kms.replicate_key(KeyId=mrk, ReplicaRegion=WEST)["ReplicaKeyMetadata"]["Arn"]
        symmetric = arn()
        yield World(
            kms=kms,
            west=west,
            symmetric=symmetric,
            other=arn(),
            hmac_224=arn(KeySpec="HMAC_224", KeyUsage="GENERATE_VERIFY_MAC"),
            rsa_sign=arn(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY"),
            rsa_encrypt=arn(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT"),
            ecc_sign=arn(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"),
            ecc_agreement_public=kms.get_public_key(KeyId=agreement)["PublicKey"],
            pending_import=arn(Origin="EXTERNAL"),
            disabled=disabled,
            rotated_out=rotated_out,
            west_key_id=west_key["KeyId"],
            west_arn=west_key["Arn"],
            replica_arn=replica,
            blob=kms.encrypt(KeyId=symmetric, Plaintext=b"x")["CiphertextBlob"],
        )
    finally:
        server.stop()


def _wrapped_material(w: World) -> dict[str, Any]:
    """An import request for ``pending_import`` that is valid but for its expiration."""
    parameters = w.kms.get_parameters_for_import(
        KeyId=w.pending_import, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    public = serialization.load_der_public_key(parameters["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return {
        "KeyId": w.pending_import,
        "ImportToken": parameters["ImportToken"],
        "EncryptedKeyMaterial": public.encrypt(os.urandom(32), oaep),
    }


def _usage(arn: str, usage: str, operation: str) -> str:
    return f"{arn} key usage is {usage} which is not valid for {operation}."


def _enum(value: str, member: str) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        "constraint: Member must satisfy enum value set: ["
    )


def _too_long(value: str, member: str, limit: int) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must have length less than or equal to {limit}"
    )


def _tags(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"TagKey": k, "TagValue": v} for k, v in pairs]


Call = Callable[[World], tuple[Callable[..., Any], dict[str, Any]]]
Expected = Callable[[World], str]
# (id: the snapshot entry; the call; code; message: one ending in '[' is a prefix)
CASES: list[tuple[str, Call, str, Expected]] = [
    ("generate-random-exc[None]", lambda w: (w.kms.generate_random, {}),
     "ValidationException", lambda w: "NumberOfBytes is required."),
    ("generate-random-exc[0]", lambda w: (w.kms.generate_random, {"NumberOfBytes": 0}),
     "ValidationException", lambda w: "1 validation error detected: Value '0' at "
     "'numberOfBytes' failed to satisfy constraint: Member must have value greater than or "
     "equal to 1"),
    ("generate-random-exc[1025]", lambda w: (w.kms.generate_random, {"NumberOfBytes": 1025}),
     "ValidationException", lambda w: "1 validation error detected: Value '1025' at "
     "'numberOfBytes' failed to satisfy constraint: Member must have value less than or "
     "equal to 1024"),
    ("plaintext-size[RSA_2048-RSAES_OAEP_SHA_1]", lambda w: (w.kms.encrypt, {
        "KeyId": w.rsa_encrypt, "Plaintext": bytes(215),
        "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}),
     "ValidationException", lambda w: "Algorithm RSAES_OAEP_SHA_1 and key spec RSA_2048 "
     "cannot encrypt data larger than 214 bytes."),
    ("plaintext-size[RSA_2048-RSAES_OAEP_SHA_256]", lambda w: (w.kms.encrypt, {
        "KeyId": w.rsa_encrypt, "Plaintext": bytes(191),
        "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}),
     "ValidationException", lambda w: "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 "
     "cannot encrypt data larger than 190 bytes."),
    ("describe-key-diff-region-with-id", lambda w: (w.kms.describe_key, {
        "KeyId": w.west_key_id}),
     "NotFoundException", lambda w: f"Key '{PREFIX}{w.west_key_id}' does not exist"),
    ("describe-key-diff-region-with-arn", lambda w: (w.kms.describe_key, {"KeyId": w.west_arn}),
     "NotFoundException", lambda w: f"Invalid arn {WEST}"),
    ("describe-nonexistent-key-with-id", lambda w: (w.kms.describe_key, {"KeyId": UUID}),
     "NotFoundException", lambda w: f"Key '{PREFIX}{UUID}' does not exist"),
    ("describe-nonexistent-with-arn", lambda w: (w.kms.describe_key, {
        "KeyId": PREFIX + UUID}),
     "NotFoundException", lambda w: f"Key '{PREFIX}{UUID}' does not exist"),
    ("describe-key-with-valid-id-mrk", lambda w: (w.kms.describe_key, {"KeyId": MRK}),
     "NotFoundException", lambda w: f"Key '{PREFIX}{MRK}' does not exist"),
    ("describe-key-with-invalid-uuid", lambda w: (w.kms.describe_key, {"KeyId": "fake-key-id"}),
     "NotFoundException", lambda w: "Invalid keyId 'fake-key-id'"),
    ("describe-key-with-invalid-uuid-2", lambda w: (w.kms.describe_key, {
        "KeyId": UUID.replace("-", "")}),
     "NotFoundException", lambda w: f"Invalid keyId '{UUID.replace('-', '')}'"),
    ("describe-key-with-invalid-uuid-mrk", lambda w: (w.kms.describe_key, {
        "KeyId": "mrk-fake-key-id"}),
     "NotFoundException", lambda w: "Invalid keyId 'mrk-fake-key-id'"),
    ("create_alias", lambda w: (w.kms.create_alias, {
        "AliasName": "my-alias", "TargetKeyId": w.symmetric}),
     "ValidationException", lambda w: 'Alias must start with the prefix "alias/". Please see '
     "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"),
    ("bad-digest[ECC_NIST_P256-ECDSA_SHA_256]", lambda w: (w.kms.sign, {
        "KeyId": w.ecc_sign, "Message": bytes(31), "MessageType": "DIGEST",
        "SigningAlgorithm": "ECDSA_SHA_256"}),
     "ValidationException", lambda w: "Digest is invalid length for algorithm ECDSA_SHA_256."),
    ("create-hmac-key-without-key-usage", lambda w: (w.kms.create_key, {"KeySpec": "HMAC_256"}),
     "ValidationException", lambda w: "You must specify a KeyUsage value for all KMS keys "
     "except for symmetric encryption keys."),
    ("create-hmac-key-invalid-spec", lambda w: (w.kms.create_key, {
        "KeySpec": "HMAC_random", "KeyUsage": "GENERATE_VERIFY_MAC"}),
     "ValidationException", lambda w: _enum("HMAC_random", "keySpec")),
    ("create-hmac-key-invalid-key-usage", lambda w: (w.kms.create_key, {
        "KeySpec": "HMAC_256", "KeyUsage": "RANDOM"}),
     "ValidationException", lambda w: _enum("RANDOM", "keyUsage")),
    ("generate-mac-invalid-key-id", lambda w: (w.kms.generate_mac, {
        "KeyId": "key_id", "Message": b"m", "MacAlgorithm": "HMAC_SHA_224"}),
     "NotFoundException", lambda w: "Invalid keyId 'key_id'"),
    ("verify-mac-invalid-key-id", lambda w: (w.kms.verify_mac, {
        "KeyId": "key_id", "Message": b"m", "MacAlgorithm": "HMAC_SHA_224", "Mac": bytes(28)}),
     "NotFoundException", lambda w: "Invalid keyId 'key_id'"),
    ("invalid_generate_mac[HMAC_224-HMAC_SHA_256]", lambda w: (w.kms.generate_mac, {
        "KeyId": w.hmac_224, "Message": b"m", "MacAlgorithm": "HMAC_SHA_256"}),
     "InvalidKeyUsageException",
     lambda w: "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224."),
    ("invalid_generate_mac[INVALID]", lambda w: (w.kms.generate_mac, {
        "KeyId": w.hmac_224, "Message": b"m", "MacAlgorithm": "INVALID"}),
     "ValidationException", lambda w: _enum("INVALID", "macAlgorithm")),
    ("invalid_verify_mac[HMAC_SHA_512]", lambda w: (w.kms.verify_mac, {
        "KeyId": w.hmac_224, "Message": b"m", "MacAlgorithm": "HMAC_SHA_512", "Mac": bytes(64)}),
     "InvalidKeyUsageException",
     lambda w: "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_224."),
    ("encrypt-before-import-error", lambda w: (w.kms.encrypt, {
        "KeyId": w.pending_import, "Plaintext": b"x"}),
     "KMSInvalidStateException", lambda w: f"{w.pending_import} is pending import."),
    ("import-expiring-key-without-valid-to",
     lambda w: (w.kms.import_key_material, _wrapped_material(w)),
     "ValidationException",
     lambda w: "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"),
    ("generate-mac-invalid-key-usage", lambda w: (w.kms.generate_mac, {
        "KeyId": w.symmetric, "Message": b"m", "MacAlgorithm": "HMAC_SHA_224"}),
     "InvalidKeyUsageException", lambda w: _usage(w.symmetric, "ENCRYPT_DECRYPT", "GenerateMac")),
    ("sign-invalid-key-id", lambda w: (w.kms.sign, {
        "KeyId": w.hmac_224, "Message": b"m", "SigningAlgorithm": "RSASSA_PSS_SHA_256"}),
     "InvalidKeyUsageException", lambda w: _usage(w.hmac_224, "GENERATE_VERIFY_MAC", "Sign")),
    ("verify-invalid-key-id", lambda w: (w.kms.verify, {
        "KeyId": w.symmetric, "Message": b"m", "Signature": b"random text",
        "SigningAlgorithm": "ECDSA_SHA_256"}),
     "InvalidKeyUsageException", lambda w: _usage(w.symmetric, "ENCRYPT_DECRYPT", "Verify")),
    ("encrypt-invalid-key-id", lambda w: (w.kms.encrypt, {
        "KeyId": w.rsa_sign, "Plaintext": b"x"}),
     "InvalidKeyUsageException", lambda w: _usage(w.rsa_sign, "SIGN_VERIFY", "Encrypt")),
    ("decrypt-invalid-key-id", lambda w: (w.kms.decrypt, {
        "CiphertextBlob": w.blob, "KeyId": w.hmac_224}),
     "IncorrectKeyException", lambda w: "The key ID in the request does not identify a CMK "
     "that can perform this operation."),
    ("incorrect-source-key", lambda w: (w.kms.re_encrypt, {
        "CiphertextBlob": w.blob, "SourceKeyId": w.other, "DestinationKeyId": w.other}),
     "IncorrectKeyException", lambda w: "The key ID in the request does not identify a CMK "
     "that can perform this operation."),
    ("invalid-plaintext-size-encrypt", lambda w: (w.kms.encrypt, {
        "KeyId": w.symmetric, "Plaintext": bytes(4097)}),
     "ValidationException", lambda w: "1 validation error detected: Value at 'plaintext' "
     "failed to satisfy constraint: Member must have length less than or equal to 4096"),
    ("get_parameters_for_import response-error", lambda w: (w.kms.get_parameters_for_import, {
        "KeyId": w.symmetric, "WrappingAlgorithm": "RSAES_OAEP_SHA_256",
        "WrappingKeySpec": "RSA_4096"}),
     "UnsupportedOperationException",
     lambda w: f"{w.symmetric} origin is AWS_KMS which is not valid for this operation."),
    ("response-invalid-key-usage", lambda w: (w.kms.derive_shared_secret, {
        "KeyId": w.ecc_sign, "KeyAgreementAlgorithm": "ECDH",
        "PublicKey": w.ecc_agreement_public}),
     "InvalidKeyUsageException",
     lambda w: _usage(w.ecc_sign, "SIGN_VERIFY", "DeriveSharedSecret")),
    ("response-invalid-key-spec", lambda w: (w.kms.create_key, {
        "KeySpec": "RSA_2048", "KeyUsage": "KEY_AGREEMENT"}),
     "ValidationException", lambda w: "KeyUsage KEY_AGREEMENT is not compatible with KeySpec "
     "RSA_2048"),
    ("response-invalid-key-agreement-algo", lambda w: (w.kms.derive_shared_secret, {
        "KeyId": w.ecc_sign, "KeyAgreementAlgorithm": "INVALID",
        "PublicKey": w.ecc_agreement_public}),
     "ValidationException", lambda w: _enum("INVALID", "keyAgreementAlgorithm") + "ECDH]"),
    ("response-invalid-key", lambda w: (w.kms.derive_shared_secret, {
        "KeyId": w.symmetric, "KeyAgreementAlgorithm": "ECDH",
        "PublicKey": w.ecc_agreement_public}),
     "InvalidKeyUsageException",
     lambda w: _usage(w.symmetric, "ENCRYPT_DECRYPT", "DeriveSharedSecret")),
    ("duplicate-tag-keys", lambda w: (w.kms.tag_resource, {
        "KeyId": w.symmetric, "Tags": _tags(("tag1", "value1"), ("tag1", "another-value1"))}),
     "TagException", lambda w: "Duplicate tag keys"),
    ("too-many-tags", lambda w: (w.kms.create_key, {
        "Tags": _tags(*((f"key{i}", f"value{i}") for i in range(51)))}),
     "TagException", lambda w: "Too many tags"),
    ("tag_existing_key_with_invalid_tag_key", lambda w: (w.kms.tag_resource, {
        "KeyId": w.symmetric, "Tags": _tags(("aws:key1", "value1"))}),
     "TagException", lambda w: "Tags beginning with aws: are reserved"),
    ("create_key_with_invalid_tag_key[uppercase_prefix]", lambda w: (w.kms.create_key, {
        "Tags": _tags(("AWS:key1", "value1"))}),
     "TagException", lambda w: "Tags beginning with aws: are reserved"),
    ("create_key_with_invalid_tag_key[too_long_key]", lambda w: (w.kms.create_key, {
        "Tags": _tags(("a" * 129, "value1"))}),
     "ValidationException", lambda w: _too_long("a" * 129, "tags.1.member.tagKey", 128)),
    ("too-long-tag-value", lambda w: (w.kms.create_key, {"Tags": _tags(("tag1", "v" * 257))}),
     "ValidationException", lambda w: _too_long("v" * 257, "tags.1.member.tagValue", 256)),
    ("rotate_key_on_demand disabled", lambda w: (w.kms.rotate_key_on_demand, {
        "KeyId": w.disabled}),
     "DisabledException", lambda w: f"{w.disabled} is disabled."),
    ("rotate_key_on_demand does not exist", lambda w: (w.kms.rotate_key_on_demand, {
        "KeyId": UUID}),
     "NotFoundException", lambda w: f"Key '{PREFIX}{UUID}' does not exist"),
    ("key_rotations_limits", lambda w: (w.kms.rotate_key_on_demand, {"KeyId": w.rotated_out}),
     "LimitExceededException", lambda w: "The on-demand rotations limit has been reached for "
     f"the given keyId. No more on-demand rotations can be performed for this key: "
     f"{w.rotated_out}"),
    ("generate_data_key_pair_dry_run", lambda w: (w.kms.generate_data_key_pair, {
        "KeyId": w.symmetric, "KeyPairSpec": "ECC_NIST_P256", "DryRun": True}),
     "DryRunOperationException",
     lambda w: "The request would have succeeded, but the DryRun option is set."),
    ("fail-replicate-non-primary-key", lambda w: (w.west.replicate_key, {
        "KeyId": w.replica_arn, "ReplicaRegion": WEST}),
     "UnsupportedOperationException",
     lambda w: f"{w.replica_arn} is not a multi-region primary key."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_aws_recorded_answer(world: World, call: Call, code: str, message: Expected) -> None:
    method, params = call(world)
    got_code, got_message = error_of(method, **params)
    expected = message(world)
    assert got_code == code
    if expected.endswith("["):  # an enumeration: AWS's order of the values is its own
        assert got_message.startswith(expected)
    else:
        assert got_message == expected
