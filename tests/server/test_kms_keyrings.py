"""KMS keyrings against a live Sealbox service: strict and discovery, two regions,
two accounts, grant tokens, and round trips with the official aws-encryption-sdk."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

import sealbox
from sealbox.errors import ErrorCode, KeyringError, NoDecryptableKeyError, UsageError
from sealbox.keyrings import (
    AwsKmsDiscoveryKeyring,
    AwsKmsKeyring,
    DiscoveryFilter,
    MultiKeyring,
    RawAESKeyring,
)
from tests.helpers import quiet_reference
from tests.server.harness import (
    DEV_ACCOUNT,
    OTHER_ACCOUNT,
    REGION,
    Credentials,
    InProcessServer,
    error_of,
    kms_client,
)

WEST = "us-west-2"


def supplier(server: InProcessServer, credentials: Credentials) -> Any:
    clients: dict[str | None, Any] = {}

    def client_for(region: str | None) -> Any:
        if region not in clients:
            clients[region] = kms_client(server.endpoint, credentials, region or REGION)
        return clients[region]

    return client_for


def decrypt_calls(server: InProcessServer) -> list[str]:
    """The keyId of every Decrypt request the service answered, in order."""
    rows = server.service.store.audit.query(event_name="Decrypt")
    return [json.loads(row.record)["requestParameters"]["keyId"] for row in rows]


def event_count(server: InProcessServer, event_name: str) -> int:
    return sum(1 for _ in server.service.store.audit.query(event_name=event_name))


@pytest.fixture
def alice(server: InProcessServer) -> Credentials:
    return server.credentials(DEV_ACCOUNT, "alice")


@pytest.fixture
def keys(server: InProcessServer, alice: Credentials) -> dict[str, str]:
    east = kms_client(server.endpoint, alice, REGION)
    west = kms_client(server.endpoint, alice, WEST)
    keys = {
        "east": east.create_key()["KeyMetadata"]["Arn"],
        "west": west.create_key()["KeyMetadata"]["Arn"],
    }
    east.create_alias(AliasName="alias/orders", TargetKeyId=keys["east"])
    return keys


client = sealbox.EncryptionClient()


def test_generator_and_additional_key_in_two_regions(
    server: InProcessServer, alice: Credentials, keys: dict[str, str]
) -> None:
    clients = supplier(server, alice)
    keyring = AwsKmsKeyring(
        generator_key_id=keys["east"], key_ids=[keys["west"]], client_supplier=clients
    )
    message, header = client.encrypt(
        source=b"two regions", keyring=keyring, encryption_context={"order": "17"}
    )
    assert [(e.provider_id, e.provider_info.decode()) for e in header.encrypted_data_keys] == [
        ("aws-kms", keys["east"]),
        ("aws-kms", keys["west"]),
    ]
    # Either key alone opens the message; only the configured key is asked.
    only_west = AwsKmsKeyring(key_ids=[keys["west"]], client_supplier=clients)
    assert client.decrypt(source=message, keyring=only_west)[0] == b"two regions"
    assert decrypt_calls(server) == [keys["west"]]
    assert client.decrypt(source=message, keyring=keyring)[0] == b"two regions"
    assert decrypt_calls(server)[-1] == keys["east"]


def test_the_encryption_context_is_bound_by_kms(
    server: InProcessServer, alice: Credentials, keys: dict[str, str]
) -> None:
    keyring = AwsKmsKeyring(generator_key_id=keys["east"], client_supplier=supplier(server, alice))
    _, header = client.encrypt(source=b"x", keyring=keyring, encryption_context={"tenant": "a"})
    generated = json.loads(
        next(server.service.store.audit.query(event_name="GenerateDataKey")).record
    )
    sent = generated["requestParameters"]["encryptionContext"]
    assert sent["tenant"] == "a" and "aws-crypto-public-key" in sent
    edk = header.encrypted_data_keys[0]
    direct = kms_client(server.endpoint, alice)
    assert (
        error_of(direct.decrypt, CiphertextBlob=edk.ciphertext)[0] == "InvalidCiphertextException"
    )
    assert (
        direct.decrypt(CiphertextBlob=edk.ciphertext, EncryptionContext=sent)["KeyId"]
        == keys["east"]
    )


def test_an_alias_encrypts_but_strict_decrypt_says_to_use_the_key_arn(
    server: InProcessServer, alice: Credentials, keys: dict[str, str]
) -> None:
    clients = supplier(server, alice)
    by_alias = AwsKmsKeyring(generator_key_id="alias/orders", client_supplier=clients)
    message, header = client.encrypt(source=b"aliased", keyring=by_alias)
    assert header.encrypted_data_keys[0].provider_info.decode() == keys["east"]
    with pytest.raises(NoDecryptableKeyError) as caught:
        client.decrypt(source=message, keyring=by_alias)
    text = str(caught.value)
    assert "'alias/orders' is not a key ARN" in text
    assert "arn:aws:kms:REGION:ACCOUNT:key/ID" in text and "AwsKmsDiscoveryKeyring" in text
    assert keys["east"] in text  # and which key the message can be opened with
    assert decrypt_calls(server) == []
    by_arn = AwsKmsKeyring(generator_key_id=keys["east"], client_supplier=clients)
    assert client.decrypt(source=message, keyring=by_arn)[0] == b"aliased"


@pytest.fixture
def two_accounts(server: InProcessServer, alice: Credentials) -> tuple[str, str]:
    """A key in the dev account and one in another account whose policy lets the dev account in."""
    ours = kms_client(server.endpoint, alice).create_key()["KeyMetadata"]["Arn"]
    theirs_admin = kms_client(server.endpoint, server.credentials(OTHER_ACCOUNT, "owner"))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{DEV_ACCOUNT}:root"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
            },
        ],
    }
    theirs = theirs_admin.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    return ours, theirs


def test_discovery_decrypts_with_the_key_each_edk_names_within_its_filter(
    server: InProcessServer, alice: Credentials, two_accounts: tuple[str, str]
) -> None:
    ours, theirs = two_accounts
    clients = supplier(server, alice)
    message, _ = client.encrypt(
        source=b"shared",
        keyring=AwsKmsKeyring(generator_key_id=theirs, key_ids=[ours], client_supplier=clients),
    )
    unfiltered = AwsKmsDiscoveryKeyring(client_supplier=clients)
    assert client.decrypt(source=message, keyring=unfiltered)[0] == b"shared"
    assert decrypt_calls(server) == [theirs]  # the first EDK, in wire order

    only_ours = AwsKmsDiscoveryKeyring(
        discovery_filter=DiscoveryFilter(account_ids=[DEV_ACCOUNT], partition="aws"),
        client_supplier=clients,
    )
    assert client.decrypt(source=message, keyring=only_ours)[0] == b"shared"
    assert decrypt_calls(server) == [theirs, ours]  # the other account's key was never asked

    nobody = AwsKmsDiscoveryKeyring(
        discovery_filter=DiscoveryFilter(account_ids=["999999999999"]), client_supplier=clients
    )
    with pytest.raises(NoDecryptableKeyError, match="the discovery filter excludes") as caught:
        client.decrypt(source=message, keyring=nobody)
    assert theirs in str(caught.value) and ours in str(caught.value)
    other_partition = AwsKmsDiscoveryKeyring(
        discovery_filter=DiscoveryFilter(account_ids=[DEV_ACCOUNT], partition="aws-cn"),
        client_supplier=clients,
    )
    with pytest.raises(NoDecryptableKeyError, match="excludes"):
        client.decrypt(source=message, keyring=other_partition)
    assert len(decrypt_calls(server)) == 2


def test_a_refused_kms_call_is_reported_with_the_next_key_tried(
    server: InProcessServer, alice: Credentials, two_accounts: tuple[str, str]
) -> None:
    ours, theirs = two_accounts
    clients = supplier(server, alice)
    message, _ = client.encrypt(
        source=b"fallback",
        keyring=AwsKmsKeyring(generator_key_id=theirs, key_ids=[ours], client_supplier=clients),
    )
    kms_client(server.endpoint, server.credentials(OTHER_ACCOUNT, "owner")).disable_key(
        KeyId=theirs
    )
    keyring = AwsKmsKeyring(key_ids=[theirs, ours], client_supplier=clients)
    assert client.decrypt(source=message, keyring=keyring)[0] == b"fallback"
    kms_client(server.endpoint, alice).disable_key(KeyId=ours)
    with pytest.raises(NoDecryptableKeyError) as caught:
        client.decrypt(source=message, keyring=AwsKmsDiscoveryKeyring(client_supplier=clients))
    causes = [str(c) for c in caught.value.causes]
    assert len(causes) == 2
    assert all("DisabledException" in c for c in causes), causes


def test_discovery_inside_a_multi_keyring(
    server: InProcessServer, alice: Credentials, keys: dict[str, str]
) -> None:
    raw = RawAESKeyring(key_namespace="app", key_name="k", wrapping_key=bytes(32))
    clients = supplier(server, alice)
    from_raw, _ = client.encrypt(source=b"raw", keyring=raw)
    from_kms, _ = client.encrypt(
        source=b"kms", keyring=AwsKmsKeyring(generator_key_id=keys["west"], client_supplier=clients)
    )
    either = MultiKeyring(children=[AwsKmsDiscoveryKeyring(client_supplier=clients), raw])
    assert client.decrypt(source=from_raw, keyring=either)[0] == b"raw"
    assert client.decrypt(source=from_kms, keyring=either)[0] == b"kms"
    with pytest.raises(KeyringError, match="cannot encrypt") as caught:
        client.encrypt(source=b"x", keyring=AwsKmsDiscoveryKeyring(client_supplier=clients))
    assert caught.value.code is ErrorCode.NO_ENCRYPTION_KEY


def test_grant_tokens_reach_kms(
    server: InProcessServer, alice: Credentials, keys: dict[str, str]
) -> None:
    bob = server.credentials(DEV_ACCOUNT, "bob", admin=False)
    token = kms_client(server.endpoint, alice).create_grant(
        KeyId=keys["east"],
        GranteePrincipal=bob.arn,
        Operations=["GenerateDataKey", "Decrypt"],
    )["GrantToken"]
    bobs = supplier(server, bob)
    keyring = AwsKmsKeyring(
        generator_key_id=keys["east"], grant_tokens=[token], client_supplier=bobs
    )
    message, _ = client.encrypt(source=b"granted", keyring=keyring)
    assert client.decrypt(source=message, keyring=keyring)[0] == b"granted"
    forged = AwsKmsKeyring(
        generator_key_id=keys["east"], grant_tokens=["not-a-token"], client_supplier=bobs
    )
    with pytest.raises(KeyringError, match="InvalidGrantTokenException") as caught:
        client.encrypt(source=b"x", keyring=forged)
    assert caught.value.code is ErrorCode.KMS_ERROR


def test_configuration_errors_are_caught_when_the_keyring_is_built() -> None:
    with pytest.raises(UsageError, match="needs generator_key_id, key_ids, or both"):
        AwsKmsKeyring()
    with pytest.raises(UsageError, match="not a KMS ARN"):
        AwsKmsKeyring(generator_key_id="arn:aws:kms:us-east-1:key/x")
    with pytest.raises(UsageError, match="not one str"):
        AwsKmsKeyring(key_ids="arn:aws:kms:us-east-1:111122223333:key/x")
    with pytest.raises(UsageError, match="at least one account"):
        DiscoveryFilter(account_ids=[])
    with pytest.raises(UsageError, match="at most 10 grant tokens"):
        AwsKmsKeyring(generator_key_id="alias/a", grant_tokens=["t"] * 11)


@pytest.fixture
def aws_environment(
    server: InProcessServer, alice: Credentials, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Point every boto3 client made from here on at the service, as a user would."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", alice.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", alice.secret_access_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield


@pytest.mark.usefixtures("aws_environment")
def test_messages_cross_between_sealbox_and_the_official_sdk(keys: dict[str, str]) -> None:
    ref = quiet_reference()
    reference_client = ref.EncryptionSDKClient()
    provider = ref.StrictAwsKmsMasterKeyProvider(key_ids=[keys["east"], keys["west"]])
    ours = AwsKmsKeyring(generator_key_id=keys["east"], key_ids=[keys["west"]])
    context = {"purpose": "interop", "n": "1"}

    theirs_message, _ = reference_client.encrypt(
        source=b"from the reference", key_provider=provider, encryption_context=context
    )
    plaintext, header = client.decrypt(source=theirs_message, keyring=ours)
    assert plaintext == b"from the reference" and header.encryption_context["purpose"] == "interop"
    assert client.decrypt(source=theirs_message, keyring=AwsKmsDiscoveryKeyring())[0] == plaintext

    for algorithm in (None, sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY):
        our_message, _ = client.encrypt(
            source=b"from sealbox", keyring=ours, encryption_context=context, algorithm=algorithm
        )
        opened, their_header = reference_client.decrypt(source=our_message, key_provider=provider)
        assert opened == b"from sealbox"
        assert their_header.encryption_context["n"] == "1"
        discovery = ref.DiscoveryAwsKmsMasterKeyProvider()
        assert reference_client.decrypt(source=our_message, key_provider=discovery)[0] == opened


def test_a_cache_hit_makes_no_kms_call(
    server: InProcessServer, alice: Credentials, keys: dict[str, str]
) -> None:
    keyring = AwsKmsKeyring(generator_key_id=keys["east"], client_supplier=supplier(server, alice))
    cmm = sealbox.CachingCryptoMaterialsManager(
        cache=sealbox.LocalCryptoMaterialsCache(100),
        keyring=keyring,
        max_age=600,
        max_messages_encrypted=25,
    )
    messages = [
        client.encrypt(
            source=b"cached %d" % n, materials_manager=cmm, encryption_context={"t": "1"}
        )[0]
        for n in range(100)
    ]
    assert event_count(server, "GenerateDataKey") == 4  # 100 messages, 25 per data key
    for n, message in enumerate(messages):
        assert client.decrypt(source=message, materials_manager=cmm)[0] == b"cached %d" % n
    assert event_count(server, "Decrypt") == 4  # one per distinct data key
