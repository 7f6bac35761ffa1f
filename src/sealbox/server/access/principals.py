"""Principals: access keys of users in accounts, with IAM-style identities.

A secret access key is shown once, when created, and stored only wrapped under
the root key with its access key id, account and user as associated data, so
an edit of the store cannot move a secret to another user.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from dataclasses import dataclass, field

from sealbox.errors import UsageError
from sealbox.server.arn import is_account_id, user_arn
from sealbox.server.rootkey.core import RootKey
from sealbox.server.store.records import AccessKeyRecord, secret_aad
from sealbox.server.store.repository import Store

USER_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
ADMIN_POLICY_NAME = "SealboxAdministrator"
# Everything in the account: the KMS API, and Sealbox's own actions (sealbox:LookupEvents).
ADMIN_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["kms:*", "sealbox:*"], "Resource": "*"}],
    },
    indent=2,
)
POLICY_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
# AWS's access key id format (ours are AKIA + 16 base32): what an import may use, and what
# the service looks up at all (anything else is refused before any store read).
ACCESS_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
# A secret access key: AWS's are 40 characters of Base64; any visible ASCII up to 128 signs.
SECRET_ACCESS_KEY = re.compile(r"[\x21-\x7e]{1,128}")


@dataclass(frozen=True, slots=True)
class Principal:
    access_key_id: str
    account: str
    user_name: str
    admin: bool
    secret: str = field(repr=False)

    @property
    def arn(self) -> str:
        return user_arn(self.account, self.user_name)


@dataclass(frozen=True, slots=True)
class NewAccessKey:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    arn: str


def check_identity(account: str, user_name: str) -> None:
    if not is_account_id(account):
        raise UsageError(f"account must be 12 digits, got {account!r}")
    if not USER_NAME.match(user_name):
        raise UsageError(f"user name {user_name!r} must be 1-64 of letters, digits and +=,.@_-")


def check_imported(access_key_id: str, secret: str) -> None:
    """Refuse an imported credential the service could never accept."""
    if not ACCESS_KEY_ID.fullmatch(access_key_id):
        raise UsageError(
            f"access key id {access_key_id!r} must be 16-128 upper-case letters and digits, "
            "as AWS access key ids are (e.g. AKIAIOSFODNN7EXAMPLE)"
        )
    if not secret:
        raise UsageError("the secret access key file is empty; put the secret in it")
    if not SECRET_ACCESS_KEY.fullmatch(secret):
        raise UsageError(
            "the secret access key must be 1-128 visible ASCII characters (no spaces or "
            "line breaks; AWS's are 40 characters of Base64)"
        )


def create_access_key(
    store: Store,
    root_key: RootKey,
    *,
    account: str,
    user_name: str,
    admin: bool,
    now: float,
    imported: tuple[str, str] | None = None,
) -> NewAccessKey:
    """A new access key; ``imported``: a known (access key id, secret) to store instead of
    new random ones (fixtures, users moved from another system)."""
    check_identity(account, user_name)
    if imported is not None:
        access_key_id, secret = imported
        check_imported(access_key_id, secret)
        if store.identities.get_access_key(access_key_id) is not None:
            raise UsageError(
                f"access key {access_key_id} already exists; delete it first "
                f"(sealbox admin delete-access-key --access-key-id {access_key_id}) or import "
                "another id"
            )
    else:
        access_key_id = "AKIA" + "".join(secrets.choice(_BASE32) for _ in range(16))
        secret = base64.b64encode(os.urandom(30)).decode()
    with store.write() as connection:
        store.identities.insert_access_key(
            AccessKeyRecord(
                access_key_id=access_key_id,
                account=account,
                user_name=user_name,
                status="Active",
                admin=admin,
                created_at=now,
                wrapped_secret=root_key.wrap(
                    secret.encode(), aad=secret_aad(access_key_id, account, user_name)
                ),
            ),
            connection,
        )
        # An administrator's rights are an identity policy, which can be inspected and changed.
        if admin:
            store.identities.put_user_policy(
                account, user_name, ADMIN_POLICY_NAME, ADMIN_POLICY, now, connection
            )
    return NewAccessKey(access_key_id, secret, user_arn(account, user_name))


def put_user_policy(
    store: Store, *, account: str, user_name: str, name: str, document: str, now: float
) -> None:
    """Attach (or replace) an identity policy; it is parsed first, so a bad one is refused."""
    from sealbox.server.access.policy_language import Policy, check_user_policies
    from sealbox.server.errors import LimitExceededException, MalformedPolicyDocumentException

    check_identity(account, user_name)
    if not POLICY_NAME.match(name):
        raise UsageError(f"policy name {name!r} must be 1-128 of letters, digits and +=,.@_-")
    try:
        Policy.parse(document, key_policy=False)
        # IAM's quota on one user's inline policies together (the one replaced not counted)
        policies = store.identities.user_policies(account, user_name)
        others = [text for n, text in policies if n != name]
        check_user_policies([*others, document])
    except (MalformedPolicyDocumentException, LimitExceededException) as error:
        raise UsageError(error.message) from None
    with store.write() as connection:
        store.identities.put_user_policy(account, user_name, name, document, now, connection)


def unwrap_principal(record: AccessKeyRecord, root_key: RootKey) -> Principal:
    secret = root_key.unwrap(
        record.wrapped_secret,
        aad=secret_aad(record.access_key_id, record.account, record.user_name),
    )
    return Principal(
        record.access_key_id, record.account, record.user_name, record.admin, secret.decode()
    )
