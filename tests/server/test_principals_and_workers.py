"""Access keys from the admin CLI, several worker processes, and changes seen everywhere at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.server.harness import Credentials, SubprocessServer, admin, kms_client

WORKERS = 3
TRIALS = 60  # each trial uses a fresh connection, so the kernel spreads them over the workers


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "data", tmp_path / "root.key"


@pytest.fixture
def cluster(store: tuple[Path, Path]) -> Iterator[SubprocessServer]:
    data_dir, root_key = store
    admin("list-access-keys", data_dir=data_dir, root_key=root_key)  # initializes the store
    server = SubprocessServer(data_dir, root_key, workers=WORKERS)
    try:
        yield server
    finally:
        server.stop()


def fresh(endpoint: str, credentials: Credentials, region: str = "us-east-1") -> Any:
    return kms_client(endpoint, credentials, region)


def codes(endpoint: str, credentials: Credentials, call: str, **kwargs: Any) -> set[str]:
    seen = set()
    for _ in range(TRIALS):
        try:
            getattr(fresh(endpoint, credentials), call)(**kwargs)
            seen.add("ok")
        except ClientError as error:
            seen.add(error.response["Error"]["Code"])
    return seen


def test_access_keys_from_the_admin_cli(
    cluster: SubprocessServer, store: tuple[Path, Path]
) -> None:
    data_dir, root_key = store
    created = admin(
        "create-access-key",
        "--account",
        "123456789012",
        "--user",
        "carol",
        "--admin",
        data_dir=data_dir,
        root_key=root_key,
    )
    assert set(created) == {"AccessKeyId", "SecretAccessKey", "Arn"}
    assert created["Arn"] == "arn:aws:iam::123456789012:user/carol"
    credentials = Credentials(created["AccessKeyId"], created["SecretAccessKey"], created["Arn"])
    assert codes(cluster.endpoint, credentials, "list_keys") == {"ok"}
    listed = admin("list-access-keys", data_dir=data_dir, root_key=root_key)["AccessKeys"]
    assert [k["AccessKeyId"] for k in listed] == [created["AccessKeyId"]]
    assert "SecretAccessKey" not in listed[0] and created["SecretAccessKey"] not in str(listed)

    admin(
        "update-access-key",
        "--access-key-id",
        created["AccessKeyId"],
        "--status",
        "Inactive",
        data_dir=data_dir,
        root_key=root_key,
    )
    assert codes(cluster.endpoint, credentials, "list_keys") == {"UnrecognizedClientException"}
    admin(
        "update-access-key",
        "--access-key-id",
        created["AccessKeyId"],
        "--status",
        "Active",
        data_dir=data_dir,
        root_key=root_key,
    )
    assert codes(cluster.endpoint, credentials, "list_keys") == {"ok"}
    admin(
        "delete-access-key",
        "--access-key-id",
        created["AccessKeyId"],
        data_dir=data_dir,
        root_key=root_key,
    )
    assert codes(cluster.endpoint, credentials, "list_keys") == {"UnrecognizedClientException"}


def test_changes_through_one_worker_are_in_force_on_every_other(
    cluster: SubprocessServer, store: tuple[Path, Path]
) -> None:
    data_dir, root_key = store
    created = admin(
        "create-access-key",
        "--account",
        "111122223333",
        "--user",
        "dave",
        "--admin",
        data_dir=data_dir,
        root_key=root_key,
    )
    credentials = Credentials(created["AccessKeyId"], created["SecretAccessKey"], created["Arn"])
    for trial in range(20):
        key = fresh(cluster.endpoint, credentials).create_key()["KeyMetadata"]["KeyId"]
        # the very next request, on a new connection (likely another worker), sees the new key
        blob = fresh(cluster.endpoint, credentials).encrypt(KeyId=key, Plaintext=b"x")[
            "CiphertextBlob"
        ]
        fresh(cluster.endpoint, credentials).disable_key(KeyId=key)
        with pytest.raises(ClientError) as caught:
            fresh(cluster.endpoint, credentials).decrypt(CiphertextBlob=blob)
        assert caught.value.response["Error"]["Code"] == "DisabledException", trial
        fresh(cluster.endpoint, credentials).create_alias(
            AliasName=f"alias/t{trial}", TargetKeyId=key
        )
        assert (
            fresh(cluster.endpoint, credentials).describe_key(KeyId=f"alias/t{trial}")[
                "KeyMetadata"
            ]["KeyId"]
            == key
        )


def test_identity_policies_from_the_admin_cli_take_effect_on_every_worker(
    cluster: SubprocessServer, store: tuple[Path, Path], tmp_path: Path
) -> None:
    data_dir, root_key = store
    created = admin(
        "create-access-key",
        "--account",
        "111122223333",
        "--user",
        "erin",
        data_dir=data_dir,
        root_key=root_key,
    )
    credentials = Credentials(created["AccessKeyId"], created["SecretAccessKey"], created["Arn"])
    assert admin(
        "list-user-policies",
        "--account",
        "111122223333",
        "--user",
        "erin",
        data_dir=data_dir,
        root_key=root_key,
    ) == {"PolicyNames": [], "Policies": {}}
    assert codes(cluster.endpoint, credentials, "list_keys") == {"AccessDeniedException"}
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:List*", "Resource": "*"}],
    }
    (tmp_path / "policy.json").write_text(json.dumps(document))
    admin(
        "put-user-policy",
        "--account",
        "111122223333",
        "--user",
        "erin",
        "--policy-name",
        "Lister",
        "--policy-document",
        str(tmp_path / "policy.json"),
        data_dir=data_dir,
        root_key=root_key,
    )
    assert codes(cluster.endpoint, credentials, "list_keys") == {"ok"}
    listed = admin(
        "list-user-policies",
        "--account",
        "111122223333",
        "--user",
        "erin",
        data_dir=data_dir,
        root_key=root_key,
    )
    assert listed == {"PolicyNames": ["Lister"], "Policies": {"Lister": document}}
    admin(
        "delete-user-policy",
        "--account",
        "111122223333",
        "--user",
        "erin",
        "--policy-name",
        "Lister",
        data_dir=data_dir,
        root_key=root_key,
    )
    assert codes(cluster.endpoint, credentials, "list_keys") == {"AccessDeniedException"}
    (tmp_path / "bad.json").write_text(
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*"}]}'
    )
    with pytest.raises(RuntimeError, match="identity policies have no Principal"):
        admin(
            "put-user-policy",
            "--account",
            "111122223333",
            "--user",
            "erin",
            "--policy-name",
            "Bad",
            "--policy-document",
            str(tmp_path / "bad.json"),
            data_dir=data_dir,
            root_key=root_key,
        )
