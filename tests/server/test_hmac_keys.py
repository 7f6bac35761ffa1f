"""HMAC keys (HMAC_224 … HMAC_512, GENERATE_VERIFY_MAC): CreateKey, DescribeKey,
GenerateMac and VerifyMac through boto3 and the aws CLI, with AWS's rules: the key's one
MAC algorithm, messages up to 4,096 bytes, no encryption and no rotation, policies and
grants for the two new actions, and an audit record of each call."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.server.harness import (
    DEV_ACCOUNT,
    InProcessServer,
    aws_cli,
    error_of,
    module_kms,
    module_server,
)

SPECS = {"HMAC_224": hashlib.sha224, "HMAC_256": hashlib.sha256}
SPECS |= {"HMAC_384": hashlib.sha384, "HMAC_512": hashlib.sha512}


server = module_server("hmac")
kms = module_kms


def _hmac_key(kms: Any, spec: str = "HMAC_256") -> dict[str, Any]:
    metadata: dict[str, Any] = kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")[
        "KeyMetadata"
    ]
    return metadata


def _material(server: InProcessServer, key_id: str) -> bytes:
    """The key's material, read inside the service (never through the API)."""
    entry = server.service.key(key_id)
    assert entry is not None and entry.record.current_material_id is not None
    material = server.service.material(entry, entry.record.current_material_id)
    assert material is not None
    return material


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_known_answers_against_python_hmac(server: InProcessServer, kms: Any, spec: str) -> None:
    key = _hmac_key(kms, spec)
    bits = int(spec.split("_")[1])
    algorithm = f"HMAC_SHA_{bits}"
    assert key["KeySpec"] == spec and key["KeyUsage"] == "GENERATE_VERIFY_MAC"
    assert key["MacAlgorithms"] == [algorithm] and "EncryptionAlgorithms" not in key
    material = _material(server, key["KeyId"])
    assert len(material) == bits // 8
    for message in (b"x", os.urandom(4096)):
        answer = kms.generate_mac(KeyId=key["KeyId"], Message=message, MacAlgorithm=algorithm)
        assert answer["Mac"] == hmac.new(material, message, SPECS[spec]).digest()
        assert answer["KeyId"] == key["Arn"] and answer["MacAlgorithm"] == algorithm
        verified = kms.verify_mac(
            KeyId=key["KeyId"], Message=message, MacAlgorithm=algorithm, Mac=answer["Mac"]
        )
        assert verified["MacValid"] is True and verified["KeyId"] == key["Arn"]


def test_a_wrong_mac_is_kms_invalid_mac(kms: Any) -> None:
    key = _hmac_key(kms)["KeyId"]
    mac = kms.generate_mac(KeyId=key, Message=b"token", MacAlgorithm="HMAC_SHA_256")["Mac"]
    for forged in (bytes([mac[0] ^ 1]) + mac[1:], mac[:-1], mac + b"\x00"):
        code, _ = error_of(
            kms.verify_mac, KeyId=key, Message=b"token", MacAlgorithm="HMAC_SHA_256", Mac=forged
        )
        assert code == "KMSInvalidMacException"
    other = kms.generate_mac(KeyId=key, Message=b"other", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert (
        error_of(
            kms.verify_mac, KeyId=key, Message=b"token", MacAlgorithm="HMAC_SHA_256", Mac=other
        )[0]
        == "KMSInvalidMacException"
    )


def test_the_keys_rules(kms: Any) -> None:
    key = _hmac_key(kms, "HMAC_384")
    arn = key["Arn"]
    assert error_of(kms.generate_mac, KeyId=arn, Message=b"m", MacAlgorithm="HMAC_SHA_256") == (
        "InvalidKeyUsageException",
        "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_384.",
    )
    assert error_of(kms.encrypt, KeyId=arn, Plaintext=b"p") == (
        "InvalidKeyUsageException",
        f"{arn} key usage is GENERATE_VERIFY_MAC which is not valid for Encrypt.",
    )
    assert error_of(kms.generate_data_key, KeyId=arn, KeySpec="AES_256")[0] == (
        "InvalidKeyUsageException"
    )
    symmetric = kms.create_key()["KeyMetadata"]
    assert error_of(
        kms.generate_mac, KeyId=symmetric["Arn"], Message=b"m", MacAlgorithm="HMAC_SHA_256"
    ) == (
        "InvalidKeyUsageException",
        f"{symmetric['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.",
    )
    assert error_of(kms.enable_key_rotation, KeyId=arn)[0] == "UnsupportedOperationException"
    assert error_of(kms.rotate_key_on_demand, KeyId=arn)[0] == "UnsupportedOperationException"
    assert error_of(kms.list_key_rotations, KeyId=arn)[0] == "UnsupportedOperationException"
    assert kms.get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"] is False
    kms.disable_key(KeyId=arn)
    assert error_of(kms.generate_mac, KeyId=arn, Message=b"m", MacAlgorithm="HMAC_SHA_384")[0] == (
        "DisabledException"
    )
    kms.enable_key(KeyId=arn)
    assert kms.generate_mac(KeyId=arn, Message=b"m", MacAlgorithm="HMAC_SHA_384")["Mac"]
    assert (
        error_of(
            kms.generate_mac, KeyId=arn, Message=b"m", MacAlgorithm="HMAC_SHA_384", DryRun=True
        )[0]
        == "DryRunOperationException"
    )


def test_create_key_refusals(kms: Any) -> None:
    assert error_of(kms.create_key, KeySpec="HMAC_256") == (
        "ValidationException",
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
    )
    assert error_of(kms.create_key, KeySpec="HMAC_256", KeyUsage="ENCRYPT_DECRYPT") == (
        "ValidationException",
        "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec HMAC_256",
    )
    assert error_of(kms.create_key, KeyUsage="GENERATE_VERIFY_MAC")[0] == "ValidationException"
    external = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", Origin="EXTERNAL")
    assert external["KeyMetadata"]["KeyState"] == "PendingImport"  # material: test_import_key_pairs


def test_messages_over_4096_bytes_are_refused_by_the_model(kms: Any) -> None:
    key = _hmac_key(kms)["KeyId"]
    code, _ = error_of(
        kms.generate_mac, KeyId=key, Message=bytes(4097), MacAlgorithm="HMAC_SHA_256"
    )
    assert code == "ValidationException"


def test_policies_grants_and_audit(server: InProcessServer, kms: Any) -> None:
    key = _hmac_key(kms)["Arn"]
    bob = server.credentials(DEV_ACCOUNT, "bob", admin=False)
    as_bob = server.client(bob)
    assert error_of(as_bob.generate_mac, KeyId=key, Message=b"m", MacAlgorithm="HMAC_SHA_256")[
        0
    ] == ("AccessDeniedException")
    grant = kms.create_grant(KeyId=key, GranteePrincipal=bob.arn, Operations=["GenerateMac"])
    mac = as_bob.generate_mac(
        KeyId=key, Message=b"m", MacAlgorithm="HMAC_SHA_256", GrantTokens=[grant["GrantToken"]]
    )["Mac"]
    assert error_of(
        as_bob.verify_mac, KeyId=key, Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=mac
    )[0] == ("AccessDeniedException")
    # kms:MacAlgorithm is set for both operations, as AWS sets it
    server.put_user_policy(
        DEV_ACCOUNT,
        "bob",
        "verify-sha512-only",
        [
            {
                "Effect": "Allow",
                "Action": "kms:VerifyMac",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_512"}},
            }
        ],
    )
    assert error_of(
        as_bob.verify_mac, KeyId=key, Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=mac
    )[0] == ("AccessDeniedException")
    wide = _hmac_key(kms, "HMAC_512")["Arn"]
    wide_mac = kms.generate_mac(KeyId=wide, Message=b"m", MacAlgorithm="HMAC_SHA_512")["Mac"]
    assert as_bob.verify_mac(KeyId=wide, Message=b"m", MacAlgorithm="HMAC_SHA_512", Mac=wide_mac)[
        "MacValid"
    ]
    audit = server.service.store.audit
    for name in ("GenerateMac", "VerifyMac"):
        assert list(audit.query(event_name=name)), f"no audit record of {name}"


def test_the_aws_cli(server: InProcessServer, kms: Any, tmp_path: Path) -> None:
    key = _hmac_key(kms, "HMAC_512")["KeyId"]
    aws = aws_cli(server, server.credentials(DEV_ACCOUNT, "carol"))

    # blobs from files (fileb://): the CLI sends their bytes as they are
    (tmp_path / "message").write_bytes(b"release 1.2.3")
    message = f"fileb://{tmp_path / 'message'}"
    made = aws("generate-mac", "--key-id", key, "--message", message,
               "--mac-algorithm", "HMAC_SHA_512")  # fmt: skip
    assert made.returncode == 0, made.stderr
    (tmp_path / "mac").write_bytes(base64.b64decode(json.loads(made.stdout)["Mac"]))
    ok = aws("verify-mac", "--key-id", key, "--message", message, "--mac-algorithm", "HMAC_SHA_512",
             "--mac", f"fileb://{tmp_path / 'mac'}")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["MacValid"] is True
    (tmp_path / "forged").write_bytes(bytes(64))
    bad = aws("verify-mac", "--key-id", key, "--message", message, "--mac-algorithm", "HMAC_SHA_512",
              "--mac", f"fileb://{tmp_path / 'forged'}")  # fmt: skip
    assert bad.returncode != 0 and "KMSInvalidMacException" in bad.stderr
