"""Grants across accounts: ListRetirableGrants lists for a principal of the caller's own
account only, and no grant operation shows or changes another account's grants unless that
account's key policy lets the caller."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.harness import DEV_ACCOUNT, OTHER_ACCOUNT, InProcessServer, error_of

A_APP = f"arn:aws:iam::{DEV_ACCOUNT}:user/app"
B_ADMIN = f"arn:aws:iam::{OTHER_ACCOUNT}:user/mallory"


def _denied_listing(retiring: str) -> tuple[str, str]:
    return (
        "AccessDeniedException",
        f"User: {B_ADMIN} is not authorized to perform: kms:ListRetirableGrants on resource: "
        f"{retiring} because the retiring principal must be in your account",
    )


@pytest.fixture
def b(server: InProcessServer) -> Any:
    """An administrator of account B (444455556666)."""
    return server.client(server.credentials(OTHER_ACCOUNT, "mallory"))


@pytest.fixture
def a_grant(kms: Any) -> dict[str, str]:
    """A grant on account A's key, retirable by A's user ``app``, with a context constraint."""
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    grant = kms.create_grant(
        KeyId=arn,
        GranteePrincipal=A_APP,
        RetiringPrincipal=A_APP,
        Operations=["Decrypt"],
        Constraints={"EncryptionContextEquals": {"tenant": "a"}},
    )
    return {"KeyArn": arn, **grant}


@pytest.mark.parametrize(
    "retiring",
    [A_APP, DEV_ACCOUNT, f"arn:aws:iam::{DEV_ACCOUNT}:root"],
    ids=["user-arn", "account-id", "account-root"],
)
def test_another_accounts_principal_cannot_be_listed(
    kms: Any, b: Any, a_grant: dict[str, str], retiring: str
) -> None:
    shown = retiring if retiring.startswith("arn:") else f"arn:aws:iam::{retiring}:root"
    assert error_of(b.list_retirable_grants, RetiringPrincipal=retiring) == _denied_listing(shown)
    # A itself still sees its grant
    listed = kms.list_retirable_grants(RetiringPrincipal=A_APP)["Grants"]
    assert [(g["GrantId"], g["KeyId"]) for g in listed] == [(a_grant["GrantId"], a_grant["KeyArn"])]


def test_an_own_principal_lists_grants_on_other_accounts_keys(
    server: InProcessServer, kms: Any, b: Any
) -> None:
    """As AWS: the retiring principal is ours, the keys may be anyone's."""
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    grant = kms.create_grant(
        KeyId=arn, GranteePrincipal=B_ADMIN, RetiringPrincipal=B_ADMIN, Operations=["Encrypt"]
    )
    listed = b.list_retirable_grants(RetiringPrincipal=B_ADMIN)["Grants"]
    assert [(g["GrantId"], g["KeyId"]) for g in listed] == [(grant["GrantId"], arn)]
    assert [g["GrantId"] for g in b.list_retirable_grants()["Grants"]] == [grant["GrantId"]]
    assert error_of(kms.list_retirable_grants, RetiringPrincipal=B_ADMIN)[0] == (
        "AccessDeniedException"
    )
    b.retire_grant(KeyId=arn, GrantId=grant["GrantId"])  # the retiring principal may, from B
    assert kms.list_grants(KeyId=arn)["Grants"] == []


def test_the_other_grant_operations_do_not_cross_accounts(
    kms: Any, b: Any, a_grant: dict[str, str]
) -> None:
    """ListGrants (with or without a GranteePrincipal filter), RevokeGrant and RetireGrant
    (by id or by token) on account A's key, from account B, which A's key policy does not name."""
    arn, grant_id = a_grant["KeyArn"], a_grant["GrantId"]
    for call, params in [
        (b.list_grants, {"KeyId": arn}),
        (b.list_grants, {"KeyId": arn, "GranteePrincipal": A_APP}),
        (b.list_grants, {"KeyId": arn, "GrantId": grant_id}),
        (b.revoke_grant, {"KeyId": arn, "GrantId": grant_id}),
        (b.retire_grant, {"KeyId": arn, "GrantId": grant_id}),
        (b.retire_grant, {"GrantToken": a_grant["GrantToken"]}),
    ]:
        code, message = error_of(call, **params)
        assert code == "AccessDeniedException"
        assert message.startswith(f"User: {B_ADMIN} is not authorized to perform: kms:")
        assert grant_id not in message and A_APP not in message  # nothing of A's grant shown
    assert [g["GrantId"] for g in kms.list_grants(KeyId=arn)["Grants"]] == [grant_id]
    # by key id alone, B names a key of its own account: there is none
    key_id = arn.rsplit("/", 1)[1]
    assert error_of(b.list_grants, KeyId=key_id) == (
        "NotFoundException",
        f"Key 'arn:aws:kms:us-east-1:{OTHER_ACCOUNT}:key/{key_id}' does not exist",
    )
